/**
 * Data channels as streams: `client.channel(label)` gives one object for a
 * label on every pair of the mesh, present and future.
 *
 * Who makes the `RTCDataChannel` of a label for a pair (see docs/data.md):
 * - The offering side of the pair makes it, for every label it has declared:
 *   when the peer connection is made (before the app's create hooks), or at
 *   once for a label declared later. Extreal apps do the same in their create
 *   hook, so a channel an Extreal peer made is picked up by its label and
 *   never made twice.
 * - Between two rxpeer peers, the answering side also makes a label that the
 *   offering side has not, once the offerer's channels have arrived (rxpeer's
 *   control channel is made after them) or the pair is connected. If both
 *   sides made one (glare), the offering side's channel wins: the answering
 *   side closes its own, and nobody sent data on it (see READY below).
 * - The answering side never makes a channel for a peer that is not rxpeer.
 *
 * Channels that rxpeer makes for an rxpeer peer carry the sub-protocol
 * {@link FRAMED_PROTOCOL}: messages there are framed (channelFrames.ts), so
 * that large ones are split, and each side sends READY once it has declared
 * the label; the peer is in `open$` once READY came back. Every other channel
 * (Extreal's, or with a peer that did not announce rxpeer's capabilities)
 * carries the app's messages as they are, and is open when it opens.
 */
import {
  BehaviorSubject,
  Observable,
  Subject,
  Subscription,
  delay,
  distinctUntilChanged,
  filter,
  firstValueFrom,
  map,
  merge,
  take,
  type SchedulerLike,
} from 'rxjs';
import {
  ChannelClosedError,
  InvalidArgumentError,
  MessageTooLargeError,
  NotConnectedError,
  PeerGoneError,
  RxpeerError,
  describe,
} from '../errors.js';
import type { Logger } from '../logger.js';
import { CONTROL_CHANNEL_LABEL } from '../streams/control.js';
import { connectionState$, event$ } from '../streams/peer.js';
import {
  FRAMED_PROTOCOL,
  MAX_FRAME_SIZE,
  READY,
  Reassembler,
  byteSize,
  bytesOf,
  fitsIn,
  frames,
  maxMessageSizeOf,
  type OutgoingData,
} from './channelFrames.js';
import {
  DEFAULT_HIGH_WATER_MARK,
  DEFAULT_LOW_WATER_MARK,
  DEFAULT_POLL_INTERVAL,
  sendFrames$,
  type FlowControl,
} from './channelFlow.js';

export type BinaryType = 'arraybuffer' | 'blob';

/** Options of `client.channel(label, options)`. */
export interface ChannelOptions<B extends BinaryType = 'arraybuffer'> {
  /** Messages arrive in the order sent. Default true. */
  ordered?: boolean;
  /** Unreliable channel: at most this many retransmissions of a message (not with `maxPacketLifeTime`). */
  maxRetransmits?: number;
  /** Unreliable channel: retransmit a message for at most this long (ms; not with `maxRetransmits`). */
  maxPacketLifeTime?: number;
  /** How binary messages arrive: `ArrayBuffer` (default) or `Blob`. */
  binaryType?: B;
  /** `send` waits while more than this many bytes are queued in the channel. Default 1 MiB. */
  highWaterMark?: number;
  /** … and goes on once at most this many are. Default 256 KiB. */
  lowWaterMark?: number;
  /** The largest message this side sends or accepts on the channel (bytes). Default 256 MiB. */
  maxMessageBytes?: number;
}

/** What `messages$` emits. */
export interface ChannelMessage<B extends BinaryType = 'arraybuffer'> {
  /** The sender's peer id. */
  readonly from: string;
  /** A string, or the binary message as an `ArrayBuffer` (a `Blob` with `binaryType: 'blob'`). */
  readonly data: string | (B extends 'blob' ? Blob : ArrayBuffer);
}

