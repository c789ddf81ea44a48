/**
 * Every limit the signaling server enforces, with its default. The README's
 * "Signaling server" section lists the same values; keep them in step.
 */

import { InvalidConfigError } from '../errors.js';

export interface SignalingLimits {
  /** Longest host name, in Unicode code points after NFC normalization. */
  maxHostNameLength: number;
  /** Largest `sdp` relayed, in UTF-8 bytes. Larger offers/answers are dropped. */
  maxSdpBytes: number;
  /** Longest `type`, `to`, `from`, `me`, `caps` entry and candidate `sdpMid`/`usernameFragment`, in UTF-16 units. */
  maxFieldLength: number;
  /** Longest `candidate.candidate` string, in UTF-16 units. */
  maxCandidateLength: number;
  /** Most entries in `caps`. */
  maxCaps: number;
  /** Largest Socket.IO frame (engine.io `maxHttpBufferSize`), in bytes; a larger frame closes that socket. */
  maxHttpBufferSize: number;
  /** Sustained `message` events per second and socket (token bucket refill). */
  messageRate: number;
  /** `message` events a socket may send in a burst (token bucket capacity). */
  messageBurst: number;
  /** Sustained `create host` requests per second and socket (`list hosts` has its own bucket). */
  requestRate: number;
  /** `create host` requests a socket may send in a burst. */
  requestBurst: number;
  /**
   * Violations (malformed payloads, requests without an ack, rate-limited
   * events) a socket may commit before it is disconnected.
   */
  maxStrikes: number;
  /** Strikes forgiven per second (the strike bucket's refill). */
  strikeRecoveryRate: number;
  /** Most concurrent engine.io clients; further handshakes get HTTP 403. */
  maxClients: number;
  /** Time a client has to join the namespace after the engine.io handshake (Socket.IO `connectTimeout`), ms. */
  connectTimeoutMs: number;
  /** engine.io `pingInterval`, ms. */
  pingIntervalMs: number;
  /** engine.io `pingTimeout`, ms. A silent peer is dropped after at most pingInterval + pingTimeout. */
  pingTimeoutMs: number;

  // --- Protocol limits (hosts, lists, joins, groups); docs/limits.md ------------------
  /** Sustained `list hosts` per second and socket (its own bucket; a refused list never strikes). */
  listRate: number;
  /** `list hosts` a socket may send back to back. */
  listBurst: number;
  /** Most hosts in one `list hosts` answer; the rest is reachable with `{ offset }` (rxpeer) and counted in `total`. */
  maxListedHosts: number;
  /** UTF-8 bytes of `list hosts` answers per second and client address (a byte budget, not a count). */
  listBytesPerAddressRate: number;
  /** Bytes of `list hosts` answers a client address may receive in a burst. */
  listBytesPerAddressBurst: number;
  /** Hosts that sockets of one client address may hold at once (per node). */
  maxHostsPerAddress: number;
  /** Most sockets in one group: its host and its members. */
  maxGroupSize: number;
  /** `join`s admitted into one group per second (per node). */
  joinRatePerGroup: number;
  /** `join`s admitted into one group in a burst. */
  joinBurstPerGroup: number;
  /** `join`s admitted from one client address per second (per node). */
  joinRatePerAddress: number;
  /** `join`s admitted from one client address in a burst. */
  joinBurstPerAddress: number;
  /** Members one client address may have in one group at once (per node). */
  maxGroupMembersPerAddress: number;
  /** Extra `message` tokens a host gets for each admitted join, on top of one per group member (its `call me`s). */
  joinReplyCredit: number;
  /** Sustained `message` events per second from all sockets of one client address (survives reconnects). */
  messageRatePerAddress: number;
  /** `message` events one client address may send in a burst. */
  messageBurstPerAddress: number;
  /** Messages relayed per second into one socket from one client address (the rest is dropped, 429). */
  inboundRatePerAddress: number;
  /** Messages relayed into one socket from one client address in a burst. */
  inboundBurstPerAddress: number;
  // ---- Transport and admission (docs/admission.md) ----
  /**
   * Most arguments after the event name in one Socket.IO event or
   * acknowledgement (the protocol needs at most 2). A packet with more is
   * refused before dispatch and its connection closed.
   */
  maxEventArgs: number;
  /**
   * Hard cap on the bytes waiting to be sent to one connection (engine.io's
   * write buffer plus the WebSocket's unsent bytes): past it, the connection
   * is closed at once.
   */
  maxQueuedBytes: number;
  /**
   * Soft cap on the same bytes: while more than this is queued, events the
   * server pushes to the connection (relayed messages, leave notices) are
   * dropped and counted instead of queued; answers to its own requests still go.
   */
  queueDropBytes: number;
  /** A connection still over `queueDropBytes` this long after it got there does not read: closed, ms. */
  slowReaderTimeoutMs: number;
  /** Concurrent engine.io clients from one address; further handshakes get HTTP 429. */
  maxClientsPerAddress: number;
  /**
   * Concurrent TCP connections from one address (HTTP, polling and WebSocket
   * together); further ones are closed at once. Not applied when
   * `trustProxy` is set (every connection then comes from a proxy).
   */
  maxConnectionsPerAddress: number;
  /**
   * Fraction of V8's heap limit in use above which the server refuses new
   * work: handshakes and HTTP requests get 503 and `/healthz` reports
   * `ok: false` until the heap is back below it.
   */
  maxHeapRatio: number;
  /** An HTTP request (a WebSocket upgrade included) must send its headers within this, ms. */
  headersTimeoutMs: number;
  /** An HTTP request must be received completely within this, ms. */
  requestTimeoutMs: number;
  /** `close()` waits this long for clients to go, then cuts every connection (WebSocket included), ms. */
  shutdownGraceMs: number;
  /**
   * Bytes per second the server reads from one client address (WebSocket
   * frames and polling bodies together, counted before parsing). Past the
   * burst, that address's WebSockets stop being read and its POSTs wait.
   */
  inboundBytesPerAddressRate: number;
  /** Bytes one client address may send in a burst before its rate applies. */
  inboundBytesPerAddressBurst: number;
  /**
   * Bytes each engine.io packet costs against that budget on top of its own
   * size, so floods of tiny packets are held to a packet rate as well.
   */
  inboundBytesPerPacket: number;
}

