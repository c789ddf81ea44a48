/**
 * The wire contract of PROTOCOL.md §2–4, typed once for both ends: the
 * client's `Socket<ServerToClientEvents, ClientToServerEvents>` and the
 * server's `Server<ClientToServerEvents, ServerToClientEvents>`.
 *
 * Nothing here touches a socket: parsing turns `unknown` wire input into the
 * discriminated unions below, and everything past the edge is typed.
 */

/**
 * Message types of PROTOCOL §4, plus rxpeer's own `candidate` (trickle ICE)
 * and `caps query` / `caps` (a member asks a newcomer for its capabilities
 * when the host, an Extreal one, passed none along with `call me`).
 */
export const MESSAGE_TYPES = ['join', 'call me', 'offer', 'answer', 'done', 'bye', 'candidate', 'caps query', 'caps'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** Capabilities an rxpeer peer announces; Extreal clients never send any. */
export const CAPABILITIES = ['trickle'] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** A trickled ICE candidate; `null` inside a `candidate` message means end of candidates. */
export interface WireCandidate {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

/**
 * What a client emits as `message`. The C# client sends absent fields as
 * `null`; the JavaScript clients leave them out. Both are valid.
 */
export interface OutgoingMessage {
  type: string;
  to: string;
  from?: string | null;
  sdp?: string | null;
  me?: string | null;
  /** rxpeer extension (issue 9): capabilities of the sender. */
  caps?: string[] | null;
  /** rxpeer extension (issue 9): a trickled candidate, `null` = end of candidates. */
  candidate?: WireCandidate | null;
}

/** What the server relays: the same, with `from` set by the server. */
export interface RelayedMessage extends OutgoingMessage {
  from: string;
}

export interface CreateHostResponse {
  status: number;
  message: string;
  /**
   * rxpeer extension: why a request was refused (`bad-name`, `rate-limited` …),
   * also when the status was folded to 409 for a client that did not announce
   * {@link ClientCapability} `status` (docs/limits.md).
   */
  reason?: string;
}

/**
 * Capabilities a client announces to the server in the Socket.IO handshake,
 * as `auth: { caps: [...] }`. Extreal clients announce none.
 *
 * - `status`: "I read every status of a `create host` answer". A client
 *   without it (an Extreal client, which treats only 409 as a failure) gets
 *   every refusal of `create host` as 409 with the real reason in `message`
 *   and `reason`, so that its start fails instead of "succeeding".
 */
export const CLIENT_CAPABILITIES = ['status'] as const;
export type ClientCapability = (typeof CLIENT_CAPABILITIES)[number];

/** The handshake `auth` an rxpeer client sends. */
export const CLIENT_HANDSHAKE_AUTH: Readonly<{ caps: readonly ClientCapability[] }> = Object.freeze({
  caps: Object.freeze(['status'] as const),
});

/** The capabilities rxpeer knows in a handshake's `auth`; anything else is ignored. */
export function parseClientCapabilities(auth: unknown): ClientCapability[] {
  if (!isRecord(auth) || !Array.isArray(auth.caps)) return [];
  const caps = auth.caps as unknown[];
  return CLIENT_CAPABILITIES.filter((cap) => caps.includes(cap));
}

/** rxpeer extension: the optional first argument of `list hosts`, for paging. */
export interface ListHostsRequest {
  /** Index of the first host to list (default 0). */
  offset?: number;
}

export interface HostInfo {
  id: string;
  name: string;
}

export interface ListHostsResponse {
  status: number;
  hosts: HostInfo[];
  message?: string;
  /** rxpeer extension, present when the list is longer than one answer: how many hosts there are. */
  total?: number;
  /** rxpeer extension: the `offset` of the next page, when there is one. */
  next?: number;
  /** rxpeer extension: why the request was refused. */
  reason?: string;
}

export interface UserDisconnectedPayload {
  id: string;
}

/** Events a client sends to the signaling server. */
export interface ClientToServerEvents {
  'create host': (name: string, ack: (response: CreateHostResponse) => void) => void;
  /** rxpeer's server also takes a {@link ListHostsRequest} before the ack (paging). */
  'list hosts': (ack: (response: ListHostsResponse) => void) => void;
  /** With an ack function, rxpeer's server acknowledges it once relayed or dropped (Extreal clients send none). */
  message: (message: OutgoingMessage, ack?: (response: unknown) => void) => void;
}

/** Events the signaling server sends to a client. */
export interface ServerToClientEvents {
  message: (message: RelayedMessage) => void;
  'user disconnected': (payload: UserDisconnectedPayload) => void;
}

/** HTTP-like status codes used in acknowledgements. */
export const Status = {
  Ok: 200,
  BadRequest: 400,
  Conflict: 409,
  TooManyRequests: 429,
} as const;

// ---------------------------------------------------------------------------
// Parsed messages, as the client sees them after validation.

interface Base {
  from: string;
  to: string;
  caps: readonly Capability[];
}

export type SignalMessage =
  | (Base & { type: 'join'; was?: string })
  | (Base & { type: 'call me'; me: string })
  | (Base & { type: 'offer'; sdp: string })
  | (Base & { type: 'answer'; sdp: string })
  | (Base & { type: 'done' })
  | (Base & { type: 'bye' })
  | (Base & { type: 'candidate'; candidate: WireCandidate | null })
  | (Base & { type: 'caps query' })
  | (Base & { type: 'caps' });

export type ParseResult =
  | { kind: 'message'; message: SignalMessage }
  | { kind: 'unknown'; type: string; from: string }
  | { kind: 'invalid'; reason: string };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isNonEmptyString = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0;

/** @internal */
export function isMessageType(type: string): type is MessageType {
  return (MESSAGE_TYPES as readonly string[]).includes(type);
}

/** Keeps the capabilities rxpeer knows; anything else in `caps` is ignored. */
export function parseCaps(value: unknown): Capability[] {
  if (!Array.isArray(value)) return [];
  return CAPABILITIES.filter((cap) => value.includes(cap));
}

/** Validates a trickled candidate; `undefined` when it is malformed. */
export function parseCandidate(value: unknown): WireCandidate | null | undefined {
  if (value === null) return null;
  if (!isRecord(value) || typeof value.candidate !== 'string') return undefined;
  const { sdpMid, sdpMLineIndex, usernameFragment } = value;
  if (sdpMid !== undefined && sdpMid !== null && typeof sdpMid !== 'string') return undefined;
  if (
    sdpMLineIndex !== undefined &&
    sdpMLineIndex !== null &&
    !(Number.isInteger(sdpMLineIndex) && (sdpMLineIndex as number) >= 0)
  )
    return undefined;
  if (
    usernameFragment !== undefined &&
    usernameFragment !== null &&
    typeof usernameFragment !== 'string'
  )
    return undefined;
  return {
    candidate: value.candidate,
    sdpMid: (sdpMid) ?? null,
    sdpMLineIndex: (sdpMLineIndex as number | null | undefined) ?? null,
    usernameFragment: (usernameFragment) ?? null,
  };
}

/**
 * Turns a relayed `message` payload into a {@link SignalMessage}. Unknown
 * types are reported as `unknown` (the protocol says to ignore them); a
 * payload that breaks the contract is `invalid` with the reason.
 */
export function parseRelayedMessage(raw: unknown): ParseResult {
  if (!isRecord(raw)) return { kind: 'invalid', reason: 'message is not an object' };
  const { type, from, to } = raw;
  if (typeof type !== 'string') return { kind: 'invalid', reason: '"type" is not a string' };
  if (!isNonEmptyString(from)) return { kind: 'invalid', reason: '"from" is not a non-empty string' };
  if (!isMessageType(type)) return { kind: 'unknown', type, from };
  if (typeof to !== 'string') return { kind: 'invalid', reason: '"to" is not a string' };
  const caps = parseCaps(raw.caps);
  const base = { from, to, caps };
  switch (type) {
    case 'join':
      // rxpeer extension: `me` on a `join` names the id the sender had before its
      // signaling connection was renewed (a rejoin). Extreal hosts ignore it.
      return { kind: 'message', message: isNonEmptyString(raw.me) ? { ...base, type, was: raw.me } : { ...base, type } };
    case 'done':
    case 'bye':
    case 'caps query':
    case 'caps':
      return { kind: 'message', message: { ...base, type } };
    case 'call me':
      if (!isNonEmptyString(raw.me)) return { kind: 'invalid', reason: '"me" of "call me" is not a non-empty string' };
      return { kind: 'message', message: { ...base, type, me: raw.me } };
    case 'offer':
    case 'answer':
      if (!isNonEmptyString(raw.sdp)) return { kind: 'invalid', reason: `"sdp" of "${type}" is not a non-empty string` };
      return { kind: 'message', message: { ...base, type, sdp: raw.sdp } };
    case 'candidate': {
      const candidate = parseCandidate(raw.candidate);
      if (candidate === undefined) return { kind: 'invalid', reason: '"candidate" is malformed' };
      return { kind: 'message', message: { ...base, type, candidate } };
    }
    default: {
      const unreachable: never = type;
      return { kind: 'unknown', type: unreachable, from };
    }
  }
}

/** Validates a `user disconnected` payload; `undefined` when malformed. */
export function parseUserDisconnected(raw: unknown): string | undefined {
  return isRecord(raw) && isNonEmptyString(raw.id) ? raw.id : undefined;
}

/** Validates a `create host` acknowledgement. */
export function parseCreateHostResponse(raw: unknown): CreateHostResponse | undefined {
  if (!isRecord(raw) || typeof raw.status !== 'number') return undefined;
  return { status: raw.status, message: typeof raw.message === 'string' ? raw.message : '' };
}

/** Validates a `list hosts` acknowledgement. */
export function parseListHostsResponse(raw: unknown): ListHostsResponse | undefined {
  if (!isRecord(raw) || typeof raw.status !== 'number') return undefined;
  if (raw.status !== Status.Ok) {
    return { status: raw.status, hosts: [], message: typeof raw.message === 'string' ? raw.message : '' };
  }
  if (!Array.isArray(raw.hosts)) return undefined;
  const hosts: HostInfo[] = [];
  for (const host of raw.hosts) {
    if (!isRecord(host) || typeof host.id !== 'string' || typeof host.name !== 'string') return undefined;
    hosts.push({ id: host.id, name: host.name });
  }
  return { status: raw.status, hosts };
}
