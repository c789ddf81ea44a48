/** Unit specs: the state contract (in memory), the host-name rule, token buckets, limits, message parsing. */

import {
  DEFAULT_LIMITS,
  InMemorySignalingState,
  TokenBucket,
  parseClientMessage,
  resolveLimits,
  validateHostName,
} from '../../src/server/index.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { describeSignalingState } from './stateContract.js';

describeSignalingState('InMemorySignalingState', () =>
  Promise.resolve(new InMemorySignalingState()),
);

describe('validateHostName', () => {
  it('normalizes to NFC and keeps the name otherwise as sent', () => {
    expect(validateHostName('Cafe\u0301', 64)).toMatchObject({ ok: true, name: 'Caf\u00E9' });
    expect(validateHostName(' spaced ', 64)).toMatchObject({ ok: true, name: ' spaced ' });
    expect(validateHostName('a\u200Db', 64)).toMatchObject({ ok: true, name: 'a\u200Db' });
  });

  it('accepts socket-id-shaped names (the shape rule is gone: relay goes by socket id)', () => {
    expect(validateHostName('abcdefghij_-ABCDEFGH', 64).ok).toBe(true);
    expect(validateHostName('Room-2024-01-01-ABCD', 64).ok).toBe(true);
  });

  it('counts code points, not UTF-16 units', () => {
    expect(validateHostName('𝒜'.repeat(3), 3).ok).toBe(true);
    expect(validateHostName('𝒜'.repeat(4), 3).ok).toBe(false);
  });
});

describe('TokenBucket', () => {
  it('allows a burst, then refills at the rate with the injected clock', () => {
    let now = 0;
    const bucket = new TokenBucket(3, 2, () => now);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    now += 499;
    expect(bucket.take()).toBe(false);
    now += 1;
    expect(bucket.take()).toBe(true);
    now += 60_000;
    expect(bucket.available()).toBe(3);
  });

  it('never refills with a rate of 0, and checks its arguments', () => {
    let now = 0;
    const bucket = new TokenBucket(1, 0, () => now);
    expect(bucket.take()).toBe(true);
    now += 1e9;
    expect(bucket.take()).toBe(false);
    expect(() => new TokenBucket(0, 1, () => 0)).toThrow(InvalidArgumentError);
    expect(() => new TokenBucket(1, -1, () => 0)).toThrow(InvalidArgumentError);
  });
});

describe('resolveLimits', () => {
  it('fills in the documented defaults', () => {
    expect(resolveLimits()).toEqual(DEFAULT_LIMITS);
    expect(DEFAULT_LIMITS).toMatchObject({
      maxHostNameLength: 64,
      maxSdpBytes: 65536,
      maxHttpBufferSize: 1_000_000,
    });
  });

  it('names a limit out of bounds, and keeps the SDP cap below the frame cap', () => {
    expect(() => resolveLimits({ pingIntervalMs: 10 })).toThrow(/pingIntervalMs/);
    expect(() => resolveLimits({ messageRate: Number.NaN })).toThrow(/messageRate/);
    expect(() => resolveLimits({ maxSdpBytes: 1_000_000 })).toThrow(/maxSdpBytes/);
  });
});

describe('parseClientMessage', () => {
  it('keeps only the relayed fields, and nulls as nulls', () => {
    expect(
      parseClientMessage(
        { type: 'offer', to: 'x', sdp: null, me: null, from: null, ice: null, extra: 1 },
        DEFAULT_LIMITS,
      ),
    ).toEqual({
      ok: true,
      message: { type: 'offer', to: 'x', sdp: null, me: null },
    });
  });

  it('rejects objects with a non-plain prototype', () => {
    expect(parseClientMessage(new Date(), DEFAULT_LIMITS)).toMatchObject({
      ok: false,
      reason: 'malformed',
    });
    expect(parseClientMessage(Buffer.from('{}'), DEFAULT_LIMITS)).toMatchObject({
      ok: false,
      reason: 'malformed',
    });
  });

  it('measures the SDP cap in UTF-8 bytes', () => {
    const limits = { ...DEFAULT_LIMITS, maxSdpBytes: 1024 };
    expect(parseClientMessage({ type: 'offer', to: 'x', sdp: 'é'.repeat(512) }, limits).ok).toBe(
      true,
    );
    expect(
      parseClientMessage({ type: 'offer', to: 'x', sdp: 'é'.repeat(513) }, limits),
    ).toMatchObject({ ok: false, reason: 'sdp-too-large' });
  });
});