/** One label's channel on every pair of the mesh. */
export interface Channel<B extends BinaryType = 'arraybuffer'> {
  readonly label: string;
  /** Every message from every peer on this label. Does not replay; completes on `client.dispose()`. */
  readonly messages$: Observable<ChannelMessage<B>>;
  /** The ids of the peers with which this label is open; the current set on subscription. Completes on `dispose()`. */
  readonly open$: Observable<ReadonlySet<string>>;
  /** The peers with which this label is open now. */
  readonly openPeers: ReadonlySet<string>;
  /**
   * Sends to one peer. Resolves once the whole message is handed to the
   * channel (after waiting for backpressure); rejects with
   * {@link NotConnectedError} at once when the label is not open with `to`,
   * {@link MessageTooLargeError} when the pair cannot carry it,
   * {@link PeerGoneError} / {@link ChannelClosedError} when the peer or
   * channel goes before it was handed over.
   */
  send(to: string, data: OutgoingData): Promise<void>;
  /**
   * Sends to every peer with which the label is open now. Resolves with their
   * ids once it is handed to every channel; peers that leave meanwhile are
   * left out, not an error. Rejects (after trying every peer) with the first
   * other error, such as {@link MessageTooLargeError} for an Extreal peer.
   */
  broadcast(data: OutgoingData): Promise<string[]>;
}

/** @internal What the hub needs from the client. */
export interface ChannelHubContext {
  readonly scheduler: SchedulerLike;
  readonly logger: Logger;
  /** Errors that belong on `errors$` (a bad frame, a channel that could not be made). */
  readonly report: (error: RxpeerError) => void;
  /** The pair's ICE mode: `trickle` means the peer announced rxpeer's capabilities. */
  readonly isRxpeer: (peerId: string) => boolean;
}

const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024 * 1024;
/** Answering side of an rxpeer pair: how long after `connected` it makes its own channels if rxpeer's control channel never came. */
const ANSWERER_CREATE_DELAY = 500;

interface ResolvedOptions {
  readonly ordered: boolean;
  readonly maxRetransmits: number | undefined;
  readonly maxPacketLifeTime: number | undefined;
  readonly binaryType: BinaryType;
  readonly flow: FlowControl;
  readonly maxMessageBytes: number;
}

function checkCount(value: unknown, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new InvalidArgumentError(
      `options.${name}`,
      `must be an integer ≥ ${min}, got ${typeof value === 'number' ? value : typeof value}`,
    );
  }
  return value;
}

function resolveOptions(options: ChannelOptions<BinaryType> | undefined): ResolvedOptions {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new InvalidArgumentError('options', 'channel options must be an object');
  }
  const o = options ?? {};
  if (o.ordered !== undefined && typeof o.ordered !== 'boolean')
    throw new InvalidArgumentError('options.ordered', 'must be a boolean');
  const maxRetransmits = checkCount(o.maxRetransmits, 'maxRetransmits', 0);
  const maxPacketLifeTime = checkCount(o.maxPacketLifeTime, 'maxPacketLifeTime', 0);
  if (maxRetransmits !== undefined && maxPacketLifeTime !== undefined) {
    throw new InvalidArgumentError('options', 'give maxRetransmits or maxPacketLifeTime, not both');
  }
  const binaryType = o.binaryType ?? 'arraybuffer';
  if (binaryType !== 'arraybuffer' && binaryType !== 'blob') {
    throw new InvalidArgumentError(
      'options.binaryType',
      `must be "arraybuffer" or "blob", got ${String(binaryType)}`,
    );
  }
  const highWaterMark = checkCount(o.highWaterMark, 'highWaterMark', 1) ?? DEFAULT_HIGH_WATER_MARK;
  const lowWaterMark =
    checkCount(o.lowWaterMark, 'lowWaterMark', 0) ??
    Math.min(DEFAULT_LOW_WATER_MARK, highWaterMark);
  if (lowWaterMark > highWaterMark)
    throw new InvalidArgumentError('options.lowWaterMark', 'must not be above highWaterMark');
  const maxMessageBytes =
    checkCount(o.maxMessageBytes, 'maxMessageBytes', 1) ?? DEFAULT_MAX_MESSAGE_BYTES;
  return {
    ordered: o.ordered ?? true,
    maxRetransmits,
    maxPacketLifeTime,
    binaryType,
    flow: { highWaterMark, lowWaterMark, pollInterval: DEFAULT_POLL_INTERVAL },
    maxMessageBytes,
  };
}

