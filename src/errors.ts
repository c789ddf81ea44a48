/**
 * Every error rxpeer raises or reports, in one module. Each has a stable
 * `code` to switch on, an optional `cause`, and `context` with the facts
 * that explain it (peer id, host name, timeout …).
 */

export type RxpeerErrorCode =
  | 'HOST_NAME_ALREADY_EXISTS'
  | 'SERVER_REJECTED'
  | 'SIGNALING_CONNECT'
  | 'SIGNALING_DISCONNECTED'
  | 'ACK_TIMEOUT'
  | 'START_TIMEOUT'
  | 'HOST_LEFT'
  | 'HOOK_FAILED'
  | 'NEGOTIATION_FAILED'
  | 'INVALID_MESSAGE'
  | 'INVALID_STATE'
  | 'INVALID_ARGUMENT'
  | 'STOPPED'
  | 'DISPOSED'
  | 'BRIDGE'
  | 'INVALID_CONFIG'
  | 'NOT_CONNECTED'
  | 'CHANNEL_CLOSED'
  | 'PEER_GONE'
  | 'MESSAGE_TOO_LARGE'
  | 'CANDIDATE_BUFFER_FULL'
  | 'IDENTITY_REFUSED'
  | 'STATE_UNAVAILABLE'
  | 'AUTH_FAILED'
  | 'FORBIDDEN';

export type ErrorContext = Readonly<Record<string, unknown>>;

export class RxpeerError extends Error {
  readonly code: RxpeerErrorCode;
  readonly context: ErrorContext;

  constructor(code: RxpeerErrorCode, message: string, options: { cause?: unknown; context?: ErrorContext } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.context = options.context ?? {};
  }
}

/** `create host` answered 409: another socket already hosts that name. */
export class HostNameAlreadyExistsError extends RxpeerError {
  constructor(
    readonly hostName: string,
    readonly serverMessage: string,
  ) {
    super('HOST_NAME_ALREADY_EXISTS', `Host name "${hostName}" already exists: ${serverMessage}`, {
      context: { hostName, serverMessage },
    });
  }
}

/** The server answered a request with a status other than 200 (and other than 409 for `create host`). */
export class ServerRejectedError extends RxpeerError {
  constructor(
    readonly request: string,
    readonly status: number,
    readonly serverMessage: string,
  ) {
    super('SERVER_REJECTED', `The signaling server rejected "${request}" with status ${status}: ${serverMessage}`, {
      context: { request, status, serverMessage },
    });
  }
}

/** The signaling connection could not be made. */
export class SignalingConnectError extends RxpeerError {
  constructor(readonly url: string, readonly reason: string, cause?: unknown) {
    super('SIGNALING_CONNECT', `Could not connect to the signaling server at ${url}: ${reason}`, {
      cause,
      context: { url, reason },
    });
  }
}

/** The signaling connection dropped while a request was waiting for it. */
export class SignalingDisconnectedError extends RxpeerError {
  constructor(readonly reason: string) {
    super('SIGNALING_DISCONNECTED', `The signaling connection dropped: ${reason}`, { context: { reason } });
  }
}

/** The server did not acknowledge a request in time. */
export class AckTimeoutError extends RxpeerError {
  constructor(readonly request: string, readonly timeoutMs: number) {
    super('ACK_TIMEOUT', `The signaling server did not answer "${request}" within ${timeoutMs} ms`, {
      context: { request, timeoutMs },
    });
  }
}

/** The client did not reach `started` within the P2P start timeout. */
export class StartTimeoutError extends RxpeerError {
  constructor(readonly hostId: string, readonly timeoutMs: number) {
    super('START_TIMEOUT', `Joining host ${hostId} did not complete within ${timeoutMs} ms`, {
      context: { hostId, timeoutMs },
    });
  }
}

/** The host left the signaling server while this client was joining it. */
export class HostLeftError extends RxpeerError {
  constructor(readonly hostId: string) {
    super('HOST_LEFT', `Host ${hostId} left before the join completed`, { context: { hostId } });
  }
}

/** An app hook threw or rejected; the flow went on without it. */
export class HookError extends RxpeerError {
  constructor(readonly hook: 'pcCreate' | 'pcClose', readonly peerId: string, cause: unknown) {
    super('HOOK_FAILED', `A ${hook} hook failed for peer ${peerId}: ${describe(cause)}`, {
      cause,
      context: { hook, peerId },
    });
  }
}

/** A negotiation step (offer, answer, candidate …) failed for one peer; the others go on. */
export class NegotiationError extends RxpeerError {
  constructor(readonly peerId: string, readonly step: string, cause: unknown) {
    super('NEGOTIATION_FAILED', `Negotiation with peer ${peerId} failed at "${step}": ${describe(cause)}`, {
      cause,
      context: { peerId, step },
    });
  }
}

/** A message from the wire broke the protocol; it was dropped. */
export class InvalidMessageError extends RxpeerError {
  constructor(readonly reason: string, readonly payload?: unknown) {
    super('INVALID_MESSAGE', `Dropped an invalid signaling message: ${reason}`, { context: { reason } });
  }
}

/** A call that the client's current state does not allow (start while running …). */
export class InvalidStateError extends RxpeerError {
  constructor(message: string, context?: ErrorContext) {
    super('INVALID_STATE', message, context === undefined ? {} : { context });
  }
}

