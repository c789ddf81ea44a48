/**
 * Validation of `message` payloads at the server's edge. A payload is
 * `unknown` until {@link parseClientMessage} turns it into a
 * {@link ClientMessage}, which carries only the fields the server relays.
 */

import { parseCandidate, type RelayedMessage, type WireCandidate } from '../protocol/wire.js';
import type { SignalingLimits } from './limits.js';

/** Fields relayed, besides `from` (always set by the server). Everything else is dropped. */
export const RELAYED_FIELDS = ['type', 'to', 'from', 'sdp', 'me', 'caps', 'candidate'] as const;

/** Keys whose presence marks a payload as hostile; such payloads are dropped whole. */
const FORBIDDEN_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

/** A validated `message`, before the server stamps `from`. */
export interface ClientMessage {
  type: string;
  to: string;
  sdp?: string | null;
  me?: string | null;
  caps?: string[] | null;
  candidate?: WireCandidate | null;
}

export type MessageRejection = 'malformed' | 'sdp-too-large';

export type ParsedClientMessage =
  { ok: true; message: ClientMessage } | { ok: false; reason: MessageRejection; detail: string };

const hasOwn = (value: object, key: string): boolean =>
  Object.prototype.hasOwnProperty.call(value, key);

const isPlainRecord = (value: unknown): value is Record<string, unknown> => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
};

const forbiddenKey = (value: object): string | undefined =>
  FORBIDDEN_KEYS.find((key) => hasOwn(value, key));

const malformed = (detail: string): ParsedClientMessage => ({
  ok: false,
  reason: 'malformed',
  detail,
});

/** A string of 1…max UTF-16 units. */
const isShortString = (value: unknown, max: number): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= max;

/** `undefined` (absent), `null`, or a string of at most `max` units. */
const isOptionalString = (value: unknown, max: number): value is string | null | undefined =>
  value === undefined || value === null || (typeof value === 'string' && value.length <= max);

/**
 * Checks a `message` payload: an object with a non-empty string `type` and
 * `to`; `from`, `sdp`, `me` absent, `null` or strings; `caps` absent, `null`
 * or an array of strings; `candidate` absent, `null` or a candidate that
 * {@link parseCandidate} accepts. No `__proto__`/`constructor`/`prototype`
 * keys anywhere. `sdp` is capped at `limits.maxSdpBytes` UTF-8 bytes.
 */
export function parseClientMessage(raw: unknown, limits: SignalingLimits): ParsedClientMessage {
  if (!isPlainRecord(raw)) {
    return malformed(
      `message must be an object, got ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}`,
    );
  }
  const forbidden = forbiddenKey(raw);
  if (forbidden !== undefined) return malformed(`message has a forbidden key "${forbidden}"`);
  const { type, to, from, sdp, me, caps, candidate } = raw;
  const max = limits.maxFieldLength;
  if (!isShortString(type, max))
    return malformed(`"type" must be a string of 1 to ${max} characters`);
  if (!isShortString(to, max)) return malformed(`"to" must be a string of 1 to ${max} characters`);
  if (!isOptionalString(from, max)) return malformed('"from" must be absent, null or a string');
  if (!isOptionalString(me, max)) return malformed('"me" must be absent, null or a string');
  if (sdp !== undefined && sdp !== null && typeof sdp !== 'string')
    return malformed('"sdp" must be absent, null or a string');
  if (typeof sdp === 'string' && Buffer.byteLength(sdp, 'utf8') > limits.maxSdpBytes) {
    return {
      ok: false,
      reason: 'sdp-too-large',
      detail: `"sdp" is larger than ${limits.maxSdpBytes} bytes`,
    };
  }
  if (caps !== undefined && caps !== null) {
    if (
      !Array.isArray(caps) ||
      caps.length > limits.maxCaps ||
      !caps.every((cap) => isShortString(cap, max))
    ) {
      return malformed(
        `"caps" must be absent, null or an array of at most ${limits.maxCaps} strings`,
      );
    }
  }
  let parsedCandidate: WireCandidate | null | undefined;
  if (candidate !== undefined) {
    if (candidate !== null) {
      if (typeof candidate !== 'object')
        return malformed('"candidate" must be absent, null or an object');
      const bad = forbiddenKey(candidate);
      if (bad !== undefined) return malformed(`"candidate" has a forbidden key "${bad}"`);
    }
    parsedCandidate = parseCandidate(candidate);
    if (parsedCandidate === undefined) return malformed('"candidate" is malformed');
    if (
      parsedCandidate !== null &&
      (parsedCandidate.candidate.length > limits.maxCandidateLength ||
        !isOptionalString(parsedCandidate.sdpMid, max) ||
        !isOptionalString(parsedCandidate.usernameFragment, max))
    ) {
      return malformed('"candidate" has a field over the length limit');
    }
  }
  const message: ClientMessage = { type, to };
  if (sdp !== undefined) message.sdp = sdp;
  if (me !== undefined) message.me = me;
  if (caps !== undefined) message.caps = caps === null ? null : ([...caps] as string[]);
  if (parsedCandidate !== undefined) message.candidate = parsedCandidate;
  return { ok: true, message };
}

/** The relayed form: a fresh object with the known fields only and the sender's id as `from`. */
export function toRelayed(message: ClientMessage, from: string): RelayedMessage {
  const relayed: RelayedMessage = { type: message.type, to: message.to, from };
  if (message.sdp !== undefined) relayed.sdp = message.sdp;
  if (message.me !== undefined) relayed.me = message.me;
  if (message.caps !== undefined) relayed.caps = message.caps;
  if (message.candidate !== undefined) relayed.candidate = message.candidate;
  return relayed;
}
