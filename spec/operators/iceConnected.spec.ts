import { TestScheduler } from 'rxjs/testing';
import { iceConnected } from '../../src/operators/iceConnected';

const s = { n: 'new', k: 'checking', c: 'connected', C: 'completed', d: 'disconnected', f: 'failed' } as const;

describe('iceConnected', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('emits once when ICE becomes connected', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const states = cold('n--k--c--C', s);
      expectObservable(states.pipe(iceConnected())).toBe('------(x|)', { x: undefined });
      expectSubscriptions(states.subscriptions).toBe('^-----!');
    });
  });

  it('does not take completed before checking as connected (werift)', () => {
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('n--C--k--C', s).pipe(iceConnected())).toBe('---------(x|)', { x: undefined });
    });
  });

  it('never emits when ICE fails', () => {
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('n--k--f--|', s).pipe(iceConnected())).toBe('---------|');
    });
  });
});
