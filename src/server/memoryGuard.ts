/**
 * The global memory guard: while the V8 heap is fuller than `maxHeapRatio` of
 * its limit, the server takes no new work (handshakes and HTTP requests get
 * 503, `/healthz` says `ok: false`), so the clients already connected keep a
 * working server instead of all losing it to an out-of-memory abort.
 *
 * The heap is read lazily, at most once per `sampleMs`, when a decision needs
 * it: no timer, and a flood of handshakes costs one reading per interval.
 */

import { getHeapStatistics } from 'node:v8';
import { systemClock, type Clock } from './rateLimit.js';

export interface HeapReading {
  /** Bytes of the V8 heap in use. */
  used: number;
  /** V8's heap size limit, in bytes. */
  limit: number;
}

/** Reads the heap; specs inject a fake one. */
export type HeapProbe = () => HeapReading;

/** The process's own V8 heap. */
export const v8Heap: HeapProbe = () => {
  const stats = getHeapStatistics();
  return { used: stats.used_heap_size, limit: stats.heap_size_limit };
};

/** What `/healthz` reports about memory. */
export interface MemoryStatus {
  heapUsed: number;
  heapLimit: number;
  /** `true` while new work is refused. */
  overloaded: boolean;
}

export class MemoryGuard {
  private reading: HeapReading = { used: 0, limit: Infinity };
  private readAt = -Infinity;

  constructor(
    private readonly maxHeapRatio: number,
    private readonly probe: HeapProbe,
    private readonly sampleMs = 250,
    private readonly clock: Clock = systemClock,
  ) {}

  /** `true` while the heap is above the threshold: refuse new work. */
  overloaded(): boolean {
    const { used, limit } = this.sample();
    return this.maxHeapRatio < 1 && used > limit * this.maxHeapRatio;
  }

  status(): MemoryStatus {
    const overloaded = this.overloaded();
    return { heapUsed: this.reading.used, heapLimit: this.reading.limit, overloaded };
  }

  private sample(): HeapReading {
    const now = this.clock();
    if (now - this.readAt >= this.sampleMs) {
      this.reading = this.probe();
      this.readAt = now;
    }
    return this.reading;
  }
}