function sameOptions(a: ResolvedOptions, b: ResolvedOptions): boolean {
  return (
    a.ordered === b.ordered &&
    a.maxRetransmits === b.maxRetransmits &&
    a.maxPacketLifeTime === b.maxPacketLifeTime &&
    a.binaryType === b.binaryType &&
    a.flow.highWaterMark === b.flow.highWaterMark &&
    a.flow.lowWaterMark === b.flow.lowWaterMark &&
    a.maxMessageBytes === b.maxMessageBytes
  );
}

/** Is this data OK to send? */
function isOutgoing(data: unknown): data is OutgoingData {
  return typeof data === 'string' || data instanceof ArrayBuffer || ArrayBuffer.isView(data);
}

// ---------------------------------------------------------------------------

/** One `RTCDataChannel` of a pair, and what this side knows of it. */
class Wire {
  readonly framed: boolean;
  /** Framed: the remote sent READY on this channel. */
  remoteReady = false;
  /** Set once a link uses this channel; frames before that only update `remoteReady`. */
  onFrame: ((data: unknown) => void) | undefined;
  readonly watch = new Subscription();

  constructor(
    readonly channel: RTCDataChannel,
    readonly own: boolean,
  ) {
    this.framed = channel.protocol === FRAMED_PROTOCOL;
    channel.binaryType = 'arraybuffer';
    if (this.framed) {
      // Listen from the start: a READY can come before this side declares the label.
      this.watch.add(
        event$(channel, 'message').subscribe((event) => {
          const data = (event as MessageEvent).data as unknown;
          if (this.onFrame !== undefined) this.onFrame(data);
          else if (data === READY) this.remoteReady = true;
        }),
      );
    }
  }

  /** Ordered and fully reliable: only there may a message be split. */
  get reliable(): boolean {
    const c = this.channel;
    // Unset is null by the standard; @roamhq/wrtc reports 65535.
    const unset = (value: number | null): boolean => value === null || value >= 65535;
    return c.ordered && unset(c.maxRetransmits) && unset(c.maxPacketLifeTime);
  }

  close(): void {
    this.watch.unsubscribe();
    this.channel.close();
  }
}

interface SendJob {
  readonly frames: Iterable<string | Uint8Array>;
  readonly resolve: () => void;
  readonly reject: (error: RxpeerError) => void;
}

/** A label on one pair: which wire carries it, whether it is open, and its send queue. */
class Link {
  wire: Wire | undefined;
  open = false;
  private readySent = false;
  private reassembler: Reassembler;
  private maxMessageSize: number | undefined;
  private readonly jobs: SendJob[] = [];
  private running: Subscription | undefined;
  private watch = new Subscription();

  constructor(
    readonly pair: Pair,
    readonly channel: ChannelImpl,
  ) {
    this.reassembler = new Reassembler(channel.options.maxMessageBytes);
  }

  get label(): string {
    return this.channel.label;
  }

  /** A channel for this label that the remote made. */
  offerRemote(wire: Wire): void {
    if (this.wire === undefined) {
      this.attach(wire);
    } else if (this.wire.own && !this.pair.isOffer) {
      // Glare: the offering side's channel wins. No data went on ours (the offerer never sent READY there).
      const mine = this.wire;
      this.detach(
        new ChannelClosedError(this.label, this.pair.id, "replaced by the offering side's channel"),
      );
      mine.close();
      this.attach(wire);
    } else {
      this.pair.log.debug('ignored a second channel for a label', {
        label: this.label,
        peer: this.pair.id,
        own: this.wire.own,
      });
    }
  }

