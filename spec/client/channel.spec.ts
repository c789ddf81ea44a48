/**
 * The rules of who makes a label's channel on a pair, and what is open when
 * (flow spec: two ChannelHubs joined by fake peer connections whose data
 * channels deliver to each other).
 */
import { firstValueFrom, filter, queueScheduler } from 'rxjs';
import { ChannelHub, type Channel } from '../../src/client/channel';
import { FRAMED_PROTOCOL } from '../../src/client/channelFrames';
import { CONTROL_CHANNEL_LABEL } from '../../src/streams/control';
import { silentLogger } from '../../src/logger';
import type { RxpeerError } from '../../src/errors';

type Listener = (event: unknown) => void;

class Target {
  private readonly listeners = new Map<string, Set<Listener>>();
  addEventListener(type: string, listener: Listener): void {
    const set = this.listeners.get(type) ?? new Set();
    set.add(listener);
    this.listeners.set(type, set);
  }
  removeEventListener(type: string, listener: Listener): void {
    this.listeners.get(type)?.delete(listener);
  }
  fire(type: string, event: unknown = {}): void {
    for (const l of [...(this.listeners.get(type) ?? [])]) l(event);
  }
}

/** One end of a fake data channel; `peer` is the other end. */
class End extends Target {
  readyState: RTCDataChannelState = 'connecting';
  binaryType = 'blob';
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  peer!: End;
  readonly sent: unknown[] = [];
  constructor(
    readonly label: string,
    readonly protocol: string,
    readonly ordered: boolean,
    readonly maxRetransmits: number | null,
  ) {
    super();
  }
  readonly maxPacketLifeTime = null;
  send(data: string | ArrayBufferView): void {
    if (this.readyState !== 'open') throw new Error('not open');
    this.sent.push(data);
    const copy =
      typeof data === 'string'
        ? data
        : new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice().buffer;
    queueMicrotask(
      () => this.peer.readyState === 'open' && this.peer.fire('message', { data: copy }),
    );
  }
  close(): void {
    for (const end of [this, this.peer]) {
      if (end.readyState === 'closed') continue;
      end.readyState = 'closed';
      queueMicrotask(() => end.fire('close'));
    }
  }
}

/** A fake peer connection: channels made here appear at the other end (after `link`). */
class FakePc extends Target {
  other!: FakePc;
  connectionState: RTCPeerConnectionState = 'new';
  readonly made: End[] = [];
  remoteDescription: { sdp: string } | null = { sdp: 'a=max-message-size:1000\r\n' };
  createDataChannel(label: string, init: RTCDataChannelInit = {}): End {
    const mine = new End(
      label,
      init.protocol ?? '',
      init.ordered ?? true,
      init.maxRetransmits ?? null,
    );
    const theirs = new End(
      label,
      init.protocol ?? '',
      init.ordered ?? true,
      init.maxRetransmits ?? null,
    );
    mine.peer = theirs;
    theirs.peer = mine;
    this.made.push(mine);
    queueMicrotask(() => {
      if (mine.readyState === 'closed') return;
      mine.readyState = 'open';
      theirs.readyState = 'open';
      this.other.fire('datachannel', { channel: theirs });
      mine.fire('open');
    });
    return mine;
  }
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i += 1) await Promise.resolve();
};

function pair(rxpeer = true): {
  offerer: ChannelHub;
  answerer: ChannelHub;
  a: FakePc;
  b: FakePc;
  errors: RxpeerError[];
} {
  const errors: RxpeerError[] = [];
  const ctx = {
    scheduler: queueScheduler,
    logger: silentLogger,
    report: (e: RxpeerError) => errors.push(e),
    isRxpeer: () => rxpeer,
  };
  const a = new FakePc();
  const b = new FakePc();
  a.other = b;
  b.other = a;
  return { offerer: new ChannelHub(ctx), answerer: new ChannelHub(ctx), a, b, errors };
}

