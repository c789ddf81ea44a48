/**
 * How rxpeer carries messages on a data channel between two rxpeer peers
 * (a "framed" channel, marked with the sub-protocol {@link FRAMED_PROTOCOL}
 * by the side that created it). Every frame is binary; its first byte says
 * what it is:
 *
 * | byte 0 | name  | rest                                                        |
 * |--------|-------|-------------------------------------------------------------|
 * | 0      | READY | nothing: "this side has declared the label and listens"      |
 * | 1      | WHOLE | byte 1 = kind (0 binary, 1 string as UTF-8), then the data   |
 * | 2      | START | byte 1 = kind, bytes 2–9 = total size (float64, big-endian), then the first part |
 * | 3      | PART  | the next part of the message START began                     |
 *
 * A message that fits the pair's SCTP `max-message-size` goes as one WHOLE
 * frame; a larger one as START + PARTs, each within that size. Parts are
 * only sent on ordered, reliable channels, where they arrive in order, so
 * they need no sequence numbers. Channels with peers that are not rxpeer
 * (Extreal) carry the app's messages as they are ("raw").
 *
 * @internal
 */
import { InvalidMessageError } from '../errors.js';

/** The data channel sub-protocol of channels that carry rxpeer frames. */
export const FRAMED_PROTOCOL = 'rxpeer-frames/1';

/** The SCTP max-message-size when the remote SDP does not say (RFC 8841). */
export const DEFAULT_MAX_MESSAGE_SIZE = 65536;

/** The largest frame rxpeer sends, even to a peer that accepts more: keeps one frame from holding the channel for long. */
export const MAX_FRAME_SIZE = 256 * 1024;

export const FrameType = { Ready: 0, Whole: 1, Start: 2, Part: 3 } as const;

export const Kind = { Binary: 0, Text: 1 } as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

const WHOLE_HEADER = 2;
const START_HEADER = 10;
const PART_HEADER = 1;

export const READY_FRAME: Uint8Array = Uint8Array.of(FrameType.Ready);

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

/** A message ready to frame: its kind and bytes. */
export interface EncodedMessage {
  readonly kind: Kind;
  readonly bytes: Uint8Array;
}

export function encodeMessage(data: OutgoingData): EncodedMessage {
  return typeof data === 'string'
    ? { kind: Kind.Text, bytes: encoder.encode(data) }
    : { kind: Kind.Binary, bytes: bytesOf(data) };
}

/** How many frames a message of `size` bytes takes with frames of at most `frameSize` bytes. */
export function frameCount(size: number, frameSize: number): number {
  if (size + WHOLE_HEADER <= frameSize) return 1;
  const first = frameSize - START_HEADER;
  return 1 + Math.ceil((size - first) / (frameSize - PART_HEADER));
}

/**
 * The frames of one message, made one at a time as they are sent (so a large
 * message never exists twice in memory). Each frame is at most `frameSize` bytes.
 */
export function* frames(
  message: EncodedMessage,
  frameSize: number,
): Generator<Uint8Array, void, undefined> {
  if (!(frameSize > START_HEADER))
    throw new RangeError(`frameSize must be over ${START_HEADER} bytes`);
  const { kind, bytes } = message;
  if (bytes.byteLength + WHOLE_HEADER <= frameSize) {
    const frame = new Uint8Array(WHOLE_HEADER + bytes.byteLength);
    frame[0] = FrameType.Whole;
    frame[1] = kind;
    frame.set(bytes, WHOLE_HEADER);
    yield frame;
    return;
  }
  const firstLength = frameSize - START_HEADER;
  const start = new Uint8Array(frameSize);
  start[0] = FrameType.Start;
  start[1] = kind;
  new DataView(start.buffer).setFloat64(2, bytes.byteLength);
  start.set(bytes.subarray(0, firstLength), START_HEADER);
  yield start;
  for (let offset = firstLength; offset < bytes.byteLength; offset += frameSize - PART_HEADER) {
    const chunk = bytes.subarray(
      offset,
      Math.min(bytes.byteLength, offset + frameSize - PART_HEADER),
    );
    const part = new Uint8Array(PART_HEADER + chunk.byteLength);
    part[0] = FrameType.Part;
    part.set(chunk, PART_HEADER);
    yield part;
  }
}