  /** Makes this side's channel if the rule says so and there is none. */
  ensure(): void {
    if (this.wire !== undefined || !this.pair.mayCreate) return;
    const { options } = this.channel;
    let made: RTCDataChannel;
    try {
      made = this.pair.pc.createDataChannel(this.label, {
        ordered: options.ordered,
        ...(options.maxRetransmits !== undefined ? { maxRetransmits: options.maxRetransmits } : {}),
        ...(options.maxPacketLifeTime !== undefined
          ? { maxPacketLifeTime: options.maxPacketLifeTime }
          : {}),
        protocol: this.pair.rxpeer ? FRAMED_PROTOCOL : '',
      });
    } catch (error) {
      this.pair.report(
        new ChannelClosedError(
          this.label,
          this.pair.id,
          `could not make the channel: ${describe(error)}`,
        ),
      );
      return;
    }
    this.attach(new Wire(made, true));
  }

  private attach(wire: Wire): void {
    this.wire = wire;
    const { channel } = wire;
    wire.onFrame = (data) => this.receive(data);
    if (!wire.framed) {
      this.watch.add(
        event$(channel, 'message').subscribe((event) => this.receive((event as MessageEvent).data)),
      );
    }
    this.watch.add(
      event$(channel, 'close')
        .pipe(take(1))
        .subscribe(() => {
          if (this.wire !== wire) return;
          this.detach(new ChannelClosedError(this.label, this.pair.id, 'the data channel closed'));
          wire.watch.unsubscribe();
        }),
    );
    if (channel.readyState === 'open') this.opened();
    else
      this.watch.add(
        event$(channel, 'open')
          .pipe(take(1))
          .subscribe(() => this.opened()),
      );
  }

  private opened(): void {
    const wire = this.wire;
    if (wire === undefined) return;
    if (!wire.framed) {
      this.setOpen(true);
      return;
    }
    if (!this.readySent) {
      this.readySent = true;
      try {
        wire.channel.send(READY);
      } catch {
        // Closed meanwhile; its close event tells the rest.
      }
    }
    if (wire.remoteReady) this.setOpen(true);
  }

  private receive(data: unknown): void {
    const wire = this.wire;
    if (wire === undefined) return;
    if (!wire.framed) {
      this.channel.deliver(this.pair.id, data);
      return;
    }
    const result = this.reassembler.push(data);
    switch (result.kind) {
      case 'ready':
        wire.remoteReady = true;
        if (wire.channel.readyState === 'open' && this.readySent) this.setOpen(true);
        return;
      case 'message':
        this.channel.deliver(this.pair.id, result.data);
        return;
      case 'partial':
        return;
      case 'invalid':
        this.pair.report(result.error);
        return;
      default: {
        const unreachable: never = result;
        return unreachable;
      }
    }
  }

  private setOpen(open: boolean): void {
    if (this.open === open) return;
    this.open = open;
    this.channel.setOpen(this.pair.id, open);
  }

  /** The largest message this pair takes whole, from the remote SDP (read once). */
  private remoteMaxMessageSize(): number {
    this.maxMessageSize ??= maxMessageSizeOf(this.pair.pc.remoteDescription?.sdp);
    return this.maxMessageSize;
  }

