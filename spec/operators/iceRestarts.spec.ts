import { TestScheduler } from 'rxjs/testing';
import { InvalidArgumentError } from '../../src/errors';
import { iceRestarts, type LinkHealth, type RestartStep } from '../../src/operators/iceRestarts';

const h: Record<string, LinkHealth> = { u: 'up', d: 'down', f: 'failed' };
const steps: Record<string, RestartStep> = {
  '1': { kind: 'restart', attempt: 1 },
  '2': { kind: 'restart', attempt: 2 },
  '3': { kind: 'restart', attempt: 3 },
  r: { kind: 'recovered', restarts: 1 },
  R: { kind: 'recovered', restarts: 2 },
  T: { kind: 'recovered', restarts: 3 },
  g: { kind: 'giveUp' },
};

describe('iceRestarts', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });
  const options = { grace: 2, interval: 5, max: 2 };

  it('restarts after the grace, then every interval, and gives up after max restarts', () => {
    scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const health = hot('u--d--------------------', h);
      expectObservable(health.pipe(iceRestarts(options, scheduler))).toBe(
        '-----1----2----(g|)',
        steps,
      );
      expectSubscriptions(health.subscriptions).toBe('^--------------!');
    });
  });

  it('does nothing when the link is back within the grace', () => {
    scheduler.run(({ hot, expectObservable }) => {
      expectObservable(hot('u--d-u------------', h).pipe(iceRestarts(options, scheduler))).toBe(
        '------------------',
        steps,
      );
    });
  });

  it('reports the link recovered after one restart, and starts over on the next trouble', () => {
    scheduler.run(({ hot, expectObservable }) => {
      expectObservable(
        hot('u--d----u---d---------------', h).pipe(iceRestarts(options, scheduler)),
      ).toBe('-----1--r-----1----2----(g|)', steps);
    });
  });

  it('restarts at once when ICE fails, also in the middle of the grace', () => {
    scheduler.run(({ hot, expectObservable }) => {
      expectObservable(
        hot('u-f-----u', h).pipe(iceRestarts({ grace: 2, interval: 10, max: 2 }, scheduler)),
      ).toBe('--1-----r', steps);
      expectObservable(
        hot('u-d-f---u', h).pipe(iceRestarts({ grace: 3, interval: 10, max: 2 }, scheduler)),
      ).toBe('----1---r', steps);
    });
  });

  it('never restarts more often than once per interval, even on a link that flaps', () => {
    scheduler.run(({ hot, expectObservable }) => {
      // failed → restart; up; failed again right away: the next restart waits for the interval.
      expectObservable(hot('f-u-f-u-f-----u', h).pipe(iceRestarts(options, scheduler))).toBe(
        '1-r--1r---1---r',
        steps,
      );
    });
  });

  it('ignores further trouble while restarting (down, failed, down do not add restarts)', () => {
    scheduler.run(({ hot, expectObservable }) => {
      expectObservable(
        hot('u-d-f-d-f-d-f-u', h).pipe(iceRestarts({ grace: 1, interval: 5, max: 3 }, scheduler)),
      ).toBe('---1----2----3T', steps);
    });
  });

  it('gives up at once after the first wait when max is 0', () => {
    scheduler.run(({ hot, expectObservable }) => {
      expectObservable(
        hot('u-f-', h).pipe(iceRestarts({ grace: 2, interval: 5, max: 0 }, scheduler)),
      ).toBe('--(g|)', steps);
    });
  });

  it('checks its arguments when called', () => {
    expect(() => iceRestarts({ grace: -1, interval: 5, max: 1 })).toThrow(InvalidArgumentError);
    expect(() => iceRestarts({ grace: 1, interval: 0, max: 1 })).toThrow(InvalidArgumentError);
    expect(() => iceRestarts({ grace: 1, interval: 5, max: 1.5 })).toThrow(InvalidArgumentError);
  });
});
