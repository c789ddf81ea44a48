import { TestScheduler } from 'rxjs/testing';
import { startedCondition } from '../../src/operators/startedCondition';

describe('startedCondition', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('starts when done arrives before ICE is connected', () => {
    scheduler.run(({ hot, expectObservable }) => {
      const done = hot('---d-------');
      const ice = hot(' -------i---');
      expectObservable(startedCondition(done, ice)).toBe('-------(s|)', { s: undefined });
    });
  });

  it('starts when ICE is connected before done arrives', () => {
    scheduler.run(({ hot, expectObservable }) => {
      const done = hot('-------d---');
      const ice = hot(' --i--------');
      expectObservable(startedCondition(done, ice)).toBe('-------(s|)', { s: undefined });
    });
  });

  it('starts once even when done and ICE repeat, and lets go of both sources', () => {
    scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const done = hot('--d--d--d--');
      const ice = hot(' ----i--i---');
      expectObservable(startedCondition(done, ice)).toBe('----(s|)', { s: undefined });
      expectSubscriptions(done.subscriptions).toBe('^-!');
      expectSubscriptions(ice.subscriptions).toBe('^---!');
    });
  });

  it('never starts on done alone', () => {
    scheduler.run(({ hot, expectObservable }) => {
      expectObservable(startedCondition(hot('--d--'), hot('-----'))).toBe('-----');
    });
  });
});
