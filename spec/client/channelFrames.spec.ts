/**
 * The framing rules of data channels between rxpeer peers: what is split,
 * at which size, and that any message comes back whole.
 */
import fc from 'fast-check';
import {
  DEFAULT_MAX_MESSAGE_SIZE,
  Reassembler,
  encodeMessage,
  frameCount,
  frames,
  maxMessageSizeOf,
  type Received,
} from '../../src/client/channelFrames';

const all = (data: string | Uint8Array, frameSize: number): Uint8Array[] => [
  ...frames(encodeMessage(data), frameSize),
];

function feed(reassembler: Reassembler, list: Uint8Array[]): Received[] {
  return list.map((frame) => reassembler.push(frame.slice().buffer));
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

  it('sends a message that fits as one frame, and splits one that does not into frames within the size', () => {
    expect(all(new Uint8Array(98), 100)).toHaveLength(1);
    const split = all(new Uint8Array(99), 100);
    expect(split.length).toBe(2);
    const big = all(new Uint8Array(10_000), 100);
    expect(big.length).toBe(frameCount(10_000, 100));
    expect(big.every((f) => f.byteLength <= 100)).toBe(true);
  });

  it('makes frames lazily: a large message is never framed ahead of the sender', () => {
    const iterator = frames(encodeMessage(new Uint8Array(1_000_000)), 1000);
    expect(iterator.next().value!.byteLength).toBe(1000);
    // Nothing else was made yet; stopping here leaves nothing behind.
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
        fc.integer({ min: 11, max: 200 }),
        (messages, frameSize) => {
          const reassembler = new Reassembler(1 << 20);
          const out: (string | Uint8Array)[] = [];
          for (const message of messages) {
            for (const result of feed(reassembler, all(message, frameSize))) {
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
    expect(r.push(Uint8Array.of(0).buffer)).toEqual({ kind: 'ready' });
    expect(r.push('text').kind).toBe('invalid');
    expect(r.push(new ArrayBuffer(0)).kind).toBe('invalid');
    expect(r.push(Uint8Array.of(3, 1, 2).buffer).kind).toBe('invalid'); // a PART without START
    expect(r.push(Uint8Array.of(9).buffer).kind).toBe('invalid');
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
