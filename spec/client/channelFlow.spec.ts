/**
 * Backpressure in virtual time: a sender pauses above the high-water mark and
 * resumes at the low-water mark, by polling when the engine never fires
 * `bufferedamountlow`, and memory never holds more than the marks plus a frame.
 */
import { TestScheduler } from 'rxjs/testing';
import { drained$, sendFrames$, type FlowChannel } from '../../src/client/channelFlow';

/** A channel that drains `rate` bytes per ms of virtual time, and never fires bufferedamountlow. */
class DrainingChannel {
  bufferedAmountLowThreshold = 0;
  readonly sent: number[] = [];
  readonly sentAt: number[] = [];
  maxBuffered = 0;
  private queued = 0;
  private at = 0;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly scheduler: TestScheduler,
    private readonly rate: number,
    private readonly firesLow = false,
  ) {}

  get bufferedAmount(): number {
    this.drain();
    return this.queued;
  }

  private drain(): void {
    const now = this.scheduler.now();
    const before = this.queued;
    this.queued = Math.max(0, this.queued - (now - this.at) * this.rate);
    this.at = now;
    if (
      this.firesLow &&
      before > this.bufferedAmountLowThreshold &&
      this.queued <= this.bufferedAmountLowThreshold
    ) {
      for (const l of this.listeners) l();
    }
  }

  send(data: string | ArrayBufferView): void {
    this.drain();
    const size = typeof data === 'string' ? data.length : data.byteLength;
    this.queued += size;
    this.maxBuffered = Math.max(this.maxBuffered, this.queued);
    this.sent.push(size);
    this.sentAt.push(this.scheduler.now());
  }

  addEventListener(type: string, listener: () => void): void {
    if (type === 'bufferedamountlow') this.listeners.add(listener);
  }

  removeEventListener(type: string, listener: () => void): void {
    if (type === 'bufferedamountlow') this.listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}

/** The fake as the engine's channel type (it has every member flow control reads). */
const flowOf = (channel: DrainingChannel): FlowChannel => channel as unknown as FlowChannel;

const frame = (n: number): Uint8Array => new Uint8Array(n);

describe('data channel backpressure (virtual time)', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
  });

  it('drained$ emits at once when the channel is already at or below the low-water mark', () => {
    scheduler.run(({ expectObservable }) => {
      const channel = new DrainingChannel(scheduler, 1);
      expectObservable(drained$(flowOf(channel), 100, 2, scheduler)).toBe('(x|)', { x: undefined });
    });
  });

  it('drained$ finds the low-water mark by polling when bufferedamountlow never fires', () => {
    scheduler.run(({ expectObservable }) => {
      const channel = new DrainingChannel(scheduler, 10); // 10 bytes per ms
      channel.send(frame(1000));
      // 1000 → 100 takes 90 ms; polled every 4 ms, the first poll at or after 90 ms is at 92 ms.
      expectObservable(drained$(flowOf(channel), 100, 4, scheduler)).toBe('92ms (x|)', {
        x: undefined,
      });
    });
  });

  it('drained$ goes on at the bufferedamountlow event where the engine fires it', () => {
    scheduler.run(({ expectObservable }) => {
      const channel = new DrainingChannel(scheduler, 10, true);
      channel.send(frame(1000));
      // Something reads bufferedAmount at 90 ms (as the engine would notice), firing the event between polls of 50 ms.
      scheduler.schedule(() => void channel.bufferedAmount, 90);
      expectObservable(drained$(flowOf(channel), 100, 50, scheduler)).toBe('90ms (x|)', {
        x: undefined,
      });
    });
  });

  it('sendFrames$ sends while under the high-water mark, waits above it, resumes at the low-water mark', () => {
    scheduler.run(({ flush }) => {
      const channel = new DrainingChannel(scheduler, 10); // 10 bytes per ms
      const flow = { highWaterMark: 300, lowWaterMark: 100, pollInterval: 1 };
      const frames = Array.from({ length: 10 }, () => frame(100));
      let doneAt = -1;
      sendFrames$(flowOf(channel), frames, flow, scheduler).subscribe({
        complete: () => (doneAt = scheduler.now()),
      });
      flush();
      expect(doneAt).toBe(60);
      // Four frames at once (300 is not above the mark), then a pause until the queue is down to 100.
      expect(channel.sentAt.slice(0, 4)).toEqual([0, 0, 0, 0]);
      expect(channel.sentAt[4]).toBeGreaterThanOrEqual(30);
      expect(channel.maxBuffered).toBeLessThanOrEqual(flow.highWaterMark + 100);
      expect(channel.sent).toHaveLength(10);
      expect(channel.listenerCount).toBe(0);
    });
  });

  it('a transfer of many frames never holds more than the high-water mark plus one frame in the channel', () => {
    scheduler.run(({ flush }) => {
      const channel = new DrainingChannel(scheduler, 64 * 1024); // 64 MB/s
      const flow = { highWaterMark: 1024 * 1024, lowWaterMark: 256 * 1024, pollInterval: 2 };
      let made = 0;
      function* lazy(): Generator<Uint8Array> {
        for (let i = 0; i < 800; i += 1) {
          made += 1;
          yield frame(64 * 1024); // 50 MiB in all
        }
      }
      let done = false;
      sendFrames$(flowOf(channel), lazy(), flow, scheduler).subscribe(() => (done = true));
      // Early on, only the frames that fit under the mark have been made.
      scheduler.schedule(() => expect(made).toBeLessThanOrEqual(18), 1);
      flush();
      expect(done).toBe(true);
      expect(channel.sent).toHaveLength(800);
      expect(channel.maxBuffered).toBeLessThanOrEqual(flow.highWaterMark + 64 * 1024);
    });
  });

  it('unsubscribing stops between frames and removes its listeners', () => {
    scheduler.run(({ flush }) => {
      const channel = new DrainingChannel(scheduler, 1);
      const flow = { highWaterMark: 100, lowWaterMark: 0, pollInterval: 5 };
      const subscription = sendFrames$(
        flowOf(channel),
        [frame(200), frame(200), frame(200)],
        flow,
        scheduler,
      ).subscribe();
      scheduler.schedule(() => subscription.unsubscribe(), 10);
      flush();
      expect(channel.sent).toEqual([200]);
      expect(channel.listenerCount).toBe(0);
    });
  });

  it('errors when the channel refuses a frame (it closed)', () => {
    scheduler.run(({ expectObservable }) => {
      const channel = new DrainingChannel(scheduler, 1);
      channel.send = () => {
        throw new Error('closed');
      };
      expectObservable(
        sendFrames$(
          flowOf(channel),
          [frame(1)],
          { highWaterMark: 10, lowWaterMark: 0, pollInterval: 1 },
          scheduler,
        ),
      ).toBe('#', undefined, new Error('closed'));
    });
  });
});
