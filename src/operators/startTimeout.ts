import { asyncScheduler, throwError, timeout, type MonoTypeOperatorFunction, type Observable, type SchedulerLike } from 'rxjs';
import { StartTimeoutError } from '../errors.js';
import { assertDuration } from './validate.js';

/**
 * The P2P start timeout (PROTOCOL §5): mirrors the source, but errors with a
 * {@link StartTimeoutError} when its first value does not come within
 * `timeoutMs`. Unsubscribing (a stop) cancels the timer.
 *
 * ```text
 * source:  ------s|          (timeout = 10)
 * result:  ------s|          started in time
 * source:  ---------------
 * result:  ----------#       StartTimeoutError at 10
 * ```
 *
 * @param timeoutMs the start timeout (15000 by default in the client)
 * @param hostId the host being joined, for the error's context
 * @param scheduler the scheduler that times it
 * @example
 * started$.pipe(startTimeout(15000, hostId)).subscribe({ error: (e) => onStartFailed(e) });
 */
export function startTimeout<T>(
  timeoutMs: number,
  hostId: string,
  scheduler: SchedulerLike = asyncScheduler,
): MonoTypeOperatorFunction<T> {
  assertDuration(timeoutMs, 'timeoutMs');
  return timeout<T, Observable<never>>({
    first: timeoutMs,
    with: () => throwError(() => new StartTimeoutError(hostId, timeoutMs)),
    scheduler,
  });
}