  /** Queues a message; the Promise settles when it is handed to the channel or cannot be. */
  send(data: OutgoingData): Promise<void> {
    const wire = this.wire;
    if (wire === undefined || !this.open)
      return Promise.reject(new NotConnectedError(this.label, this.pair.id));
    const limit = this.remoteMaxMessageSize();
    let job: Iterable<string | Uint8Array>;
    const { maxMessageBytes } = this.channel.options;
    if (wire.framed) {
      const frameSize = Math.min(limit, MAX_FRAME_SIZE);
      // A string goes whole as `W` + its UTF-8; binary as it is.
      const whole = fitsIn(data, frameSize, typeof data === 'string' ? 1 : 0);
      if (!whole) {
        const size = byteSize(data);
        if (size > maxMessageBytes) {
          return Promise.reject(
            new MessageTooLargeError(
              this.label,
              this.pair.id,
              size,
              maxMessageBytes,
              "over the channel's maxMessageBytes",
            ),
          );
        }
        if (!wire.reliable || frameSize < 64) {
          return Promise.reject(
            new MessageTooLargeError(
              this.label,
              this.pair.id,
              size,
              frameSize,
              'an unordered or unreliable channel cannot split a message',
            ),
          );
        }
      }
      job = { [Symbol.iterator]: () => frames(data, frameSize) };
    } else {
      if (!fitsIn(data, limit)) {
        return Promise.reject(
          new MessageTooLargeError(
            this.label,
            this.pair.id,
            byteSize(data),
            limit,
            "the peer's SCTP max-message-size (it cannot take split messages)",
          ),
        );
      }
      job = [typeof data === 'string' ? data : bytesOf(data)];
    }
    return new Promise<void>((resolve, reject) => {
      this.jobs.push({ frames: job, resolve, reject });
      if (this.running === undefined) this.next();
    });
  }

  /** Runs the queue: one message at a time, in order. */
  private next(): void {
    const job = this.jobs[0];
    const wire = this.wire;
    if (job === undefined || wire === undefined) {
      this.running = undefined;
      return;
    }
    // Set before subscribing: a job that finishes synchronously starts the next one from inside.
    const running = new Subscription();
    this.running = running;
    running.add(
      sendFrames$(
        wire.channel,
        job.frames,
        this.channel.options.flow,
        this.pair.scheduler,
      ).subscribe({
        next: () => {
          this.jobs.shift();
          job.resolve();
        },
        complete: () => this.next(),
        error: (error: unknown) => {
          this.jobs.shift();
          job.reject(new ChannelClosedError(this.label, this.pair.id, describe(error)));
          this.next();
        },
      }),
    );
  }

  /** The wire is gone: the peer is out of `open$`, queued messages are rejected with `error`. */
  detach(error: RxpeerError): void {
    this.running?.unsubscribe();
    this.running = undefined;
    for (const job of this.jobs.splice(0)) job.reject(error);
    this.watch.unsubscribe();
    this.watch = new Subscription();
    if (this.wire !== undefined) this.wire.onFrame = undefined;
    this.wire = undefined;
    this.readySent = false;
    this.reassembler = new Reassembler(this.channel.options.maxMessageBytes);
    this.setOpen(false);
  }
}

/** One peer connection and the channels of every declared label on it. */
class Pair {
  readonly links = new Map<string, Link>();
  /** Channels the remote made for labels not declared here (yet). */
  private readonly unclaimed = new Map<string, Wire[]>();
  private readonly watch = new Subscription();
  /** Offerer: always; answerer of an rxpeer pair: once the offerer's channels are in. */
  mayCreate: boolean;

  constructor(
    private readonly hub: ChannelHub,
    readonly id: string,
    readonly pc: RTCPeerConnection,
    readonly isOffer: boolean,
    readonly rxpeer: boolean,
  ) {
    this.mayCreate = isOffer;
    this.watch.add(
      event$(pc, 'datachannel').subscribe((event) =>
        this.onRemoteChannel((event as RTCDataChannelEvent).channel),
      ),
    );
    if (!isOffer && rxpeer) {
      this.watch.add(
        merge(
          event$(pc, 'datachannel').pipe(
            filter(
              (event) => (event as RTCDataChannelEvent).channel.label === CONTROL_CHANNEL_LABEL,
            ),
          ),
          connectionState$(pc).pipe(
            filter((state) => state === 'connected'),
            take(1),
            delay(ANSWERER_CREATE_DELAY, hub.scheduler),
          ),
        )
          .pipe(take(1))
          .subscribe(() => {
            this.mayCreate = true;
            for (const link of this.links.values()) link.ensure();
          }),
      );
    }
  }

  get scheduler(): SchedulerLike {
    return this.hub.scheduler;
  }

  get log(): Logger {
    return this.hub.log;
  }

