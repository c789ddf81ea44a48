/** @internal Checks a duration argument when an operator is called, not when it is subscribed. */
export function assertDuration(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`${name} must be a finite number of milliseconds ≥ 0, got ${String(value)}`);
  }
}