/** What a received frame meant. */
export type Received =
  | { kind: 'ready' }
  | { kind: 'message'; data: string | ArrayBuffer }
  | { kind: 'partial' }
  | { kind: 'invalid'; error: InvalidMessageError };

/**
 * Reassembles the frames of one framed channel, in order. A message over
 * `maxBytes` is refused at its START (its parts are skipped), so a peer
 * cannot make this side allocate more than `maxBytes`.
 */
export class Reassembler {
  private buffer: Uint8Array | undefined;
  private kind: Kind = Kind.Binary;
  private filled = 0;
  private skipping = 0;

  constructor(private readonly maxBytes: number) {}

  /** Takes one frame as it came from the channel. */
  push(data: unknown): Received {
    if (!(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) {
      return this.invalid(`a framed channel got a ${typeof data} frame`);
    }
    const frame = bytesOf(data);
    if (frame.byteLength === 0) return this.invalid('an empty frame');
    const type = frame[0] ?? -1;
    switch (type) {
      case FrameType.Ready:
        return { kind: 'ready' };
      case FrameType.Whole:
        if (frame.byteLength < WHOLE_HEADER) return this.invalid('a truncated WHOLE frame');
        if (this.buffer !== undefined) return this.invalid('a WHOLE frame inside a split message');
        return { kind: 'message', data: decode(frame[1], frame.subarray(WHOLE_HEADER)) };
      case FrameType.Start: {
        if (frame.byteLength < START_HEADER) return this.invalid('a truncated START frame');
        const total = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getFloat64(2);
        const first = frame.subarray(START_HEADER);
        if (!Number.isSafeInteger(total) || total < first.byteLength)
          return this.invalid(`a START frame with a bad size (${total})`);
        if (total > this.maxBytes) {
          this.buffer = undefined;
          this.skipping = total - first.byteLength;
          return this.invalid(
            `a message of ${total} bytes is over this side's limit of ${this.maxBytes} bytes; skipped`,
          );
        }
        this.buffer = new Uint8Array(total);
        this.kind = frame[1] === Kind.Text ? Kind.Text : Kind.Binary;
        this.buffer.set(first, 0);
        this.filled = first.byteLength;
        return this.completeIfFilled();
      }
      case FrameType.Part: {
        const chunk = frame.subarray(PART_HEADER);
        if (this.skipping > 0) {
          this.skipping = Math.max(0, this.skipping - chunk.byteLength);
          return { kind: 'partial' };
        }
        if (this.buffer === undefined) return this.invalid('a PART frame without a START');
        if (this.filled + chunk.byteLength > this.buffer.byteLength) {
          this.buffer = undefined;
          return this.invalid('a split message longer than its START said');
        }
        this.buffer.set(chunk, this.filled);
        this.filled += chunk.byteLength;
        return this.completeIfFilled();
      }
      default:
        return this.invalid(`an unknown frame type ${type}`);
    }
  }

  private completeIfFilled(): Received {
    const buffer = this.buffer;
    if (buffer === undefined || this.filled < buffer.byteLength) return { kind: 'partial' };
    this.buffer = undefined;
    this.filled = 0;
    return { kind: 'message', data: decode(this.kind, buffer) };
  }

  private invalid(reason: string): Received {
    return { kind: 'invalid', error: new InvalidMessageError(`data channel frame: ${reason}`) };
  }
}

function decode(kind: number | undefined, bytes: Uint8Array): string | ArrayBuffer {
  if (kind === Kind.Text) return decoder.decode(bytes);
  // A fresh ArrayBuffer holding exactly the message (never a view on a larger buffer).
  return bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    bytes.buffer instanceof ArrayBuffer
    ? bytes.buffer
    : bytes.slice().buffer;
}
