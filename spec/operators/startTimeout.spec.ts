import { TestScheduler } from 'rxjs/testing';
import { StartTimeoutError } from '../../src/errors';
import { startTimeout } from '../../src/operators/startTimeout';

describe('startTimeout', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('does not fire when the start completes in time', () => {
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('------s|').pipe(startTimeout(10, 'h', scheduler))).toBe('------s|');
    });
  });

  it('fires a StartTimeoutError when nothing comes within the timeout', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-----------------');
      expectObservable(source.pipe(startTimeout(10, 'host-1', scheduler))).toBe(
        '----------#',
        undefined,
        new StartTimeoutError('host-1', 10),
      );
      expectSubscriptions(source.subscriptions).toBe('^---------!');
    });
  });

  it('is cancelled by a stop (unsubscription) before it fires', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-----------------');
      expectObservable(source.pipe(startTimeout(10, 'h', scheduler)), '^----!').toBe('------');
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
  });

  it('carries the host and the timeout in the error', () => {
    const error = new StartTimeoutError('host-1', 15000);
    expect(error.code).toBe('START_TIMEOUT');
    expect(error.message).toContain('host-1');
    expect(error.context).toEqual({ hostId: 'host-1', timeoutMs: 15000 });
  });
});
