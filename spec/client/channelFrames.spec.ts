/**
 * The framing rules of data channels between rxpeer peers: what is split,
 * at which size, and that any message comes back whole.
 */
import fc from 'fast-check';
import {
  DEFAULT_MAX_MESSAGE_SIZE,
  READY,
  Reassembler,
  frameCount,
  frames,
  maxMessageSizeOf,
  type Received,
} from '../../src/client/channelFrames';

type Frame = string | Uint8Array;

const all = (data: string | Uint8Array, frameSize: number): Frame[] => [...frames(data, frameSize)];
const size = (frame: Frame): number =>
  typeof frame === 'string' ? new TextEncoder().encode(frame).byteLength : frame.byteLength;

/** As the engine hands frames over: text as strings, binary as a fresh ArrayBuffer. */
function feed(reassembler: Reassembler, list: Frame[]): Received[] {
  return list.map((frame) =>
    reassembler.push(typeof frame === 'string' ? frame : frame.slice().buffer),
  );
}

describe('data channel framing', () => {
  it('reads max-message-size from the remote SDP, 64 KiB when absent, no limit for 0', () => {
    expect(
      maxMessageSizeOf(
        'v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=max-message-size:262144\r\n',
      ),
    ).toBe(262144);
    expect(maxMessageSizeOf('v=0\r\na=sctp-port:5000\r\n')).toBe(DEFAULT_MAX_MESSAGE_SIZE);
    expect(maxMessageSizeOf(undefined)).toBe(65536);
    expect(maxMessageSizeOf('a=max-message-size:0\r\n')).toBe(Infinity);
  });

  it('sends binary that fits as it is (the same bytes, no copy), and splits what does not into parts within the size', () => {
    const fits = new Uint8Array(100);
    const [whole] = all(fits, 100);
    expect((whole as Uint8Array).buffer).toBe(fits.buffer);
    const big = all(new Uint8Array(10_000), 100);
    expect(big[0]).toBe('S0:10000');
    expect(big.length).toBe(frameCount(10_000, 100));
    expect(big.every((f) => size(f) <= 100)).toBe(true);
  });

  it('sends a string that fits as one text frame, and splits a longer one as UTF-8 bytes', () => {
    expect(all('hello', 100)).toEqual(['Whello']);
    const long = 'ü'.repeat(200); // 400 bytes of UTF-8
    const split = all(long, 100);
    expect(split[0]).toBe('S1:400');
    expect(split.slice(1).every((f) => f instanceof Uint8Array && f.byteLength <= 100)).toBe(true);
  });

  it('makes frames lazily: a large message is never framed ahead of the sender', () => {
    const iterator = frames(new Uint8Array(1_000_000), 1000);
    expect(iterator.next().value).toBe('S0:1000000');
    expect((iterator.next().value as Uint8Array).byteLength).toBe(1000);
    expect(iterator.return(undefined).done).toBe(true);
  });

  it('gives back every message whole, strings and binary, at any frame size (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.string({ unit: 'grapheme', maxLength: 300 }),
            fc.uint8Array({ maxLength: 600 }),
          ),
          { maxLength: 8 },
        ),
        fc.integer({ min: 24, max: 200 }),
        (messages, frameSize) => {
          const reassembler = new Reassembler(1 << 20);
          const out: (string | Uint8Array)[] = [];
          for (const message of messages) {
            const list = all(message, frameSize);
            expect(list.every((f) => size(f) <= frameSize)).toBe(true);
            for (const result of feed(reassembler, list)) {
              if (result.kind === 'message')
                out.push(
                  typeof result.data === 'string' ? result.data : new Uint8Array(result.data),
                );
              else expect(result.kind).toBe('partial');
            }
          }
          expect(out).toEqual(messages);
        },
      ),
    );
  });

  it('takes READY, and reports frames that break the rules without throwing', () => {
    const r = new Reassembler(1000);
    expect(r.push(READY)).toEqual({ kind: 'ready' });
    expect(r.push('X?').kind).toBe('invalid');
    expect(r.push(42).kind).toBe('invalid');
    expect(r.push('S0:10').kind).toBe('partial');
    expect(r.push('Wnot now').kind).toBe('invalid'); // a whole message inside a split one
    expect(r.push('S0:10').kind).toBe('invalid');
  });

  it('refuses a split message over its limit at the START and skips its parts', () => {
    const r = new Reassembler(500);
    const results = feed(r, all(new Uint8Array(2000), 100));
    expect(results[0]!.kind).toBe('invalid');
    expect(results.slice(1).every((x) => x.kind === 'partial')).toBe(true);
    // The next message comes through.
    expect(feed(r, all('after', 100))).toEqual([{ kind: 'message', data: 'after' }]);
  });
});