  report(error: RxpeerError): void {
    this.hub.report(error);
  }

  private onRemoteChannel(channel: RTCDataChannel): void {
    if (channel.label === CONTROL_CHANNEL_LABEL) return;
    const wire = new Wire(channel, false);
    const link = this.links.get(channel.label);
    if (link !== undefined) {
      link.offerRemote(wire);
      return;
    }
    const list = this.unclaimed.get(channel.label) ?? [];
    list.push(wire);
    this.unclaimed.set(channel.label, list);
    // Forget it if it closes before the label is declared.
    wire.watch.add(
      event$(channel, 'close')
        .pipe(take(1))
        .subscribe(() => {
          const left = (this.unclaimed.get(channel.label) ?? []).filter((w) => w !== wire);
          if (left.length === 0) this.unclaimed.delete(channel.label);
          else this.unclaimed.set(channel.label, left);
          wire.watch.unsubscribe();
        }),
    );
  }

  /** A label declared: picks up the remote's channel for it, or makes one when the rule says so. */
  declare(channel: ChannelImpl): void {
    if (this.links.has(channel.label)) return;
    const link = new Link(this, channel);
    this.links.set(channel.label, link);
    const waiting = this.unclaimed.get(channel.label) ?? [];
    this.unclaimed.delete(channel.label);
    for (const wire of waiting) link.offerRemote(wire);
    link.ensure();
  }

  /** The peer is leaving: its links close with {@link PeerGoneError}. */
  gone(): void {
    this.watch.unsubscribe();
    for (const link of this.links.values()) {
      const wire = link.wire;
      link.detach(new PeerGoneError(link.label, this.id));
      wire?.watch.unsubscribe();
    }
    this.links.clear();
    for (const wires of this.unclaimed.values()) for (const wire of wires) wire.watch.unsubscribe();
    this.unclaimed.clear();
  }
}

/** The public face of one label. */
class ChannelImpl implements Channel<BinaryType> {
  private readonly messagesSubject = new Subject<ChannelMessage<BinaryType>>();
  private readonly openSubject = new BehaviorSubject<ReadonlySet<string>>(new Set());
  readonly messages$: Observable<ChannelMessage<BinaryType>>;
  readonly open$: Observable<ReadonlySet<string>>;

  constructor(
    private readonly hub: ChannelHub,
    readonly label: string,
    readonly options: ResolvedOptions,
  ) {
    this.messages$ = this.messagesSubject.asObservable();
    this.open$ = this.openSubject.pipe(distinctUntilChanged());
  }

  get openPeers(): ReadonlySet<string> {
    return this.openSubject.value;
  }

  setOpen(peer: string, open: boolean): void {
    if (this.openSubject.closed) return;
    const next = new Set(this.openSubject.value);
    if (open) next.add(peer);
    else next.delete(peer);
    this.openSubject.next(next);
  }

  deliver(from: string, data: unknown): void {
    if (typeof data === 'string') {
      this.messagesSubject.next({ from, data });
      return;
    }
    if (!(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) {
      this.hub.report(
        new ChannelClosedError(
          this.label,
          from,
          `a message of an unexpected type (${typeof data}) was dropped`,
        ),
      );
      return;
    }
    const buffer = data instanceof ArrayBuffer ? data : bytesOf(data).slice().buffer;
    this.messagesSubject.next({
      from,
      data: this.options.binaryType === 'blob' ? new Blob([buffer]) : buffer,
    });
  }

  send(to: string, data: OutgoingData): Promise<void> {
    if (typeof to !== 'string' || to === '')
      return Promise.reject(new InvalidArgumentError('to', 'a peer id must be a non-empty string'));
    if (!isOutgoing(data))
      return Promise.reject(
        new InvalidArgumentError('data', 'send a string, an ArrayBuffer or an ArrayBufferView'),
      );
    const link = this.hub.linkTo(this.label, to);
    if (link === undefined) return Promise.reject(new NotConnectedError(this.label, to));
    return link.send(data);
  }

  async broadcast(data: OutgoingData): Promise<string[]> {
    if (!isOutgoing(data))
      throw new InvalidArgumentError('data', 'send a string, an ArrayBuffer or an ArrayBufferView');
    const peers = [...this.openPeers];
    const results = await Promise.allSettled(peers.map((peer) => this.send(peer, data)));
    const sent: string[] = [];
    let failure: Error | undefined;
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') sent.push(peers[i] as string);
      else if (!(
        result.reason instanceof PeerGoneError ||
        result.reason instanceof NotConnectedError ||
        result.reason instanceof ChannelClosedError
      )) {
        failure ??=
          result.reason instanceof Error ? result.reason : new Error(describe(result.reason));
      }
    });
    if (failure !== undefined) throw failure;
    return sent;
  }

  complete(): void {
    this.openSubject.next(new Set());
    this.messagesSubject.complete();
    this.openSubject.complete();
  }
}

