/**
 * Socket.IO mapped to observables, in one place. Everything that arrives is
 * parsed here, at the edge, into the typed unions of `protocol/wire`.
 */
import { Observable, map } from 'rxjs';
import { AuthFailedError, InvalidMessageError, SignalingConnectError, isAuthRefusal } from '../errors.js';
import {
  parseRelayedMessage,
  parseUserDisconnected,
  type ClientToServerEvents,
  type OutgoingMessage,
  type ParseResult,
} from '../protocol/wire.js';

type Listener = (...args: unknown[]) => void;

/**
 * The part of a socket.io-client `Socket` rxpeer uses. A real socket fits;
 * specs pass a fake.
 */
export interface SignalingSocket {
  readonly id: string | undefined;
  readonly connected: boolean;
  on(event: string, listener: Listener): unknown;
  off(event: string, listener: Listener): unknown;
  emit<E extends keyof ClientToServerEvents>(event: E, ...args: Parameters<ClientToServerEvents[E]>): unknown;
  connect(): unknown;
  disconnect(): unknown;
}

/** Every emission of one socket event, as the array of its arguments. */
export function socketEvent$(socket: SignalingSocket, event: string): Observable<unknown[]> {
  return new Observable<unknown[]>((subscriber) => {
    const listener: Listener = (...args) => subscriber.next(args);
    socket.on(event, listener);
    return () => {
      socket.off(event, listener);
    };
  });
}

/** Relayed `message`s, parsed. Invalid and unknown ones are results too, so nothing from the wire can throw. */
export function messages$(socket: SignalingSocket): Observable<ParseResult> {
  return socketEvent$(socket, 'message').pipe(map((args) => parseRelayedMessage(args[0])));
}

/** Ids from `user disconnected`; a malformed payload becomes an {@link InvalidMessageError}. */
export function userDisconnected$(socket: SignalingSocket): Observable<string | InvalidMessageError> {
  return socketEvent$(socket, 'user disconnected').pipe(
    map((args) => parseUserDisconnected(args[0]) ?? new InvalidMessageError('malformed "user disconnected"', args[0])),
  );
}

/** Reasons given by `disconnect`. */
export function disconnect$(socket: SignalingSocket): Observable<string> {
  return socketEvent$(socket, 'disconnect').pipe(map((args) => (typeof args[0] === 'string' ? args[0] : 'unknown')));
}

/**
 * Connects the socket and emits once it is connected (at once when it
 * already is). The first `connect_error` errors with a
 * {@link SignalingConnectError}.
 */
export function connected$(socket: SignalingSocket, url: string): Observable<void> {
  return new Observable<void>((subscriber) => {
    if (socket.connected) {
      subscriber.next();
      subscriber.complete();
      return undefined;
    }
    const onConnect: Listener = () => {
      subscriber.next();
      subscriber.complete();
    };
    const onError: Listener = (error) => {
      const reason = error instanceof Error ? error.message : String(error);
      subscriber.error(
        isAuthRefusal(error) ? new AuthFailedError(url, reason, error) : new SignalingConnectError(url, reason, error),
      );
    };
    socket.on('connect', onConnect);
    socket.on('connect_error', onError);
    socket.connect();
    return () => {
      socket.off('connect', onConnect);
      socket.off('connect_error', onError);
    };
  });
}

/**
 * Emits the acknowledgement of one request, then completes. The request is
 * sent on subscription; an ack that arrives after unsubscription is dropped.
 * Bound it with `ackTimeout`.
 */
export function request$<E extends 'create host' | 'list hosts'>(
  socket: SignalingSocket,
  event: E,
  ...args: E extends 'create host' ? [name: string] : []
): Observable<unknown> {
  return new Observable<unknown>((subscriber) => {
    let live = true;
    const ack = (response: unknown): void => {
      if (!live) return;
      subscriber.next(response);
      subscriber.complete();
    };
    if (event === 'create host') {
      socket.emit('create host', args[0] as string, ack);
    } else {
      socket.emit('list hosts', ack);
    }
    return () => {
      live = false;
    };
  });
}

/**
 * Sends one `message` with an ack function and emits the server's
 * acknowledgement, then completes. rxpeer's server acknowledges a message
 * once it is relayed (or dropped, with the reason); a server that does not
 * acknowledge messages never answers, so bound the wait (`timeout`).
 */
export function sendAcked$(socket: SignalingSocket, message: OutgoingMessage): Observable<unknown> {
  return new Observable<unknown>((subscriber) => {
    let live = true;
    socket.emit('message', message, (response: unknown) => {
      if (!live) return;
      subscriber.next(response);
      subscriber.complete();
    });
    return () => {
      live = false;
    };
  });
}
