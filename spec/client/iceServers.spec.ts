/**
 * The server's ICE servers on the client (issue 18): parsing, merging into
 * pcConfig, and renewal before expiry, in virtual time on a fake socket.
 */
import { TestScheduler } from 'rxjs/testing';
import {
  parseServerIceServers,
  serverIceServers$,
  withServerIceServers,
  type ServerIceServers,
} from '../../src/client/iceServers';
import type { SignalingSocket } from '../../src/streams/signaling';

type Listener = (...args: unknown[]) => void;

/** A socket whose `ice servers` requests are answered by `answer` (or never, when it returns undefined). */
function fakeSocket(
  answer: (n: number) => unknown,
): SignalingSocket & { push(payload: unknown): void; requests: number } {
  const listeners = new Map<string, Set<Listener>>();
  const socket = {
    id: 'me',
    connected: true,
    requests: 0,
    on(event: string, listener: Listener) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event)!.add(listener);
      return socket;
    },
    off(event: string, listener: Listener) {
      listeners.get(event)?.delete(listener);
      return socket;
    },
    emit(event: string, ...args: unknown[]) {
      if (event !== 'ice servers') return socket;
      socket.requests += 1;
      const reply = answer(socket.requests);
      const ack = args[args.length - 1] as Listener;
      if (reply !== undefined) ack(reply);
      return socket;
    },
    connect: () => socket,
    disconnect: () => socket,
    push(payload: unknown) {
      for (const l of listeners.get('ice servers') ?? []) l(payload);
    },
  };
  return socket as unknown as SignalingSocket & { push(payload: unknown): void; requests: number };
}

const grant = (expiresAt: number, user = 'u'): ServerIceServers => ({
  iceServers: [{ urls: ['turn:127.0.0.1:3478'], username: user, credential: 'c' }],
  expiresAt,
});

describe('server ICE servers (client side)', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('parses the payload and rejects anything else', () => {
    expect(parseServerIceServers({ ...grant(5), status: 200, ttl: 60 })).toEqual(grant(5));
    expect(parseServerIceServers({ iceServers: [{ urls: 3 }], expiresAt: 1 })).toBeUndefined();
    expect(parseServerIceServers({ iceServers: [], expiresAt: 'soon' })).toBeUndefined();
    expect(parseServerIceServers(null)).toBeUndefined();
  });

  it("appends the server's ICE servers to the app's while they are valid", () => {
    const own: RTCConfiguration = {
      iceServers: [{ urls: 'stun:127.0.0.1:9' }],
      iceTransportPolicy: 'relay',
    };
    expect(withServerIceServers(own, grant(1000), 999)).toEqual({
      iceTransportPolicy: 'relay',
      iceServers: [{ urls: 'stun:127.0.0.1:9' }, ...grant(1000).iceServers],
    });
    expect(withServerIceServers(own, grant(1000), 1000)).toBe(own);
    expect(withServerIceServers(own, undefined, 0)).toBe(own);
  });

  it('renews before expiry, again and again; a new push restarts the renewals', () => {
    scheduler.run(({ cold, expectObservable }) => {
      // Lifetime 1000 ms from each answer; renew 100 ms before expiry.
      const socket = fakeSocket((n) => grant(scheduler.now() + 1000, `renewed ${n}`));
      // Pushes from frame 1, once the stream below is subscribed.
      cold('-a 1999ms b').subscribe((v) =>
        socket.push(grant(scheduler.now() + 1000, v === 'a' ? 'pushed' : 'pushed again')),
      );
      const out = serverIceServers$(socket, { renewBeforeMs: 100, scheduler });
      expectObservable(out, '^ 3000ms !').toBe('-a 899ms b 899ms c 199ms d 899ms e', {
        a: grant(1001, 'pushed'),
        b: grant(1901, 'renewed 1'),
        c: grant(2801, 'renewed 2'),
        d: grant(3001, 'pushed again'),
        e: grant(3901, 'renewed 3'),
      });
    });
  });

  it('a renewal that is never answered ends the renewals quietly until the next push', () => {
    const socket = fakeSocket(() => undefined);
    scheduler.run(({ cold, expectObservable }) => {
      cold('-a').subscribe(() => socket.push(grant(1000)));
      expectObservable(
        serverIceServers$(socket, { renewBeforeMs: 100, requestTimeoutMs: 50, scheduler }),
        '^ 5000ms !',
      ).toBe('-a', { a: grant(1000) });
    });
    expect(socket.requests).toBe(1);
  });
});