/**
 * Every declared label and every peer connection: the one place that knows
 * which `RTCDataChannel` carries which label for which peer.
 * @internal
 */
export class ChannelHub {
  private readonly channels = new Map<string, ChannelImpl>();
  private readonly pairs = new Map<string, Pair>();
  private disposed = false;

  constructor(private readonly ctx: ChannelHubContext) {}

  get scheduler(): SchedulerLike {
    return this.ctx.scheduler;
  }

  get log(): Logger {
    return this.ctx.logger;
  }

  report(error: RxpeerError): void {
    this.ctx.report(error);
  }

  channel<B extends BinaryType = 'arraybuffer'>(
    label: string,
    options?: ChannelOptions<B>,
  ): Channel<B> {
    if (
      typeof label !== 'string' ||
      label === '' ||
      new TextEncoder().encode(label).byteLength > 65535
    ) {
      throw new InvalidArgumentError(
        'label',
        'a channel label must be a non-empty string of at most 65535 bytes',
      );
    }
    if (label === CONTROL_CHANNEL_LABEL)
      throw new InvalidArgumentError('label', `"${CONTROL_CHANNEL_LABEL}" is rxpeer's own channel`);
    const resolved = resolveOptions(options);
    const existing = this.channels.get(label);
    if (existing !== undefined) {
      if (options !== undefined && !sameOptions(existing.options, resolved)) {
        throw new InvalidArgumentError(
          'options',
          `channel "${label}" was declared with other options`,
        );
      }
      return existing;
    }
    const made = new ChannelImpl(this, label, resolved);
    if (this.disposed) {
      made.complete();
      return made;
    }
    this.channels.set(label, made);
    for (const pair of this.pairs.values()) pair.declare(made);
    return made;
  }

  /** A new peer connection (before its create hooks and its offer). */
  added(id: string, pc: RTCPeerConnection, isOffer: boolean): void {
    if (this.disposed) return;
    this.removed(id);
    const pair = new Pair(this, id, pc, isOffer, this.ctx.isRxpeer(id));
    this.pairs.set(id, pair);
    for (const channel of this.channels.values()) pair.declare(channel);
  }

  /** A peer is leaving (or its connection is being replaced). */
  removed(id: string): void {
    const pair = this.pairs.get(id);
    if (pair === undefined) return;
    this.pairs.delete(id);
    pair.gone();
  }

  linkTo(label: string, peer: string): Link | undefined {
    return this.pairs.get(peer)?.links.get(label);
  }

  /** Every pair gone, every channel's streams completed. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const id of [...this.pairs.keys()]) this.removed(id);
    for (const channel of this.channels.values()) channel.complete();
    this.channels.clear();
  }
}

/** Waits until `channel` is open with `peer` (a helper for apps and specs). */
export function openWith<B extends BinaryType>(channel: Channel<B>, peer: string): Promise<void> {
  return firstValueFrom(
    channel.open$.pipe(
      filter((open) => open.has(peer)),
      take(1),
      map(() => undefined),
    ),
  );
}
