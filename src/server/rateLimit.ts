/** A monotonic clock in milliseconds; injectable so specs control time. */

import { InvalidArgumentError } from '../errors.js';
export type Clock = () => number;

export const systemClock: Clock = () => performance.now();

/**
 * A token bucket: holds up to `capacity` tokens, refilled at `ratePerSecond`.
 * `take()` spends one token when there is one. Time comes from `clock`, so a
 * spec with a frozen clock sees no refill at all.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly capacity: number,
    readonly ratePerSecond: number,
    private readonly clock: Clock,
  ) {
    if (!(capacity >= 1)) throw new InvalidArgumentError('capacity', `must be ≥ 1, got ${capacity}`);
    if (!(ratePerSecond >= 0))
      throw new InvalidArgumentError('ratePerSecond', `must be ≥ 0, got ${ratePerSecond}`);
    this.tokens = capacity;
    this.last = clock();
  }

  /** Spends `amount` tokens (one by default: a message; or bytes) when that many are there; `false`, and nothing spent, otherwise. */
  take(amount = 1): boolean {
    this.refill();
    if (this.tokens < amount) return false;
    this.tokens -= amount;
    return true;
  }

  /** Back at capacity: nothing to remember about its owner. */
  full(): boolean {
    this.refill();
    return this.tokens >= this.capacity;
  }

  /** Tokens available now (for specs and stats). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  private refill(): void {
    const now = this.clock();
    const elapsed = now - this.last;
    this.last = now;
    if (elapsed > 0 && this.ratePerSecond > 0) {
      this.tokens = Math.min(this.capacity, this.tokens + (elapsed / 1000) * this.ratePerSecond);
    }
  }
}