export const DEFAULT_LIMITS: Readonly<SignalingLimits> = Object.freeze({
  maxHostNameLength: 64,
  maxSdpBytes: 64 * 1024,
  maxFieldLength: 256,
  maxCandidateLength: 1024,
  maxCaps: 16,
  maxHttpBufferSize: 1_000_000,
  messageRate: 500,
  messageBurst: 2000,
  requestRate: 5,
  requestBurst: 20,
  maxStrikes: 20,
  strikeRecoveryRate: 0.1,
  maxClients: 10_000,
  connectTimeoutMs: 10_000,
  pingIntervalMs: 25_000,
  pingTimeoutMs: 20_000,
  // --- Protocol limits (hosts, lists, joins, groups) ---
  listRate: 20,
  listBurst: 200,
  maxListedHosts: 500,
  listBytesPerAddressRate: 4 * 1024 * 1024,
  listBytesPerAddressBurst: 16 * 1024 * 1024,
  maxHostsPerAddress: 32,
  maxGroupSize: 64,
  joinRatePerGroup: 64,
  joinBurstPerGroup: 64,
  joinRatePerAddress: 32,
  joinBurstPerAddress: 64,
  maxGroupMembersPerAddress: 16,
  joinReplyCredit: 64,
  messageRatePerAddress: 1000,
  messageBurstPerAddress: 4000,
  inboundRatePerAddress: 200,
  inboundBurstPerAddress: 1000,

  // ---- Transport and admission (docs/admission.md) ----
  maxEventArgs: 3,
  maxQueuedBytes: 4 * 1024 * 1024,
  queueDropBytes: 1024 * 1024,
  slowReaderTimeoutMs: 10_000,
  maxClientsPerAddress: 256,
  maxConnectionsPerAddress: 512,
  maxHeapRatio: 0.8,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  shutdownGraceMs: 3_000,
  inboundBytesPerAddressRate: 4 * 1024 * 1024,
  inboundBytesPerAddressBurst: 16 * 1024 * 1024,
  inboundBytesPerPacket: 1024,
});

/** Bounds each limit must lie in; `Infinity` is allowed where the upper bound is `Infinity`. */
export const LIMIT_BOUNDS: Readonly<
  Record<keyof SignalingLimits, readonly [min: number, max: number]>
