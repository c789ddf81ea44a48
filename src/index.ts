/**
 * rxpeer: a peer-to-peer WebRTC mesh on RxJS. The browser-safe entry point;
 * the signaling server is `rxpeer/server`, the Unity bridge `rxpeer/bridge`.
 */
export { PeerClient, DEFAULT_P2P_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, DEFAULT_VANILLA_ICE_TIMEOUT } from './client/PeerClient.js';
export type { Channel, ChannelMessage, ChannelOptions, BinaryType } from './client/channel.js';
export type { OutgoingData } from './client/channelFrames.js';
export type {
  ClientStatus,
  PcCloseHook,
  PcCreateEvent,
  PcCreateHook,
  PeerClientConfig,
  PeerClientDeps,
  PeerRole,
  PeerSocketOptions,
  PeerState,
} from './client/types.js';
export * from './errors.js';
export {
  ICE_SERVERS_EVENT,
  parseServerIceServers,
  serverIceServers$,
  withServerIceServers,
  type ServerIceServers,
  type ServerIceServersOptions,
} from './client/iceServers.js';
export { createLogger, consoleSink, silentLogger } from './logger.js';
export type { Logger, LogFields, LogLevel, LogSink } from './logger.js';
export type { HostInfo, ClientToServerEvents, ServerToClientEvents, OutgoingMessage, RelayedMessage } from './protocol/wire.js';
export type { SignalingSocket } from './streams/signaling.js';
export { gatheringComplete, type GatheringOutcome } from './operators/gatheringComplete.js';
export { startTimeout } from './operators/startTimeout.js';
export { ackTimeout } from './operators/ackTimeout.js';
export { iceConnected } from './operators/iceConnected.js';
export { startedCondition } from './operators/startedCondition.js';
export { runHooks, type HookFn } from './operators/runHooks.js';
export {
  iceGatheringState$,
  iceConnectionState$,
  connectionState$,
  localCandidate$,
} from './streams/peer.js';
export { DEFAULT_ICE_RESTART, type IceRestartPolicy, type PeerPhase, type PeerPhaseChange } from './client/link.js';
export { iceRestarts, type IceRestartOptions, type LinkHealth, type RestartStep } from './operators/iceRestarts.js';
