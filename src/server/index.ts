/**
 * `rxpeer/server`: the signaling server's Node API. Its own entry point, so
 * browser bundles of `rxpeer` never pull in socket.io.
 *
 * @example
 * ```ts
 * import { createSignalingServer } from 'rxpeer/server';
 * const server = await createSignalingServer({ port: 0, host: '127.0.0.1' });
 * console.log(server.url);
 * await server.close();
 * ```
 */

export {
  createSignalingServer,
  formatUrl,
  ServerStatus,
  SignalingConfigError,
  type ServerStats,
  type CorsOptions,
  type MessageAck,
  type SignalingServer,
  type SignalingServerOptions,
} from './signalingServer.js';
export { DEFAULT_LIMITS, LIMIT_BOUNDS, resolveLimits, type SignalingLimits } from './limits.js';
export {
  InMemorySignalingState,
  StateUnavailableError,
  type BackendStatus,
  type SignalingStateListener,
  type ClaimResult,
  type Departure,
  type GroupMembership,
  type HostIndex,
  type JoinResult,
  type SignalingState,
  type StateSize,
} from './state.js';
export {
  RedisSignalingState,
  type RedisScriptClient,
  type RedisStateOptions,
  type ResyncSummary,
} from './redisState.js';
export { startRedisCluster, type RedisCluster, type RedisClusterOptions } from './redisCluster.js';
export { validateHostName, SOCKET_ID_SHAPE, type HostNameResult } from './hostName.js';
export {
  parseClientMessage,
  toRelayed,
  RELAYED_FIELDS,
  type ClientMessage,
  type ParsedClientMessage,
} from './relay.js';
export { TokenBucket, systemClock, type Clock } from './rateLimit.js';
export type { Health, RequestHandler } from './http.js';
export type { MemoryStatus } from './memoryGuard.js';
export {
  HANDSHAKE_REFUSALS,
  type HandshakeRefusal,
  type TransportStats,
} from './transportStats.js';
export { PACKET_REFUSALS, RESERVED_EVENT_NAMES, type PacketRefusal } from './packetGuard.js';
export { CUT_REASONS, type CutReason } from './engineGuard.js';
export {
  MESSAGE_DROP_REASONS,
  REQUEST_REJECTIONS,
  type MessageDropReason,
  type RequestRejection,
  type SignalingStats,
} from './stats.js';
export { main, type CliIo, type SignalSource } from './cli.js';
export { parseCli, usage, ConfigError, type CliParse } from './config.js';
export {
  AuthError,
  handshakeToken,
  type AuthOptions,
  type AuthVerification,
  type Handshake,
  type Policy,
  type TokenClaims,
  type Verdict,
} from './auth.js';
export { DEFAULT_DRAIN, type DrainOptions, type DrainPhase, type Readiness } from './drain.js';
export type { MetricsOptions } from './metrics.js';
export {
  DEFAULT_TURN_TTL,
  mintTurnCredential,
  TURN_EVENT,
  type IceServersGrant,
  type TurnOptions,
} from './turnCredentials.js';
