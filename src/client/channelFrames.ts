/**
 * How rxpeer carries messages on a data channel between two rxpeer peers
 * (a "framed" channel, marked with the sub-protocol {@link FRAMED_PROTOCOL}
 * by the side that created it). Binary goes as it is, so the common case
 * copies nothing; text frames carry strings and the few control words:
 *
 * | frame  | content                  | meaning                                                    |
 * |--------|--------------------------|------------------------------------------------------------|
 * | text   | `R`                      | READY: "this side has declared the label and listens"       |
 * | text   | `W` + the string         | a whole string message                                     |
 * | text   | `S0:<bytes>` / `S1:<bytes>` | START of a split binary (0) / UTF-8 string (1) message of that size |
 * | binary | the bytes                | after a START: the next part; otherwise a whole binary message |
 *
 * A message that fits the pair's SCTP `max-message-size` goes whole; a
 * larger one as START and binary parts, each within that size. Parts are
 * only sent on ordered, reliable channels, where they arrive in order, so
 * they need no sequence numbers. Channels with peers that are not rxpeer
 * (Extreal) carry the app's messages as they are ("raw").
 */
import { InvalidMessageError } from '../errors.js';

/** The data channel sub-protocol of channels that carry rxpeer frames. */
export const FRAMED_PROTOCOL = 'rxpeer-frames/2';

/** The SCTP max-message-size when the remote SDP does not say (RFC 8841). */
export const DEFAULT_MAX_MESSAGE_SIZE = 65536;

/** The largest frame rxpeer sends, even to a peer that accepts more: keeps one frame from holding the channel for long. */
export const MAX_FRAME_SIZE = 256 * 1024;

/** The READY frame. */
export const READY = 'R';

/**
 * The SCTP max-message-size the remote side announced in its SDP
 * (`a=max-message-size`), {@link DEFAULT_MAX_MESSAGE_SIZE} when absent;
 * 0 means "no limit" and is returned as `Infinity`.
 */
export function maxMessageSizeOf(remoteSdp: string | undefined): number {
  const match = /^a=max-message-size:(\d+)\s*$/m.exec(remoteSdp ?? '');
  if (match === null) return DEFAULT_MAX_MESSAGE_SIZE;
  const value = Number(match[1]);
  return value === 0 ? Infinity : value;
}