const openWith = (channel: Channel, id: string): Promise<unknown> =>
  firstValueFrom(channel.open$.pipe(filter((s) => s.has(id))));

describe('which side makes a label’s channel, and when it is open', () => {
  it('labels declared before the pair: the offering side makes them (framed), the answering side makes none', async () => {
    const { offerer, answerer, a, b } = pair();
    const x = offerer.channel('x');
    const y = answerer.channel('x');
    offerer.added('B', a as unknown as RTCPeerConnection, true);
    answerer.added('A', b as unknown as RTCPeerConnection, false);
    await settle();
    // The offerer's control channel comes after its app channels: the answerer may make its own now.
    b.fire('datachannel', { channel: new End(CONTROL_CHANNEL_LABEL, '', true, null) });
    await Promise.all([openWith(x, 'B'), openWith(y, 'A')]);
    expect(a.made.map((c) => [c.label, c.protocol])).toEqual([['x', FRAMED_PROTOCOL]]);
    expect(b.made).toEqual([]);
    const got = firstValueFrom(y.messages$);
    await x.send('B', 'hi');
    expect(await got).toEqual({ from: 'A', data: 'hi' });
  });

  it('a label only the answering side declares, after the pair formed: it makes it; the offerer adopts it when it declares', async () => {
    const { offerer, answerer, a, b } = pair();
    offerer.added('B', a as unknown as RTCPeerConnection, true);
    answerer.added('A', b as unknown as RTCPeerConnection, false);
    b.fire('datachannel', { channel: new End(CONTROL_CHANNEL_LABEL, '', true, null) });
    const late = answerer.channel('late');
    await settle();
    expect(b.made.map((c) => c.label)).toEqual(['late']);
    expect(late.openPeers.size).toBe(0); // not until the offerer declared it (READY)
    const mine = offerer.channel('late');
    await Promise.all([openWith(late, 'A'), openWith(mine, 'B')]);
    expect(a.made).toEqual([]); // adopted, not made twice
    const got = firstValueFrom(late.messages$);
    await mine.send('B', new Uint8Array([1, 2]));
    expect(new Uint8Array((await got).data as ArrayBuffer)).toEqual(new Uint8Array([1, 2]));
  });

  it('glare: both sides make the label at once; the offering side’s channel wins and the other is closed unused', async () => {
    const { offerer, answerer, a, b } = pair();
    offerer.added('B', a as unknown as RTCPeerConnection, true);
    answerer.added('A', b as unknown as RTCPeerConnection, false);
    b.fire('datachannel', { channel: new End(CONTROL_CHANNEL_LABEL, '', true, null) });
    const x = offerer.channel('g');
    const y = answerer.channel('g');
    await Promise.all([openWith(x, 'B'), openWith(y, 'A')]);
    await settle();
    expect(a.made).toHaveLength(1);
    expect(b.made).toHaveLength(1);
    expect(b.made[0]!.readyState).toBe('closed');
    // Only READY ever went on the losing channel.
    expect(b.made[0]!.sent.every((f) => f === 'R')).toBe(true);
    const got = firstValueFrom(x.messages$);
    await y.send('A', 'after glare');
    expect((await got).data).toBe('after glare');
  });

  it('a peer that is not rxpeer: only the offering side makes channels, raw, open when open; too large is refused', async () => {
    const { offerer, answerer, a, b, errors } = pair(false);
    const x = offerer.channel('chat');
    const y = answerer.channel('chat');
    answerer.added('A', b as unknown as RTCPeerConnection, false);
    offerer.added('B', a as unknown as RTCPeerConnection, true);
    await Promise.all([openWith(x, 'B'), openWith(y, 'A')]);
    expect(a.made.map((c) => c.protocol)).toEqual(['']);
    expect(b.made).toEqual([]);
    await x.send('B', 'plain');
    expect(a.made[0]!.sent).toEqual(['plain']); // no frame header
    await expect(x.send('B', new Uint8Array(1001))).rejects.toMatchObject({
      code: 'MESSAGE_TOO_LARGE',
      limit: 1000,
    });
    await expect(x.send('B', 'é'.repeat(501))).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' }); // 1002 bytes of UTF-8
    expect(errors).toEqual([]);
  });

  it('an Extreal app’s channel, made on its offering side, is picked up by label and never made twice', async () => {
    const { answerer, b, a } = pair(false);
    const chat = answerer.channel('chat');
    answerer.added('X', b as unknown as RTCPeerConnection, false);
    a.createDataChannel('chat'); // the Extreal app's create hook
    await openWith(chat, 'X');
    expect(b.made).toEqual([]);
  });

  it('a message over the pair’s max-message-size is split between rxpeer peers, even a string', async () => {
    const { offerer, answerer, a, b } = pair();
    const x = offerer.channel('x');
    const y = answerer.channel('x');
    offerer.added('B', a as unknown as RTCPeerConnection, true);
    answerer.added('A', b as unknown as RTCPeerConnection, false);
    await Promise.all([openWith(x, 'B'), openWith(y, 'A')]);
    const text = 'ü'.repeat(3000);
    const got = firstValueFrom(y.messages$);
    await x.send('B', text);
    expect((await got).data).toBe(text);
    expect(a.made[0]!.sent.length).toBeGreaterThan(6);
    expect(
      a.made[0]!.sent.every(
        (f) => (typeof f === 'string' ? f.length : (f as Uint8Array).byteLength) <= 1000,
      ),
    ).toBe(true);
  });

  it('sends to a peer that is not connected reject at once; a peer that leaves rejects what waits, and leaves open$', async () => {
    const { offerer, answerer, a, b } = pair();
    const x = offerer.channel('x');
    answerer.channel('x');
    await expect(x.send('nobody', 'x')).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    offerer.added('B', a as unknown as RTCPeerConnection, true);
    answerer.added('A', b as unknown as RTCPeerConnection, false);
    await openWith(x, 'B');
    a.made[0]!.bufferedAmount = 10 * 1024 * 1024; // full: the next send waits
    const waiting = x.send('B', 'stuck');
    offerer.removed('B');
    await expect(waiting).rejects.toMatchObject({ code: 'PEER_GONE' });
    expect(x.openPeers.has('B')).toBe(false);
    await expect(x.send('B', 'x')).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
  });

  it('declaring a label twice gives the same channel; other options or a reserved label are refused', () => {
    const { offerer } = pair();
    const x = offerer.channel('x', { ordered: true });
    expect(offerer.channel('x')).toBe(x);
    expect(() => offerer.channel('x', { ordered: false })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => offerer.channel(CONTROL_CHANNEL_LABEL)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => offerer.channel('')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => offerer.channel('y', { maxRetransmits: 1, maxPacketLifeTime: 5 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('dispose completes every channel’s streams and rejects what waits with CHANNEL_CLOSED or PEER_GONE', async () => {
    const { offerer, answerer, a, b } = pair();
    const x = offerer.channel('x');
    answerer.channel('x');
    offerer.added('B', a as unknown as RTCPeerConnection, true);
    answerer.added('A', b as unknown as RTCPeerConnection, false);
    await openWith(x, 'B');
    a.made[0]!.bufferedAmount = 10 * 1024 * 1024;
    const waiting = x.send('B', 'stuck');
    let completed = 0;
    x.messages$.subscribe({ complete: () => (completed += 1) });
    x.open$.subscribe({ complete: () => (completed += 1) });
    offerer.dispose();
    await expect(waiting).rejects.toMatchObject({
      code: expect.stringMatching(/^(PEER_GONE|CHANNEL_CLOSED)$/),
    });
    expect(completed).toBe(2);
    answerer.dispose();
  });
});
