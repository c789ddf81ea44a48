/**
 * The lifecycle as an RxJS user expects it (fake socket, fake peer
 * connections): `state$` replays, an unsubscribed start is undone, the start
 * Promises settle with the start, errors carry the error, streams complete.
 */
import { PeerClient } from '../../src/client/PeerClient';
import type { ClientStatus } from '../../src/client/types';
import { HostLeftError, InvalidConfigError, RxpeerError } from '../../src/errors';
import { collect, harness, next, settle, type Harness } from '../helpers/clientHarness';

describe('PeerClient lifecycle', () => {
  let h: Harness;
  beforeEach(() => {
    h = harness();
  });
  afterEach(async () => {
    await h.disposeAll();
  });

  it('state$ replays: a subscriber that comes after `await startHost()` sees started, with role and id', async () => {
    const host = h.make();
    await host.startHost('room');
    const state = await next(host.state$);
    expect(state).toEqual({ status: 'started', role: 'host', id: h.hub.hosts.get('room') });
  });

  it('state$ goes idle → starting → started → stopping → idle for a client', async () => {
    const host = h.make();
    await host.startHost('room');
    const hostId = h.hub.hosts.get('room')!;
    const client = h.make();
    const states = collect(client.state$);
    await client.startClient(hostId);
    expect(client.isRunning).toBe(true);
    const stopping = client.stop();
    expect(states.values.at(-1)).toEqual({ status: 'stopping', role: 'client' });
    await stopping;
    const id = (states.values.find((s) => s.status === 'started') as ClientStatus).id;
    expect(states.values).toEqual([
      { status: 'idle' },
      { status: 'starting', role: 'client' },
      { status: 'started', role: 'client', id },
      { status: 'stopping', role: 'client' },
      { status: 'idle' },
    ]);
    expect(id).toEqual(expect.any(String));
  });

  it('startClient() resolves only once the client has started (after started$)', async () => {
    const host = h.make();
    await host.startHost('room');
    const client = h.make();
    const started = collect(client.started$);
    await client.startClient(h.hub.hosts.get('room')!);
    expect(started.values).toHaveLength(1);
    expect((await next(client.state$)).status).toBe('started');
  });

  it('unsubscribing from startHost$ before it completes cancels the start: idle, socket closed, a new start works at once', async () => {
    h.hub.ack = false; // the server never answers `create host`
    const host = h.make();
    const subscription = host.startHost$('slow').subscribe();
    await settle(5);
    expect((await next(host.state$)).status).toBe('starting');
    expect(h.hub.sockets.size).toBe(1);
    subscription.unsubscribe();
    await settle(0);
    expect(await next(host.state$)).toEqual({ status: 'idle' });
    expect(host.isRunning).toBe(false);
    expect(h.hub.sockets.size).toBe(0);
    h.hub.ack = true;
    await host.startHost('fast');
    expect((await next(host.state$)).status).toBe('started');
  });

  it('unsubscribing from startClient$ before it has started cancels the join', async () => {
    const host = h.make();
    await host.startHost('room');
    h.net.options = { gathering: 'never' };
    const client = h.make({ trickle: false, vanillaIceTimeout: 60_000 });
    const failed = collect(client.startFailed$);
    const subscription = client.startClient$(h.hub.hosts.get('room')!).subscribe();
    await next(host.userConnecting$);
    subscription.unsubscribe();
    await next(client.state$, (s) => s.status === 'idle');
    expect(failed.values).toEqual([]);
    expect(h.hub.sockets.size).toBe(1); // only the host's socket is left
    // The same client starts again at once.
    h.net.options = { gathering: 'instant' };
    await client.startClient(h.hub.hosts.get('room')!);
    expect((await next(client.state$)).status).toBe('started');
  });

  it('unsubscribing after the start completed does not stop the client', async () => {
    const host = h.make();
    const subscription = host.startHost$('room').subscribe();
    await next(host.state$, (s) => s.status === 'started');
    subscription.unsubscribe();
    await settle(0);
    expect(host.isRunning).toBe(true);
  });

  it('startFailed$ carries the error, and startClient() rejects with it', async () => {
    const host = h.make();
    await host.startHost('room');
    const hostId = h.hub.hosts.get('room')!;
    h.net.options = { gathering: 'never' };
    const client = h.make({ trickle: false, p2pTimeout: 60_000 });
    const failure = next(client.startFailed$);
    const start = client.startClient(hostId);
    start.catch(() => undefined);
    await next(host.userConnecting$);
    h.hub.drop(hostId);
    const error = await failure;
    expect(error).toBeInstanceOf(HostLeftError);
    expect(error.code).toBe('HOST_LEFT');
    await expect(start).rejects.toBe(error);
    expect(await next(client.state$, (s) => s.status === 'idle')).toEqual({ status: 'idle' });
  });

  it('config checks throw InvalidConfigError, an RxpeerError with a code', () => {
    for (const config of [
      { p2pTimeout: -1 },
      { heartbeatInterval: 0 },
      { vanillaIceTimeout: Number.NaN },
      { requestTimeout: '5' as unknown as number },
    ]) {
      let thrown: unknown;
      try {
        new PeerClient({ url: 'http://x', ...config });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(InvalidConfigError);
      expect(thrown).toBeInstanceOf(RxpeerError);
      expect((thrown as RxpeerError).code).toBe('INVALID_CONFIG');
    }
  });

  it('every stream the client owns completes on dispose(); stop() completes none of them', async () => {
    const host = h.make();
    const chat = host.channel('chat');
    const streams = {
      state$: host.state$,
      started$: host.started$,
      startFailed$: host.startFailed$,
      peers$: host.peers$,
      errors$: host.errors$,
      userConnecting$: host.userConnecting$,
      'channel.messages$': chat.messages$,
      'channel.open$': chat.open$,
    };
    const completed = new Set<string>();
    for (const [name, stream] of Object.entries(streams)) {
      (stream as import('rxjs').Observable<unknown>).subscribe({
        complete: () => completed.add(name),
      });
    }
    await host.startHost('room');
    await host.stop();
    expect([...completed]).toEqual([]);
    await host.dispose();
    expect([...completed].sort()).toEqual(Object.keys(streams).sort());
  });
});
