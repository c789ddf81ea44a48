import type { SchedulerLike } from 'rxjs';
import type { ManagerOptions, SocketOptions } from 'socket.io-client';
import type { RxpeerError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { SignalingSocket } from '../streams/signaling.js';
import type { PeerPhase, PeerPhaseChange } from './link.js';

/** Socket options: Extreal's three names, plus anything socket.io-client accepts. */
export type PeerSocketOptions = {
  /** Extreal's name for socket.io-client's `timeout` (ms to establish the connection). */
  connectionTimeout?: number;
  reconnection?: boolean;
  withCredentials?: boolean;
} & Partial<ManagerOptions & SocketOptions>;

export interface PeerClientConfig {
  /** The signaling server, e.g. `http://127.0.0.1:3010`. */
  url: string;
  socketOptions?: PeerSocketOptions;
  /** Passed to every `RTCPeerConnection` (ICE servers, policy …). */
  pcConfig?: RTCConfiguration;
  /** Vanilla ICE: the longest wait for gathering before the SDP is sent anyway (ms). Default 5000. */
  vanillaIceTimeout?: number;
  /**
   * The P2P start timeout of a client (ms): no `started$` by then → `startFailed$`.
   * Default 15000; 0 turns it off (the Unity bridge does: its C# side times the start).
   */
  p2pTimeout?: number;
  /** Announce and use trickle ICE with peers that announce it too. Default true. */
  trickle?: boolean;
  /**
   * Open rxpeer's control channel (label `rxpeer-control`) on each connection
   * this side offers, so every pair has something to connect, with a heartbeat
   * and an RTT in `peers$`. Default true.
   */
  controlChannel?: boolean;
  /** Heartbeat period on the control channel (ms). Default 1000. */
  heartbeatInterval?: number;
  /** Silence after which an rxpeer peer's link counts as broken: it is restarted, see `iceRestartGrace` (ms). Default 5000. */
  heartbeatTimeout?: number;
  /**
   * On the side that offered a connection: if it is not connected within this
   * time (ICE stuck without failing), it is renegotiated like a failed one,
   * once per connected period (ms). Default 15000; 0 turns it off.
   */
  pairTimeout?: number;
  /**
   * Use the ICE servers (TURN credentials) the signaling server hands out, if
   * it does (rxpeer-signaling with `--turn-secret`): they are appended to
   * `pcConfig.iceServers` of every peer connection made while they are
   * valid, and renewed before they expire. Default true; false ignores them.
   */
  serverIceServers?: boolean;
  /**
   * An rxpeer pair whose ICE stays `disconnected` (or whose heartbeat stays
   * silent) this long is restarted on the same connection (ms). Default 2000.
   */
  iceRestartGrace?: number;
  /** Time each ICE restart has to bring a pair back, and the least gap between two restarts (ms). Default 5000. */
  iceRestartInterval?: number;
  /** ICE restarts before a broken pair is closed and made anew. Default 3; 0 = close at once. */
  maxIceRestarts?: number;
  /** How long to wait for the server to acknowledge `create host` / `list hosts` (ms). Default 10000. */
  requestTimeout?: number;
  logger?: Logger;
}

export interface PeerClientDeps {
  /** Makes each peer connection. Defaults to the global `RTCPeerConnection`; Node apps inject an engine. */
  createPeerConnection?: (config: RTCConfiguration) => RTCPeerConnection;
  /** Times every timeout (a `TestScheduler` in specs). Default `asyncScheduler`. */
  scheduler?: SchedulerLike;
  /** Makes the signaling socket. Defaults to socket.io-client's `io` with `forceNew`. */
  createSocket?: (url: string, options: Partial<ManagerOptions & SocketOptions>) => SignalingSocket;
}

export type PeerRole = 'none' | 'host' | 'client';

/** What `client.state$` replays. */
export interface ClientStatus {
  /**
   * `idle`: not started (or stopped); `starting`: a start is under way;
   * `started`: the host's name was accepted / the client joined its host;
   * `stopping`: `stop()` is closing the peer connections.
   */
  readonly status: 'idle' | 'starting' | 'started' | 'stopping';
  /** The role of the start, from `starting` to `stopping`. */
  readonly role?: 'host' | 'client';
  /** This peer's id (its first socket id of this start), once `started`. */
  readonly id?: string;
}

/** How ICE candidates travel for one pair: all inside the SDP, or trickled after it. */
export type IceMode = 'vanilla' | 'trickle';

/** One peer as `peers$` shows it. */
export interface PeerState {
  readonly id: string;
  /** True when this side made the offer. */
  readonly isOffer: boolean;
  /** `trickle` between rxpeer peers, `vanilla` with peers that did not announce it (Extreal). */
  readonly mode: IceMode;
  /** Round-trip time over the control channel (ms), once measured. */
  readonly rtt?: number;
  readonly iceConnectionState: RTCIceConnectionState;
  readonly connectionState: RTCPeerConnectionState;
  /** `connecting`, `connected`, `reconnecting` (an ICE restart under way) or `closed` (issue 17). */
  readonly phase: PeerPhase;
  /** ICE restarts of this pair so far. */
  readonly restarts: number;
}

export type PcCreateHook = (id: string, isOffer: boolean, pc: RTCPeerConnection) => void | Promise<void>;
export type PcCloseHook = (id: string) => void | Promise<void>;

export interface PcCreateEvent {
  readonly id: string;
  readonly isOffer: boolean;
  readonly pc: RTCPeerConnection;
}

/** @internal Everything the client reports, on one bus. */
export type ClientEvent =
  | { type: 'started'; id: string }
  | { type: 'startFailed'; error: RxpeerError }
  | { type: 'connectFailed'; reason: string }
  | { type: 'disconnected'; reason: string }
  | { type: 'reconnected'; id: string }
  | { type: 'userConnecting'; id: string }
  | { type: 'userDisconnecting'; id: string }
  | { type: 'pcCreate'; id: string; isOffer: boolean; pc: RTCPeerConnection }
  | { type: 'pcClose'; id: string }
  | { type: 'error'; error: RxpeerError }
  | ({ type: 'peerPhase' } & PeerPhaseChange);
