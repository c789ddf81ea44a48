import {
  asyncScheduler,
  concat,
  defer,
  distinctUntilChanged,
  exhaustMap,
  filter,
  ignoreElements,
  map,
  merge,
  of,
  race,
  range,
  share,
  take,
  takeUntil,
  takeWhile,
  timer,
  concatMap,
  type Observable,
  type OperatorFunction,
  type SchedulerLike,
} from 'rxjs';
import { InvalidArgumentError } from '../errors.js';
import { assertDuration } from './validate.js';

/**
 * How a pair's link looks from one end: `up` (ICE connected and the peer
 * heard), `down` (ICE disconnected or checking, or the heartbeat silent),
 * `failed` (ICE failed).
 */
export type LinkHealth = 'up' | 'down' | 'failed';

/** What to do about a link: restart ICE (attempt 1…max), it is back, or give up. */
export type RestartStep =
  | { kind: 'restart'; attempt: number }
  | { kind: 'recovered'; restarts: number }
  | { kind: 'giveUp' };

export interface IceRestartOptions {
  /** How long a `down` link may stay down before the first restart (ms); `failed` does not wait. */
  readonly grace: number;
  /** Time each restart gets to bring the link up before the next one; also the least time between any two restarts (ms). */
  readonly interval: number;
  /** Restarts in one period of trouble before giving up (≥ 0). */
  readonly max: number;
}

/**
 * Decides the ICE restarts of one pair from its link health. A period of
 * trouble starts at the first `down` or `failed` after `up` (or at the
 * start); the first restart comes after `grace` of `down` (at once on
 * `failed`), each next one `interval` after the previous while the link is
 * not `up`, and `giveUp` (then completion) `interval` after restart `max`.
 * `up` ends the period: `recovered` when restarts were made. Restarts are
 * never closer than `interval` to each other, across periods too, so a
 * flapping link cannot cause a restart storm.
 *
 * ```text
 * grace 2, interval 5, max 2
 * health: u--d---------------------
 * steps:  -----1----2----(g|)          restart 1, restart 2, give up
 * health: u--d-----u--
 * steps:  -----1---r--                 recovered after one restart
 * health: u--d-u--
 * steps:  --------                     back within the grace: nothing
 * ```
 *
 * @param options grace, interval and max (see {@link IceRestartOptions})
 * @param scheduler the scheduler that times it
 * @example
 * health$.pipe(iceRestarts({ grace: 2000, interval: 5000, max: 3 })).subscribe(step => …);
 */
export function iceRestarts(
  options: IceRestartOptions,
  scheduler: SchedulerLike = asyncScheduler,
): OperatorFunction<LinkHealth, RestartStep> {
  const { grace, interval, max } = options;
  assertDuration(grace, 'grace');
  assertDuration(interval, 'interval');
  if (interval === 0) throw new InvalidArgumentError('interval', 'must be > 0');
  if (!Number.isInteger(max) || max < 0)
    throw new InvalidArgumentError('max', `must be a non-negative integer, got ${String(max)}`);
  return (source) =>
    defer(() => {
      let lastRestart = Number.NEGATIVE_INFINITY;
      const health$ = source.pipe(distinctUntilChanged(), share());
      const up$ = health$.pipe(filter((h) => h === 'up'));
      const failed$ = health$.pipe(filter((h) => h === 'failed'));
      /** Waits `ms`, but never ends earlier than `interval` after the last restart. */
      const spaced = (ms: number): Observable<unknown> =>
        defer(() => timer(Math.max(ms, lastRestart + interval - scheduler.now(), 0), scheduler));
      const period = (first: LinkHealth): Observable<RestartStep> => {
        let restarts = 0;
        const firstWait$ =
          first === 'failed'
            ? spaced(0)
            : race(
                spaced(grace),
                failed$.pipe(
                  take(1),
                  concatMap(() => spaced(0)),
                ),
              );
        const plan$ = concat(
          firstWait$.pipe(take(1), ignoreElements()),
          range(1, max).pipe(
            concatMap((attempt) =>
              concat(
                defer(() => {
                  restarts = attempt;
                  lastRestart = scheduler.now();
                  return of<RestartStep>({ kind: 'restart', attempt });
                }),
                spaced(interval).pipe(ignoreElements()),
              ),
            ),
          ),
          of<RestartStep>({ kind: 'giveUp' }),
        ).pipe(takeUntil(up$));
        const back$ = up$.pipe(
          take(1),
          filter(() => restarts > 0),
          map((): RestartStep => ({ kind: 'recovered', restarts })),
        );
        return merge(plan$, back$);
      };
      return health$.pipe(
        filter((h) => h !== 'up'),
        exhaustMap((first) => period(first)),
        takeWhile((step) => step.kind !== 'giveUp', true),
      );
    });
}
