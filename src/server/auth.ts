/**
 * Admission by token (docs/operations.md "Tokens").
 *
 * A client presents a token in the Socket.IO handshake, as `auth.token`, or
 * as a `token` query parameter for clients that cannot set `auth` (Extreal's
 * C# and WebGL clients). The server verifies it once at connect (a
 * Socket.IO middleware: refused sockets never reach the handler) and keeps
 * the holder's grants for the life of the socket; every `create host` and
 * `join` is then checked against them, expiry included.
 *
 * Grants live in a claim named `rxpeer`: `host` lists the host names the
 * holder may create and `join` the host names it may join, `"*"` meaning
 * any. A token without the claim may do both. Verification is jose's.
 */

import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Socket } from 'socket.io';
import { InvalidConfigError } from '../errors.js';

/** What the handshake carries, as a `verify` function sees it. */
export type Handshake = Socket['handshake'];

/** The claims rxpeer reads from a verified token (or from a `verify` function). */
export interface TokenClaims {
  /** The holder. */
  sub?: string;
  /** Expiry, seconds since the epoch. */
  exp?: number;
  /** Grants; absent: the holder may create and join any host. */
  rxpeer?: { host?: readonly string[] | string; join?: readonly string[] | string };
}

export type AuthOptions = AuthVerification & {
  /** Epoch milliseconds for every expiry check (default `Date.now`); specs inject a fake clock. */
  now?: () => number;
};

export type AuthVerification =
  /** HMAC (HS256/384/512) with a shared secret. */
  | { jwtSecret: string | Uint8Array; algorithms?: readonly string[] }
  /** An asymmetric key (RS*, PS*, ES*, EdDSA): a PEM public key or a `KeyObject`. */
  | { publicKey: string | KeyObject; algorithms: readonly string[] }
  /**
   * Anything else: resolve with the holder's claims, or throw / resolve
   * `null` to refuse the connection (the thrown message goes to the client).
   */
  | { verify(handshake: Handshake): TokenClaims | null | Promise<TokenClaims | null> };

/** A refused connection: Socket.IO sends `message` and `data` to the client's `connect_error`. */
export class AuthError extends Error {
  readonly data = { code: 'AUTH_FAILED' as const };

  constructor(reason: string) {
    super(`AUTH_FAILED: ${reason}`);
    this.name = 'AuthError';
  }
}

/** Whether an action is allowed; when not, why (sent to the client). */
export type Verdict = { ok: true } | { ok: false; message: string };

/**
 * The checks the per-connection handler makes. Without `auth` the server
 * uses {@link OPEN_POLICY}.
 */
export interface Policy {
  /** May this socket create the host `name` (normalised) now? */
  canHost(socket: Socket, name: string): Verdict;
  /** May this socket join the group of host `hostId` now? */
  canJoin(socket: Socket, hostId: string): Promise<Verdict>;
}

const ALLOWED: Verdict = { ok: true };

/** Every socket may create and join: the server without `auth`. */
export const OPEN_POLICY: Policy = {
  canHost: () => ALLOWED,
  canJoin: () => Promise.resolve(ALLOWED),
};

/** The grants kept per socket. `undefined` list: any name. */
interface Grant {
  subject: string | undefined;
  /** Milliseconds since the epoch; `undefined`: never. */
  expiresAt: number | undefined;
  host: ReadonlySet<string> | undefined;
  join: ReadonlySet<string> | undefined;
}

const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'];

/** A grant list: `"*"` (or a list holding it) is any name; a missing list too. */
function grantList(value: unknown, what: string): ReadonlySet<string> | undefined {
  if (value === undefined || value === '*') return undefined;
  if (typeof value === 'string') return new Set([value.normalize('NFC')]);
  if (!Array.isArray(value) || !value.every((entry) => typeof entry === 'string'))
    throw new AuthError(`the "rxpeer.${what}" claim must be "*" or a list of host names`);
  if (value.includes('*')) return undefined;
  return new Set(value.map((entry) => entry.normalize('NFC')));
}

/** @internal Claims to the grant kept for the socket; throws {@link AuthError} when unusable. */
export function toGrant(claims: TokenClaims | JWTPayload): Grant {
  const raw = (claims as { rxpeer?: unknown }).rxpeer;
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw)))
    throw new AuthError('the "rxpeer" claim must be an object');
  const grants = (raw ?? {}) as { host?: unknown; join?: unknown };
  const { exp, sub } = claims;
  if (exp !== undefined && (typeof exp !== 'number' || !Number.isFinite(exp)))
    throw new AuthError('the "exp" claim must be a number');
  return {
    subject: typeof sub === 'string' ? sub : undefined,
    expiresAt: exp === undefined ? undefined : exp * 1000,
    host: grantList(grants.host, 'host'),
    join: grantList(grants.join, 'join'),
  };
}

/** The token of a handshake: `auth.token`, else the `token` query parameter. */
export function handshakeToken(handshake: Handshake): string | undefined {
  const auth = handshake.auth as Record<string, unknown> | undefined;
  const fromAuth = auth?.token;
  if (typeof fromAuth === 'string' && fromAuth !== '') return fromAuth;
  const fromQuery = (handshake.query as Record<string, unknown> | undefined)?.token;
  if (typeof fromQuery === 'string' && fromQuery !== '') return fromQuery;
  return undefined;
}