/** An argument that can never be right (an empty host name, a negative timeout …). */
export class InvalidArgumentError extends RxpeerError {
  constructor(readonly argument: string, message: string) {
    super('INVALID_ARGUMENT', `Invalid ${argument}: ${message}`, { context: { argument } });
  }
}

/** The client was stopped while this operation was pending. */
export class ClientStoppedError extends RxpeerError {
  constructor(readonly operation: string) {
    super('STOPPED', `"${operation}" was cancelled because the client stopped`, { context: { operation } });
  }
}

/** The client was disposed and can no longer be used. */
export class ClientDisposedError extends RxpeerError {
  constructor(readonly operation: string) {
    super('DISPOSED', `Cannot call "${operation}": the client has been disposed`, { context: { operation } });
  }
}

/** A Unity WebGL bridge contract was broken (unknown name, missing constructor call …). */
export class BridgeError extends RxpeerError {
  constructor(message: string, context?: ErrorContext) {
    super('BRIDGE', message, context === undefined ? {} : { context });
  }
}

/** A configuration value that can never work (a negative timeout, a zero heartbeat …). */
export class InvalidConfigError extends RxpeerError {
  constructor(readonly field: string, message: string, readonly value?: unknown) {
    super('INVALID_CONFIG', `Invalid ${field}: ${message}`, { context: { field, value } });
  }
}

/** `send` to a peer with which the channel is not open (never connected, left, or the label is not open there yet). */
export class NotConnectedError extends RxpeerError {
  constructor(readonly label: string, readonly peerId: string) {
    super('NOT_CONNECTED', `Channel "${label}" is not open with peer ${peerId}`, { context: { label, peerId } });
  }
}

/** The data channel closed (or the client was disposed) before a message was handed to it. */
export class ChannelClosedError extends RxpeerError {
  constructor(readonly label: string, readonly peerId: string, reason: string) {
    super('CHANNEL_CLOSED', `Channel "${label}" with peer ${peerId} closed before the message was sent: ${reason}`, {
      context: { label, peerId, reason },
    });
  }
}

/** The peer left (its connection closed) before a message was handed to the channel. */
export class PeerGoneError extends RxpeerError {
  constructor(readonly label: string, readonly peerId: string) {
    super('PEER_GONE', `Peer ${peerId} left before the message on channel "${label}" was sent`, { context: { label, peerId } });
  }
}

/**
 * A message larger than the pair can carry: over the peer's SCTP
 * `max-message-size` on a channel that cannot split messages (a peer that is
 * not rxpeer, or an unordered / partially reliable channel), or over the
 * channel's `maxMessageBytes` limit.
 */
export class MessageTooLargeError extends RxpeerError {
  constructor(
    readonly label: string,
    readonly peerId: string,
    readonly size: number,
    readonly limit: number,
    reason: string,
  ) {
    super('MESSAGE_TOO_LARGE', `A message of ${size} bytes on channel "${label}" to peer ${peerId} is over the limit of ${limit} bytes: ${reason}`, {
      context: { label, peerId, size, limit, reason },
    });
  }
}

/**
 * The signaling server refused the connection for its token (none, a bad
 * signature, expired …): `connect_error` with `data.code === 'AUTH_FAILED'`.
 */
export class AuthFailedError extends RxpeerError {
  constructor(readonly url: string, readonly reason: string, cause?: unknown) {
    super('AUTH_FAILED', `The signaling server at ${url} refused the token: ${reason}`, {
      cause,
      context: { url, reason },
    });
  }
}

/** The server answered 403: the token does not grant this `create host` or `join` (or has expired). */
export class ForbiddenError extends RxpeerError {
  constructor(readonly request: string, readonly serverMessage: string) {
    super('FORBIDDEN', `The signaling server forbade "${request}": ${serverMessage}`, {
      context: { request, status: 403, serverMessage },
    });
  }
}

/** The typed error of a non-200 answer other than a `create host` 409: {@link ForbiddenError} for 403. */
export function serverRejection(request: string, status: number, serverMessage: string): RxpeerError {
  return status === 403
    ? new ForbiddenError(request, serverMessage)
    : new ServerRejectedError(request, status, serverMessage);
}

/** Whether a Socket.IO `connect_error` is a refused token (the server's middleware sets `data.code`). */
export function isAuthRefusal(error: unknown): boolean {
  const data = (error as { data?: unknown } | null)?.data;
  return typeof data === 'object' && data !== null && (data as { code?: unknown }).code === 'AUTH_FAILED';
}

/** A short human description of anything thrown. */
export function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}

/**
 * A peer sent more ICE candidates than rxpeer holds for it while its
 * connection has no remote description yet; the extra ones were dropped.
 */
export class CandidateBufferFullError extends RxpeerError {
  constructor(readonly peerId: string, readonly limit: number) {
    super('CANDIDATE_BUFFER_FULL', `Peer ${peerId} sent more than ${limit} candidates before its description; the rest were dropped`, {
      context: { peerId, limit },
    });
  }
}

/**
 * A claim that a peer now has another signaling id was refused: the claimed
 * id belongs to someone else, or the claim was not confirmed over that
 * peer's own connection.
 */
export class IdentityClaimError extends RxpeerError {
  constructor(readonly peerId: string, readonly claimedId: string, readonly reason: string) {
    super('IDENTITY_REFUSED', `Refused peer ${peerId}'s claim to be at signaling id ${claimedId}: ${reason}`, {
      context: { peerId, claimedId, reason },
    });
  }
}
