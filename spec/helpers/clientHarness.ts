import { firstValueFrom, filter, take, throwError, timeout, type Observable } from 'rxjs';
import { PeerClient } from '../../src/client/PeerClient';
import type { PeerClientConfig } from '../../src/client/types';
import { FakeHub } from './fakeSignaling';
import { FakeNetwork } from './fakePeerConnection';

export interface Harness {
  hub: FakeHub;
  net: FakeNetwork;
  clients: PeerClient[];
  make(config?: Partial<PeerClientConfig>): PeerClient;
  disposeAll(): Promise<void>;
}

export function harness(): Harness {
  const hub = new FakeHub();
  const net = new FakeNetwork();
  const clients: PeerClient[] = [];
  return {
    hub,
    net,
    clients,
    make(config = {}) {
      const client = new PeerClient(
        { url: 'http://fake', ...config },
        { createSocket: () => hub.createSocket(), createPeerConnection: net.factory },
      );
      clients.push(client);
      return client;
    },
    async disposeAll() {
      await Promise.all(clients.map((c) => c.dispose()));
    },
  };
}

/** The next value of a stream, or a clear failure after `ms`. */
export function next<T>(source: Observable<T>, predicate: (value: T) => boolean = () => true, ms = 2000): Promise<T> {
  const origin = new Error('next(): nothing came').stack?.split('\n').slice(2, 4).join(' | ') ?? '';
  const promise = firstValueFrom(
    source.pipe(
      filter(predicate),
      take(1),
      timeout({ first: ms, with: () => throwError(() => new Error(`nothing matching came within ${ms} ms (${origin.trim()})`)) }),
    ),
  );
  // A test that failed before awaiting this must not crash the run with an unhandled rejection.
  promise.catch(() => undefined);
  return promise;
}

/** Collects every value of a stream into an array (unsubscribe with the returned function). */
export function collect<T>(source: Observable<T>): { values: T[]; stop: () => void } {
  const values: T[] = [];
  const sub = source.subscribe((v) => values.push(v));
  return { values, stop: () => sub.unsubscribe() };
}

/** Lets queued microtasks and timers of 0 ms run. */
export const settle = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
