import { TestScheduler } from 'rxjs/testing';
import { AckTimeoutError } from '../../src/errors';
import { ackTimeout } from '../../src/operators/ackTimeout';

describe('ackTimeout', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('passes an ack that comes in time', () => {
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('---a|').pipe(ackTimeout(10, 'list hosts', scheduler))).toBe('---a|');
    });
  });

  it('errors with an AckTimeoutError naming the request when no ack comes', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const ack = cold('-------------');
      expectObservable(ack.pipe(ackTimeout(10, 'list hosts', scheduler))).toBe(
        '----------#',
        undefined,
        new AckTimeoutError('list hosts', 10),
      );
      expectSubscriptions(ack.subscriptions).toBe('^---------!');
    });
  });
});
