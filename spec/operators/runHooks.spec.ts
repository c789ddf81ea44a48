import { TestScheduler } from 'rxjs/testing';
import type { Observable } from 'rxjs';
import { runHooks } from '../../src/operators/runHooks';

describe('runHooks', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('awaits async hooks one after another, in the order added', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const first = cold('--a|');
      const second = cold('---b|');
      const calls: string[] = [];
      const hooks = [
        (id: string): Observable<string> => {
          calls.push(`1:${id}`);
          return first;
        },
        (id: string): Observable<string> => {
          calls.push(`2:${id}`);
          return second;
        },
      ];
      expectObservable(runHooks(hooks, ['p'], () => undefined)).toBe('-------|');
      expectSubscriptions(first.subscriptions).toBe('^--!');
      expectSubscriptions(second.subscriptions).toBe('---^---!');
      scheduler.flush();
      expect(calls).toEqual(['1:p', '2:p']);
    });
  });

  it('reports a hook that throws or errors and runs the rest', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const errors: [unknown, number][] = [];
      const after = cold('-x|');
      const hooks = [
        (): void => {
          throw new Error('sync');
        },
        (): Observable<never> => cold('--#', undefined, new Error('async')),
        (): Observable<string> => after,
      ];
      expectObservable(runHooks(hooks, [], (e, i) => errors.push([e, i]))).toBe('----|');
      scheduler.flush();
      expect(errors.map(([e, i]) => [(e as Error).message, i])).toEqual([
        ['sync', 0],
        ['async', 1],
      ]);
    });
  });

  it('runs the hooks of a snapshot: a hook added meanwhile waits for the next peer', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const hooks: (() => Observable<string>)[] = [];
      const calls: string[] = [];
      hooks.push(() => {
        calls.push('a');
        hooks.push(() => {
          calls.push('late');
          return cold('|');
        });
        return cold('-|');
      });
      expectObservable(runHooks(hooks, [], () => undefined)).toBe('-|');
      scheduler.flush();
      expect(calls).toEqual(['a']);
    });
  });
});
