import { asyncScheduler, filter, map, of, take, timeout, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { assertDuration } from './validate.js';

/** How the wait for ICE gathering ended. */
export type GatheringOutcome = 'complete' | 'timeout';

/**
 * Vanilla ICE's wait: from a stream of `iceGatheringState`s (current state
 * first, then each change), emits `'complete'` when gathering completes, or
 * `'timeout'` when `timeoutMs` passes first, then completes. Event-driven: it
 * never polls. On `'timeout'` the caller sends the SDP with the candidates
 * gathered so far.
 *
 * ```text
 * states:  n--g-----c       (n: new, g: gathering, c: complete)
 * result:  ---------(C|)    gathering completes within the timeout
 * states:  n--g------------ (timeout = 10)
 * result:  ----------(T|)   the timeout passes first
 * ```
 *
 * @param timeoutMs the vanilla-ICE timeout (PROTOCOL §5; 5000 by default in the client)
 * @param scheduler the scheduler that times it (a `TestScheduler` in specs)
 * @example
 * iceGatheringState$(pc).pipe(gatheringComplete(5000)).subscribe(() => send(localSdp(pc)));
 */
export function gatheringComplete(
  timeoutMs: number,
  scheduler: SchedulerLike = asyncScheduler,
): OperatorFunction<RTCIceGatheringState, GatheringOutcome> {
  assertDuration(timeoutMs, 'timeoutMs');
  return (states$) =>
    states$.pipe(
      filter((state) => state === 'complete'),
      take(1),
      map((): GatheringOutcome => 'complete'),
      timeout({ first: timeoutMs, with: () => of<GatheringOutcome>('timeout'), scheduler }),
    );
}
