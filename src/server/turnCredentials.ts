/**
 * TURN credentials minted by the signaling server (docs/operations.md
 * "TURN credentials"), in the form coturn's `use-auth-secret` (the "TURN REST
 * API" scheme) accepts: username `<expiry>:<identity>`, where expiry is in
 * seconds since the epoch, and credential the base64 HMAC-SHA1 of the
 * username keyed with the secret shared with the TURN server.
 *
 * Each connecting socket is sent its ICE servers in an `ice servers` event;
 * rxpeer clients renew them with an `ice servers` request (acknowledged with
 * the same payload) before they expire. Extreal clients ignore the event and
 * never send the request.
 */

import { createHmac } from 'node:crypto';
import type { Server, Socket } from 'socket.io';
import { InvalidConfigError } from '../errors.js';
import { TokenBucket, systemClock, type Clock } from './rateLimit.js';

export interface TurnOptions {
  /** The secret shared with the TURN server (coturn `static-auth-secret`). */
  secret: string;
  /** TURN URLs handed to clients, e.g. `turn:turn.example.com:3478?transport=udp`. */
  urls: readonly string[];
  /** Lifetime of each credential, seconds. Default 86 400 (24 h). */
  ttl?: number;
}

/** The `ice servers` event's payload (and the renewal request's answer). */
export interface IceServersGrant {
  iceServers: { urls: string[]; username: string; credential: string }[];
  /** When the credentials stop working, milliseconds since the epoch. */
  expiresAt: number;
  /** Their lifetime, seconds. */
  ttl: number;
}

export const TURN_EVENT = 'ice servers';
export const DEFAULT_TURN_TTL = 86_400;
/** Renewal requests allowed per socket: a burst of 2, one per 10 s. */
const RENEW_BURST = 2;
const RENEW_RATE = 0.1;

/** One credential: coturn's `use-auth-secret` form. */
export function mintTurnCredential(
  secret: string,
  identity: string,
  expiresAtSeconds: number,
): { username: string; credential: string } {
  // The TURN server splits the username at the first ':'; keep the identity free of it.
  const username = `${Math.floor(expiresAtSeconds)}:${identity.replace(/:/g, '_')}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential };
}

/** Checks the options; throws `InvalidConfigError` for unusable ones. */
export function resolveTurn(options: TurnOptions): Required<TurnOptions> {
  if (typeof options.secret !== 'string' || options.secret === '')
    throw new InvalidConfigError('turn.secret', 'must be a non-empty string');
  const urls: unknown = options.urls;
  if (
    !Array.isArray(urls) ||
    urls.length === 0 ||
    !urls.every((url) => typeof url === 'string' && /^turns?:/.test(url))
  )
    throw new InvalidConfigError('turn.urls', 'must list turn: or turns: URLs', urls);
  const ttl = options.ttl ?? DEFAULT_TURN_TTL;
  if (!Number.isFinite(ttl) || ttl < 60)
    throw new InvalidConfigError('turn.ttl', 'must be at least 60 seconds', ttl);
  return { secret: options.secret, urls: [...(urls as string[])], ttl };
}

export class TurnIssuer {
  private readonly options: Required<TurnOptions>;

  constructor(
    options: TurnOptions,
    /** Milliseconds since the epoch. */
    private readonly now: () => number = Date.now,
  ) {
    this.options = resolveTurn(options);
  }

  /** Fresh ICE servers for `identity` (the token's `sub`, else the socket id). */
  grant(identity: string): IceServersGrant {
    const { secret, urls, ttl } = this.options;
    const expiresAt = Math.floor(this.now() / 1000) + ttl;
    const { username, credential } = mintTurnCredential(secret, identity, expiresAt);
    return {
      iceServers: [{ urls: [...urls], username, credential }],
      expiresAt: expiresAt * 1000,
      ttl,
    };
  }

  /**
   * Sends every new socket its ICE servers and answers its renewal
   * requests. `identityOf` names the holder (default: the socket id).
   */
  attach(
    io: Server,
    identityOf: (socket: Socket) => string | undefined = () => undefined,
    clock: Clock = systemClock,
  ): void {
    io.on('connection', (socket: Socket) => {
      const identity = (): string => identityOf(socket) ?? socket.id;
      const renewals = new TokenBucket(RENEW_BURST, RENEW_RATE, clock);
      socket.emit(TURN_EVENT, this.grant(identity()));
      socket.on(TURN_EVENT, (...args: unknown[]) => {
        const ack = args[args.length - 1];
        if (typeof ack !== 'function') return;
        if (!renewals.take()) {
          (ack as (r: unknown) => void)({ status: 429, message: 'Too many renewals; slow down.' });
          return;
        }
        (ack as (r: unknown) => void)({ status: 200, ...this.grant(identity()) });
      });
    });
  }
}