> = Object.freeze({
  maxHostNameLength: [1, 1024],
  maxSdpBytes: [1024, 16 * 1024 * 1024],
  maxFieldLength: [32, 64 * 1024],
  maxCandidateLength: [64, 64 * 1024],
  maxCaps: [0, 1024],
  maxHttpBufferSize: [16 * 1024, 100 * 1024 * 1024],
  messageRate: [0.001, Infinity],
  messageBurst: [1, Infinity],
  requestRate: [0.001, Infinity],
  requestBurst: [1, Infinity],
  maxStrikes: [1, Infinity],
  strikeRecoveryRate: [0, Infinity],
  maxClients: [1, Infinity],
  connectTimeoutMs: [100, 600_000],
  pingIntervalMs: [1_000, 600_000],
  pingTimeoutMs: [1_000, 600_000],
  // --- Protocol limits ---
  listRate: [0.001, Infinity],
  listBurst: [1, Infinity],
  maxListedHosts: [1, 100_000],
  listBytesPerAddressRate: [1024, Infinity],
  listBytesPerAddressBurst: [64 * 1024, Infinity],
  maxHostsPerAddress: [1, Infinity],
  maxGroupSize: [2, 100_000],
  joinRatePerGroup: [0.001, Infinity],
  joinBurstPerGroup: [1, Infinity],
  joinRatePerAddress: [0.001, Infinity],
  joinBurstPerAddress: [1, Infinity],
  maxGroupMembersPerAddress: [1, Infinity],
  joinReplyCredit: [0, 100_000],
  messageRatePerAddress: [0.001, Infinity],
  messageBurstPerAddress: [1, Infinity],
  inboundRatePerAddress: [0.001, Infinity],
  inboundBurstPerAddress: [1, Infinity],

  // ---- Transport and admission (docs/admission.md) ----
  maxEventArgs: [2, 64],
  maxQueuedBytes: [64 * 1024, 1024 * 1024 * 1024],
  queueDropBytes: [16 * 1024, 1024 * 1024 * 1024],
  slowReaderTimeoutMs: [100, 600_000],
  maxClientsPerAddress: [1, Infinity],
  maxConnectionsPerAddress: [2, Infinity],
  maxHeapRatio: [0.01, 1],
  headersTimeoutMs: [500, 600_000],
  requestTimeoutMs: [500, 3_600_000],
  shutdownGraceMs: [0, 600_000],
  inboundBytesPerAddressRate: [16 * 1024, Infinity],
  inboundBytesPerAddressBurst: [64 * 1024, Infinity],
  inboundBytesPerPacket: [0, 1024 * 1024],
});

/** `--help` lines of the protocol limits (config.ts spreads them into its table). */
export const PROTOCOL_LIMIT_DESCRIPTIONS = {
  listRate: 'list hosts per second per socket',
  listBurst: 'list hosts back to back per socket',
  maxListedHosts: 'most hosts in one list hosts answer',
  listBytesPerAddressRate: 'list hosts answer bytes per second per client address',
  listBytesPerAddressBurst: 'list hosts answer bytes in a burst per client address',
  maxHostsPerAddress: 'hosts held at once per client address',
  maxGroupSize: 'most sockets in a group (host + members)',
  joinRatePerGroup: 'joins admitted per second per group',
  joinBurstPerGroup: 'joins admitted in a burst per group',
  joinRatePerAddress: 'joins admitted per second per client address',
  joinBurstPerAddress: 'joins admitted in a burst per client address',
  maxGroupMembersPerAddress: 'members one client address may have in one group',
  joinReplyCredit: 'message tokens a host gets per admitted join, beyond one per member',
  messageRatePerAddress: 'message events per second per client address',
  messageBurstPerAddress: 'message burst per client address',
  inboundRatePerAddress: 'messages relayed per second into one socket from one client address',
  inboundBurstPerAddress: 'messages relayed into one socket from one client address in a burst',
} as const satisfies Partial<Record<keyof SignalingLimits, string>>;

/**
 * Merges overrides into the defaults and checks every value against
 * {@link LIMIT_BOUNDS}; throws an `InvalidConfigError` (code `INVALID_CONFIG`) naming the first bad limit.
 */
export function resolveLimits(overrides: Partial<SignalingLimits> = {}): SignalingLimits {
  const limits: SignalingLimits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof SignalingLimits)[]) {
    const value = overrides[key];
    if (value === undefined) continue;
    const [min, max] = LIMIT_BOUNDS[key];
    if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
      throw new InvalidConfigError(
        `limits.${key}`,
        `must be a number from ${min} to ${max}, got ${String(value)}`,
        value,
      );
    }
    limits[key] = value;
  }
  if (limits.maxSdpBytes + 8 * 1024 > limits.maxHttpBufferSize) {
    throw new InvalidConfigError(
      'limits.maxSdpBytes',
      `${limits.maxSdpBytes} must stay at least 8 KiB below "maxHttpBufferSize" (${limits.maxHttpBufferSize})`,
      limits.maxSdpBytes,
    );
  }
  if (limits.queueDropBytes > limits.maxQueuedBytes) {
    throw new InvalidConfigError(
      'limits.queueDropBytes',
      `${limits.queueDropBytes} must not exceed "maxQueuedBytes" (${limits.maxQueuedBytes})`,
      limits.queueDropBytes,
    );
  }
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new InvalidConfigError(
      'limits.headersTimeoutMs',
      `${limits.headersTimeoutMs} must not exceed "requestTimeoutMs" (${limits.requestTimeoutMs})`,
      limits.headersTimeoutMs,
    );
  }
  return limits;
}
