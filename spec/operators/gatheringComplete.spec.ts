import { TestScheduler } from 'rxjs/testing';
import { InvalidArgumentError } from '../../src/errors';
import { gatheringComplete } from '../../src/operators/gatheringComplete';

const states = { n: 'new', g: 'gathering', c: 'complete' } as const;
const outcome = { C: 'complete', T: 'timeout' } as const;

describe('gatheringComplete', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('emits complete when gathering completes before the timeout', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('n--g-----c-', states);
      const sub = '        ^--------!  ';
      expectObservable(source.pipe(gatheringComplete(20, scheduler))).toBe('---------(C|)', outcome);
      expectSubscriptions(source.subscriptions).toBe(sub);
    });
  });

  it('emits complete at once when gathering was already complete (some engines finish before setLocalDescription resolves)', () => {
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('c', states).pipe(gatheringComplete(20, scheduler))).toBe('(C|)', outcome);
    });
  });

  it('sends the SDP at the gathering timeout when gathering never completes', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('n--g-------', states);
      expectObservable(source.pipe(gatheringComplete(10, scheduler))).toBe('----------(T|)', outcome);
      expectSubscriptions(source.subscriptions).toBe('^---------!');
    });
  });

  it('ignores a completion that comes after the timeout', () => {
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('n--g-------------c', states).pipe(gatheringComplete(10, scheduler))).toBe(
        '----------(T|)',
        outcome,
      );
    });
  });

  it('checks its arguments when called', () => {
    expect(() => gatheringComplete(-1)).toThrow(InvalidArgumentError);
    expect(() => gatheringComplete(Number.NaN)).toThrow(InvalidArgumentError);
  });
});