function describeJoseError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'the token has expired';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed)
    return 'the token signature does not verify';
  if (error instanceof joseErrors.JOSEAlgNotAllowed)
    return 'the token is signed with an algorithm this server does not accept';
  if (error instanceof joseErrors.JWTClaimValidationFailed)
    return `the token's "${error.claim}" claim is not valid`;
  if (error instanceof joseErrors.JOSEError) return 'the token is malformed';
  return 'the token could not be verified';
}

export interface Authenticator {
  /** Socket.IO middleware: `io.use(authenticator.middleware)`. */
  readonly middleware: (socket: Socket, next: (error?: Error) => void) => void;
  readonly policy: Policy;
  /** The verified holder of a socket (`sub`), for logs. */
  subjectOf(socket: Socket): string | undefined;
}

export interface AuthenticatorDeps {
  /** The host name of a host socket id (the state's `hostNameOf`). */
  hostNameOf(socketId: string): Promise<string | undefined>;
  /** Milliseconds since the epoch. */
  now: () => number;
  /** Told of every refused connection. */
  onRefused?(reason: string): void;
}

/** Checks `options` and builds the middleware and policy. Throws `InvalidConfigError` for unusable options. */
export function createAuthenticator(options: AuthOptions, deps: AuthenticatorDeps): Authenticator {
  const verifyClaims = claimsVerifier(options, deps.now);
  const grants = new WeakMap<Socket, Grant>();

  const expired = (grant: Grant): boolean =>
    grant.expiresAt !== undefined && deps.now() >= grant.expiresAt;

  const check = (
    socket: Socket,
    list: (grant: Grant) => ReadonlySet<string> | undefined,
    name: string | undefined,
    action: string,
  ): Verdict => {
    const grant = grants.get(socket);
    if (grant === undefined) return { ok: false, message: `No verified token; cannot ${action}.` };
    if (expired(grant)) return { ok: false, message: `Your token has expired; cannot ${action}.` };
    const allowed = list(grant);
    if (allowed === undefined) return ALLOWED;
    if (name !== undefined && allowed.has(name)) return ALLOWED;
    return { ok: false, message: `Your token does not grant you to ${action}.` };
  };

  return {
    middleware: (socket, next) => {
      const token = handshakeToken(socket.handshake);
      verifyClaims(socket.handshake, token)
        .then((claims) => {
          grants.set(socket, toGrant(claims));
          const grant = grants.get(socket);
          if (grant !== undefined && expired(grant)) throw new AuthError('the token has expired');
          next();
        })
        .catch((error: unknown) => {
          const refusal =
            error instanceof AuthError
              ? error
              : new AuthError(error instanceof Error ? error.message : String(error));
          grants.delete(socket);
          deps.onRefused?.(refusal.message);
          next(refusal);
        });
    },
    policy: {
      canHost: (socket, name) => check(socket, (g) => g.host, name, `create host "${name}"`),
      canJoin: async (socket, hostId) => {
        const grant = grants.get(socket);
        // Look the name up only when a list has to be matched.
        const name =
          grant !== undefined && grant.join !== undefined && !expired(grant)
            ? await deps.hostNameOf(hostId)
            : undefined;
        return check(
          socket,
          (g) => g.join,
          name,
          `join ${name === undefined ? 'this host' : `"${name}"`}`,
        );
      },
    },
    subjectOf: (socket) => grants.get(socket)?.subject,
  };
}

type ClaimsVerifier = (
  handshake: Handshake,
  token: string | undefined,
) => Promise<TokenClaims | JWTPayload>;

function claimsVerifier(options: AuthVerification, now: () => number): ClaimsVerifier {
  if ('verify' in options) {
    if (typeof options.verify !== 'function')
      throw new InvalidConfigError('auth.verify', 'must be a function');
    return async (handshake) => {
      const claims = await options.verify(handshake);
      if (claims === null || typeof claims !== 'object')
        throw new AuthError('the token was refused');
      return claims;
    };
  }
  let key: KeyObject;
  let algorithms: string[];
  if ('jwtSecret' in options) {
    const secret = options.jwtSecret;
    if ((typeof secret !== 'string' && !(secret instanceof Uint8Array)) || secret.length === 0)
      throw new InvalidConfigError('auth.jwtSecret', 'must be a non-empty string or bytes');
    key = createSecretKey(typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret);
    algorithms = [...(options.algorithms ?? HMAC_ALGORITHMS)];
  } else {
    const listed: unknown = options.algorithms;
    if (
      !Array.isArray(listed) ||
      listed.length === 0 ||
      !listed.every((a) => typeof a === 'string')
    )
      throw new InvalidConfigError(
        'auth.algorithms',
        'must list the accepted algorithms with a public key',
      );
    key =
      typeof options.publicKey === 'string'
        ? createPublicKey(options.publicKey)
        : options.publicKey;
    if (key.type !== 'public')
      throw new InvalidConfigError('auth.publicKey', 'must be a public key');
    algorithms = [...listed];
  }
  return async (_handshake, token) => {
    if (token === undefined)
      throw new AuthError('no token (send it as auth.token or the "token" query parameter)');
    try {
      const { payload } = await jwtVerify(token, key, { algorithms, currentDate: new Date(now()) });
      return payload;
    } catch (error) {
      throw new AuthError(describeJoseError(error));
    }
  };
}
