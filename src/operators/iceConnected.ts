import { filter, map, scan, take, type OperatorFunction } from 'rxjs';

/**
 * From a stream of `iceConnectionState`s, emits once when ICE is connected,
 * then completes. `connected` counts at once; `completed` counts only after
 * `checking` or `connected` was seen, because some engines (werift) report
 * `completed` before any check ran.
 *
 * ```text
 * states:  n--k--c         (n: new, k: checking, c: connected)
 * result:  ------(x|)
 * states:  n--C--k--C      (C: completed)
 * result:  ---------(x|)   the first `completed` came before checking
 * ```
 *
 * @example
 * iceConnectionState$(pc).pipe(iceConnected()).subscribe(() => log('ICE up'));
 */
export function iceConnected(): OperatorFunction<RTCIceConnectionState, void> {
  return (states$) =>
    states$.pipe(
      scan(
        (acc, state) => ({
          checked: acc.checked || state === 'checking' || state === 'connected',
          connected: state === 'connected' || (state === 'completed' && acc.checked),
        }),
        { checked: false, connected: false },
      ),
      filter((acc) => acc.connected),
      take(1),
      map(() => undefined),
    );
}
