/**
 * ICE servers handed out by the signaling server (TURN credentials with a
 * lifetime; docs/operations.md "TURN credentials"). The server sends them in
 * an `ice servers` event when the socket connects; this module parses them,
 * renews them with an `ice servers` request before they expire, and merges
 * the current ones into a peer connection's configuration.
 *
 * Wiring in the composition root (PeerClient): subscribe to
 * {@link serverIceServers$} for the link's socket, keep the latest value, and
 * create each peer connection with
 * `withServerIceServers(pcConfig, latest, scheduler.now())`.
 */

import {
  EMPTY,
  Observable,
  asyncScheduler,
  catchError,
  expand,
  filter,
  map,
  of,
  switchMap,
  take,
  timeout,
  timer,
  type SchedulerLike,
} from 'rxjs';
import { socketEvent$, type SignalingSocket } from '../streams/signaling.js';

/** The server's event, and the renewal request's name. */
export const ICE_SERVERS_EVENT = 'ice servers';

/** ICE servers from the signaling server, valid until `expiresAt` (ms since the epoch). */
export interface ServerIceServers {
  iceServers: RTCIceServer[];
  expiresAt: number;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isUrls = (value: unknown): value is string | string[] =>
  typeof value === 'string' ||
  (Array.isArray(value) && value.every((url) => typeof url === 'string'));

/** The payload of an `ice servers` event or renewal answer; `undefined` when it is not one. */
export function parseServerIceServers(value: unknown): ServerIceServers | undefined {
  if (!isRecord(value) || !Array.isArray(value.iceServers)) return undefined;
  if (typeof value.expiresAt !== 'number' || !Number.isFinite(value.expiresAt)) return undefined;
  const iceServers: RTCIceServer[] = [];
  for (const entry of value.iceServers as unknown[]) {
    if (!isRecord(entry) || !isUrls(entry.urls)) return undefined;
    if (entry.username !== undefined && typeof entry.username !== 'string') return undefined;
    if (entry.credential !== undefined && typeof entry.credential !== 'string') return undefined;
    iceServers.push({
      urls: entry.urls,
      ...(entry.username === undefined ? {} : { username: entry.username }),
      ...(entry.credential === undefined ? {} : { credential: entry.credential }),
    });
  }
  return { iceServers, expiresAt: value.expiresAt };
}

/**
 * `pcConfig` with the server's ICE servers appended to its own, while they
 * are valid at `now`; `pcConfig` unchanged otherwise (none yet, expired).
 */
export function withServerIceServers(
  pcConfig: RTCConfiguration,
  server: ServerIceServers | undefined,
  now: number,
): RTCConfiguration {
  if (server === undefined || now >= server.expiresAt || server.iceServers.length === 0)
    return pcConfig;
  return { ...pcConfig, iceServers: [...(pcConfig.iceServers ?? []), ...server.iceServers] };
}

export interface ServerIceServersOptions {
  /**
   * Renew this long before expiry (ms). Default: a tenth of the lifetime
   * left when the credentials arrived, at least 30 s.
   */
  renewBeforeMs?: number;
  /** Give up on one renewal request after this (ms); the next push starts again. Default 10 000. */
  requestTimeoutMs?: number;
  scheduler?: SchedulerLike;
}

/** One renewal request: the answer parsed, or nothing. */
function renew$(
  socket: SignalingSocket,
  timeoutMs: number,
  scheduler: SchedulerLike,
): Observable<ServerIceServers> {
  return new Observable<unknown>((subscriber) => {
    let live = true;
    // Outside the typed event map: Extreal-compatible servers never answer it.
    const untyped = socket as unknown as { emit(event: string, ...args: unknown[]): unknown };
    untyped.emit(ICE_SERVERS_EVENT, (answer: unknown) => {
      if (!live) return;
      subscriber.next(answer);
      subscriber.complete();
    });
    return () => {
      live = false;
    };
  }).pipe(
    timeout({ first: timeoutMs, scheduler }),
    map(parseServerIceServers),
    filter((grant): grant is ServerIceServers => grant !== undefined),
    take(1),
    catchError(() => EMPTY),
  );
}

/**
 * The signaling server's ICE servers for this socket: each `ice servers`
 * push, then each renewal, made before the current ones expire. A new push
 * (a reconnect) restarts the renewals. Never errors; a failed renewal waits
 * for the next push.
 */
export function serverIceServers$(
  socket: SignalingSocket,
  options: ServerIceServersOptions = {},
): Observable<ServerIceServers> {
  const scheduler = options.scheduler ?? asyncScheduler;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const renewAfter = (grant: ServerIceServers): number => {
    const left = grant.expiresAt - scheduler.now();
    const before = options.renewBeforeMs ?? Math.max(30_000, left / 10);
    return Math.max(0, left - before);
  };
  return socketEvent$(socket, ICE_SERVERS_EVENT).pipe(
    map((args) => parseServerIceServers(args[0])),
    filter((grant): grant is ServerIceServers => grant !== undefined),
    switchMap((pushed) =>
      of(pushed).pipe(
        expand((grant) =>
          timer(renewAfter(grant), scheduler).pipe(
            switchMap(() => renew$(socket, requestTimeoutMs, scheduler)),
          ),
        ),
      ),
    ),
  );
}
