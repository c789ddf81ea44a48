import { asyncScheduler, throwError, timeout, type MonoTypeOperatorFunction, type Observable, type SchedulerLike } from 'rxjs';
import { AckTimeoutError } from '../errors.js';
import { assertDuration } from './validate.js';

/**
 * Bounds the wait for a server acknowledgement: errors with an
 * {@link AckTimeoutError} naming the request when no ack comes within
 * `timeoutMs`, instead of hanging.
 *
 * ```text
 * ack:     ---a|            (timeout = 10)
 * result:  ---a|
 * ack:     ---------------
 * result:  ----------#      AckTimeoutError("list hosts") at 10
 * ```
 *
 * @param timeoutMs how long to wait for the ack
 * @param request the request's name, for the error
 * @param scheduler the scheduler that times it
 * @example
 * request$(socket, 'list hosts').pipe(ackTimeout(10000, 'list hosts'));
 */
export function ackTimeout<T>(
  timeoutMs: number,
  request: string,
  scheduler: SchedulerLike = asyncScheduler,
): MonoTypeOperatorFunction<T> {
  assertDuration(timeoutMs, 'timeoutMs');
  return timeout<T, Observable<never>>({
    first: timeoutMs,
    with: () => throwError(() => new AckTimeoutError(request, timeoutMs)),
    scheduler,
  });
}