/** Data as the app passes it to `send`. */
export type OutgoingData = string | ArrayBuffer | ArrayBufferView;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The bytes of binary data, without copying. */
export function bytesOf(data: ArrayBuffer | ArrayBufferView): Uint8Array {
  return data instanceof ArrayBuffer
    ? new Uint8Array(data)
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The size in bytes a message has on the wire (UTF-8 for strings). */
export function byteSize(data: OutgoingData): number {
  return typeof data === 'string' ? encoder.encode(data).byteLength : data.byteLength;
}

/** Whether a message surely fits in `limit` bytes, measuring a string only when its length does not tell. */
export function fitsIn(data: OutgoingData, limit: number, overhead = 0): boolean {
  if (typeof data !== 'string') return data.byteLength + overhead <= limit;
  // At most 3 bytes of UTF-8 per UTF-16 unit.
  return data.length * 3 + overhead <= limit || byteSize(data) + overhead <= limit;
}

/**
 * The frames of one message, made one at a time as they are sent (parts are
 * views on the message, never copies). Each frame is at most `frameSize` bytes.
 */
export function* frames(
  data: OutgoingData,
  frameSize: number,
): Generator<string | Uint8Array, void, undefined> {
  if (typeof data === 'string') {
    // A text frame is UTF-8 on the wire: `W` plus at most 3 bytes per UTF-16 unit.
    if (1 + data.length * 3 <= frameSize) {
      yield `W${data}`;
      return;
    }
    const bytes = encoder.encode(data);
    if (1 + bytes.byteLength <= frameSize) {
      yield `W${data}`;
      return;
    }
    yield `S1:${bytes.byteLength}`;
    yield* parts(bytes, frameSize);
    return;
  }
  const bytes = bytesOf(data);
  if (bytes.byteLength <= frameSize) {
    yield bytes;
    return;
  }
  yield `S0:${bytes.byteLength}`;
  yield* parts(bytes, frameSize);
}

function* parts(bytes: Uint8Array, frameSize: number): Generator<Uint8Array, void, undefined> {
  for (let offset = 0; offset < bytes.byteLength; offset += frameSize) {
    yield bytes.subarray(offset, Math.min(bytes.byteLength, offset + frameSize));
  }
}

/** How many frames a message of `size` bytes takes (binary), with frames of at most `frameSize` bytes. */
export function frameCount(size: number, frameSize: number): number {
  return size <= frameSize ? 1 : 1 + Math.ceil(size / frameSize);
}

/** What a received frame meant. */
export type Received =
  | { kind: 'ready' }
  | { kind: 'message'; data: string | ArrayBuffer }
  | { kind: 'partial' }
  | { kind: 'invalid'; error: InvalidMessageError };

const START = /^S([01]):(\d{1,16})$/;

/**
 * Reassembles the frames of one framed channel, in order. A message over
 * `maxBytes` is refused at its START (its parts are skipped), so a peer
 * cannot make this side allocate more than `maxBytes`.
 */
export class Reassembler {
  private buffer: Uint8Array | undefined;
  private text = false;
  private filled = 0;
  private skipping = 0;

  constructor(private readonly maxBytes: number) {}

  /** Takes one frame as it came from the channel. */
  push(data: unknown): Received {
    if (typeof data === 'string') return this.control(data);
    if (!(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) {
      return this.invalid(`a framed channel got a ${typeof data} frame`);
    }
    if (this.skipping > 0) {
      this.skipping = Math.max(0, this.skipping - data.byteLength);
      return { kind: 'partial' };
    }
    const buffer = this.buffer;
    if (buffer === undefined) {
      // A whole binary message: handed on as it came, no copy.
      return {
        kind: 'message',
        data: data instanceof ArrayBuffer ? data : (bytesOf(data).slice().buffer),
      };
    }
    const part = bytesOf(data);
    if (this.filled + part.byteLength > buffer.byteLength) {
      this.buffer = undefined;
      return this.invalid('a split message longer than its START said');
    }
    buffer.set(part, this.filled);
    this.filled += part.byteLength;
    if (this.filled < buffer.byteLength) return { kind: 'partial' };
    this.buffer = undefined;
    this.filled = 0;
    return {
      kind: 'message',
      data: this.text ? decoder.decode(buffer) : (buffer.buffer as ArrayBuffer),
    };
  }

  private control(frame: string): Received {
    if (frame === READY) return { kind: 'ready' };
    if (frame.startsWith('W')) {
      if (this.buffer !== undefined || this.skipping > 0)
        return this.invalid('a whole message inside a split one');
      return { kind: 'message', data: frame.slice(1) };
    }
    const start = START.exec(frame);
    if (start === null) return this.invalid(`an unknown text frame (${frame.slice(0, 16)})`);
    if (this.buffer !== undefined || this.skipping > 0)
      return this.invalid('a START inside a split message');
    const total = Number(start[2]);
    if (total > this.maxBytes) {
      this.skipping = total;
      return this.invalid(
        `a message of ${total} bytes is over this side's limit of ${this.maxBytes} bytes; skipped`,
      );
    }
    if (total === 0) return { kind: 'message', data: start[1] === '1' ? '' : new ArrayBuffer(0) };
    this.buffer = new Uint8Array(total);
    this.text = start[1] === '1';
    this.filled = 0;
    return { kind: 'partial' };
  }

  private invalid(reason: string): Received {
    return { kind: 'invalid', error: new InvalidMessageError(`data channel frame: ${reason}`) };
  }
}
