import { combineLatest, map, take, type Observable } from 'rxjs';

/**
 * The client's "started" condition (PROTOCOL §5): emits once, then
 * completes, as soon as both hold, in either order: `done` has come from the
 * host, and ICE with the host is connected. Derived, never a flag.
 *
 * ```text
 * done:    ---d-------
 * ice:     -------i---
 * result:  -------(s|)
 * done:    -------d---
 * ice:     --i--------
 * result:  -------(s|)
 * ```
 *
 * @param doneFromHost$ `done` messages from the host
 * @param iceConnectedWithHost$ emits when ICE with the host is connected (see `iceConnected`)
 * @example
 * startedCondition(done$, ice$).pipe(startTimeout(15000, hostId)).subscribe(() => started(myId));
 */
export function startedCondition(doneFromHost$: Observable<unknown>, iceConnectedWithHost$: Observable<unknown>): Observable<void> {
  return combineLatest([doneFromHost$.pipe(take(1)), iceConnectedWithHost$.pipe(take(1))]).pipe(
    take(1),
    map(() => undefined),
  );
}
