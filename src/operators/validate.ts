import { InvalidArgumentError } from '../errors.js';

/**
 * @internal Checks a duration argument when an operator is called, not when it
 * is subscribed; throws an {@link InvalidArgumentError} (code `INVALID_ARGUMENT`).
 */
export function assertDuration(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(name, `must be a finite number of milliseconds ≥ 0, got ${String(value)}`);
  }
}
