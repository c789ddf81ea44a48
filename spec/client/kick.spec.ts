/**
 * CHECKLIST 44: after "io server disconnect" the client reconnects (socket.io
 * does not by itself), or stops with a typed error when reconnection is off.
 */
import { SignalingDisconnectedError } from '../../src/errors';
import { collect, harness, next, type Harness } from '../helpers/clientHarness';

describe('the server disconnects a client (fakes)', () => {
  let h: Harness;
  beforeEach(() => {
    h = harness();
  });
  afterEach(async () => {
    await h.disposeAll();
  });

  it('reconnects after a kick and tells the app: disconnected$, then reconnected$', async () => {
    const host = h.make({ socketOptions: { reconnectionDelay: 10, reconnectionDelayMax: 20 } });
    const started = next(host.started$);
    await host.startHost('room');
    const id = await started;
    const events = collect(host.disconnected$);
    const back = next(host.reconnected$);
    h.hub.kick(id);
    await back;
    expect(events.values).toEqual(['io server disconnect']);
    expect(host.isRunning).toBe(true);
    expect(h.hub.hosts.get('room')).toBe(id); // claimed again
  });

  it('does not reconnect after its own stop', async () => {
    const host = h.make({ socketOptions: { reconnectionDelay: 1, reconnectionDelayMax: 1 } });
    await host.startHost('room');
    const socket = [...h.hub.sockets.values()][0]!;
    await host.stop();
    await new Promise((r) => setTimeout(r, 20));
    expect(socket.connectCalls).toBe(1);
  });

  it('stops with SignalingDisconnectedError when reconnection is off', async () => {
    const client = h.make({ socketOptions: { reconnection: false } });
    const started = next(client.started$);
    await client.startHost('room');
    const id = await started;
    const failed = next(client.startFailed$);
    const error = next(client.errors$);
    h.hub.kick(id);
    await failed;
    expect(await error).toBeInstanceOf(SignalingDisconnectedError);
    expect(client.isRunning).toBe(false);
  });
});
