import { EMPTY, catchError, concatMap, from, ignoreElements, defer, type Observable, type ObservableInput } from 'rxjs';

/** A hook as rxpeer runs it: sync, a Promise, or any ObservableInput (specs use cold observables). */
export type HookFn<A extends unknown[]> = (...args: A) => void | ObservableInput<unknown>;

/**
 * Runs `hooks` one after another, in the order given, each awaited before
 * the next; completes when the last is done. A hook that throws, rejects or
 * errors is passed to `onError` and the rest still run.
 *
 * ```text
 * hook 1:  --a|           (async, 2 frames)
 * hook 2:    ---b|        (starts only when hook 1 is done)
 * result:  -----|
 * ```
 *
 * @param hooks the hooks, snapshot at call time
 * @param args the arguments every hook gets
 * @param onError receives each hook's failure and its index
 * @example
 * runHooks(createHooks, [id, true, pc], (e) => errors.next(new HookError('pcCreate', id, e)));
 */
export function runHooks<A extends unknown[]>(
  hooks: readonly HookFn<A>[],
  args: A,
  onError: (error: unknown, index: number) => void,
): Observable<never> {
  const snapshot = [...hooks];
  return from(snapshot.map((hook, index) => ({ hook, index }))).pipe(
    concatMap(({ hook, index }) =>
      defer(() => {
        const result = hook(...args);
        return result === undefined || result === null ? EMPTY : from(result);
      }).pipe(
        ignoreElements(),
        catchError((error: unknown) => {
          onError(error, index);
          return EMPTY;
        }),
      ),
    ),
    ignoreElements(),
  );
}
