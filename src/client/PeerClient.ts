/**
 * The composition root: PeerClient wires the signaling link and the session
 * streams together, and is the one place that subscribes. Its public streams
 * are views of one event bus; its read-only fields are derived from state.
 */
import {
  BehaviorSubject,
  Observable,
  Subject,
  Subscription,
  asyncScheduler,
  concatMap,
  defer,
  filter,
  firstValueFrom,
  map,
  race,
  skip,
  take,
  tap,
  throwError,
  type SchedulerLike,
} from 'rxjs';
import { io } from 'socket.io-client';
import {
  ClientDisposedError,
  ClientStoppedError,
  HostNameAlreadyExistsError,
  InvalidArgumentError,
  InvalidMessageError,
  InvalidStateError,
  RxpeerError,
  ServerRejectedError,
  serverRejection,
  SignalingConnectError,
} from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { ackTimeout } from '../operators/ackTimeout.js';
import { assertDuration } from '../operators/validate.js';
import {
  Status,
  parseCreateHostResponse,
  parseListHostsResponse,
  type CreateHostResponse,
  type HostInfo,
} from '../protocol/wire.js';
import { connected$, disconnect$, request$, socketEvent$, type SignalingSocket } from '../streams/signaling.js';
import { Session, type SessionRole } from './session.js';
import type {
  ClientEvent,
  PcCloseHook,
  PcCreateEvent,
  PcCreateHook,
  PeerClientConfig,
  PeerClientDeps,
  PeerRole,
  PeerSocketOptions,
  PeerState,
} from './types.js';

export const DEFAULT_VANILLA_ICE_TIMEOUT = 5000;
export const DEFAULT_P2P_TIMEOUT = 15000;
export const DEFAULT_REQUEST_TIMEOUT = 10000;
export const DEFAULT_HEARTBEAT_INTERVAL = 1000;
export const DEFAULT_HEARTBEAT_TIMEOUT = 5000;
export const DEFAULT_PAIR_TIMEOUT = 15000;

type ClientState =
  | { kind: 'idle' }
  | { kind: 'starting'; role: SessionRole }
  | { kind: 'running'; role: SessionRole };

/** The signaling socket and what watches it; lives from first use to stop. */
interface Link {
  readonly socket: SignalingSocket;
  readonly watch: Subscription;
}

function defaultCreatePeerConnection(config: RTCConfiguration): RTCPeerConnection {
  if (typeof globalThis.RTCPeerConnection !== 'function') {
    throw new InvalidStateError(
      'No global RTCPeerConnection: in Node, pass `createPeerConnection` (for example from @roamhq/wrtc) in the second argument of PeerClient',
    );
  }
  return new globalThis.RTCPeerConnection(config);
}

/**
 * socket.io-client options from the config. By default WebSocket comes first
 * (a join saves the long-polling handshake and upgrade, ≈ 5 ms on loopback),
 * with long-polling as the fallback where WebSocket is blocked.
 */
function toSocketOptions(options: PeerSocketOptions = {}): Record<string, unknown> {
  const { connectionTimeout, ...rest } = options;
  return {
    transports: ['websocket', 'polling'],
    tryAllTransports: true,
    ...rest,
    ...(connectionTimeout === undefined ? {} : { timeout: connectionTimeout }),
    autoConnect: false,
    forceNew: true,
  };
}

const defaultCreateSocket: NonNullable<PeerClientDeps['createSocket']> = (url, options) =>
  io(url, options);

/**
 * A peer of the host/client mesh (PROTOCOL.md). Start it as a host
 * (`startHost`) or join a host (`startClient`); watch it through its streams.
 *
 * @example
 * const client = new PeerClient({ url: 'http://127.0.0.1:3010' });
 * client.addPcCreateHook((id, isOffer, pc) => { if (isOffer) pc.createDataChannel('chat'); });
 * client.started$.subscribe((me) => console.log('started as', me));
 * await client.startHost('my-room');
 */
export class PeerClient {
  private readonly events$ = new Subject<ClientEvent>();
  private readonly peersSubject$ = new BehaviorSubject<ReadonlyMap<string, PeerState>>(new Map());
  private readonly state$ = new BehaviorSubject<ClientState>({ kind: 'idle' });
  private readonly stopSignal$ = new Subject<void>();
  private readonly createHooks: PcCreateHook[] = [];
  private readonly closeHooks: PcCloseHook[] = [];
  private readonly scheduler: SchedulerLike;
  private readonly createPeerConnection: (config: RTCConfiguration) => RTCPeerConnection;
  private readonly createSocket: NonNullable<PeerClientDeps['createSocket']>;
  private readonly log: Logger;
  private readonly vanillaIceTimeout: number;
  private readonly p2pTimeout: number;
  private readonly requestTimeout: number;
  private readonly heartbeatInterval: number;
  private readonly heartbeatTimeout: number;
  private readonly pairTimeout: number;
  private link: Link | undefined;
  private session: Session | undefined;
  private disposed = false;

  /** Own client id once started (host: its socket id; client: its socket id). */
  readonly started$: Observable<string>;
  /** The start did not complete in time (or the host left); the client has been stopped. */
  readonly startFailed$: Observable<void>;
  /** The signaling connection could not be made; the reason. */
  readonly connectFailed$: Observable<string>;
  /** An established signaling connection dropped (never for a stop the app asked for); the reason. */
  readonly disconnected$: Observable<string>;
  /**
   * The signaling connection came back after a drop (socket.io reconnects
   * with backoff when `socketOptions.reconnection` is on, its default); the
   * new socket id. Peer connections stayed up; a host has claimed its name
   * again, and peers re-learnt each other's ids over rxpeer's control channel.
   */
  readonly reconnected$: Observable<string>;
  /** A peer id, just before its peer connection is made. */
  readonly userConnecting$: Observable<string>;
  /** A peer id, just before its peer connection is closed. */
  readonly userDisconnecting$: Observable<string>;
  /** Every peer and its connection state; the current map on subscription. */
  readonly peers$: Observable<ReadonlyMap<string, PeerState>>;
  /** The create hook as a stream: each new peer connection, before any negotiation on it. */
  readonly pcCreate$: Observable<PcCreateEvent>;
  /** The close hook as a stream: a peer id, after its close hooks ran and its connection closed. */
  readonly pcClose$: Observable<string>;
  /** Hook failures, failed negotiation steps, bad messages, start failures. */
  readonly errors$: Observable<RxpeerError>;

  constructor(
    private readonly config: PeerClientConfig,
    deps: PeerClientDeps = {},
  ) {
    if (typeof config?.url !== 'string' || config.url === '') {
      throw new InvalidArgumentError('config.url', 'the signaling server URL must be a non-empty string');
    }
    this.vanillaIceTimeout = config.vanillaIceTimeout ?? DEFAULT_VANILLA_ICE_TIMEOUT;
    this.p2pTimeout = config.p2pTimeout ?? DEFAULT_P2P_TIMEOUT;
    this.requestTimeout = config.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT;
    this.heartbeatInterval = config.heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL;
    this.heartbeatTimeout = config.heartbeatTimeout ?? DEFAULT_HEARTBEAT_TIMEOUT;
    this.pairTimeout = config.pairTimeout ?? DEFAULT_PAIR_TIMEOUT;
    assertDuration(this.vanillaIceTimeout, 'config.vanillaIceTimeout');
    assertDuration(this.p2pTimeout, 'config.p2pTimeout');
    assertDuration(this.requestTimeout, 'config.requestTimeout');
    assertDuration(this.heartbeatInterval, 'config.heartbeatInterval');
    assertDuration(this.heartbeatTimeout, 'config.heartbeatTimeout');
    assertDuration(this.pairTimeout, 'config.pairTimeout');
    if (this.heartbeatInterval === 0) throw new TypeError('config.heartbeatInterval must be > 0');
    this.scheduler = deps.scheduler ?? asyncScheduler;
    this.createPeerConnection = deps.createPeerConnection ?? defaultCreatePeerConnection;
    this.createSocket = deps.createSocket ?? defaultCreateSocket;
    this.log = (config.logger ?? silentLogger).child('client');

    const on = <T extends ClientEvent['type']>(type: T): Observable<Extract<ClientEvent, { type: T }>> =>
      this.events$.pipe(filter((e): e is Extract<ClientEvent, { type: T }> => e.type === type));
    this.started$ = on('started').pipe(map((e) => e.id));
    this.startFailed$ = on('startFailed').pipe(map(() => undefined));
    this.connectFailed$ = on('connectFailed').pipe(map((e) => e.reason));
    this.disconnected$ = on('disconnected').pipe(map((e) => e.reason));
    this.reconnected$ = on('reconnected').pipe(map((e) => e.id));
    this.userConnecting$ = on('userConnecting').pipe(map((e) => e.id));
    this.userDisconnecting$ = on('userDisconnecting').pipe(map((e) => e.id));
    this.pcCreate$ = on('pcCreate').pipe(map(({ id, isOffer, pc }) => ({ id, isOffer, pc })));
    this.pcClose$ = on('pcClose').pipe(map((e) => e.id));
    this.errors$ = on('error').pipe(map((e) => e.error));
    this.peers$ = this.peersSubject$.asObservable();
  }

  // -------------------------------------------------------------------------
  // Derived, read-only state.

  /** True from a start until stop. */
  get isRunning(): boolean {
    return this.state$.value.kind !== 'idle';
  }

  get role(): PeerRole {
    const state = this.state$.value;
    return state.kind === 'idle' ? 'none' : state.role.role;
  }

  /** The host this client joined (a client), or its own id once started (a host). */
  get hostId(): string | undefined {
    const state = this.state$.value;
    if (state.kind === 'idle') return undefined;
    return state.role.role === 'client' ? state.role.hostId : this.clientId;
  }

  /** The signaling socket id, while connected. */
  get clientId(): string | undefined {
    return this.link?.socket.connected === true ? this.link.socket.id : undefined;
  }

  // -------------------------------------------------------------------------
  // Hooks.

  /** Runs for every new peer connection, before any negotiation on it; awaited in the order added. */
  addPcCreateHook(hook: PcCreateHook): () => void {
    return this.addHook(this.createHooks, hook, 'addPcCreateHook');
  }

  /** Runs for every peer connection just before it closes; awaited in the order added. */
  addPcCloseHook(hook: PcCloseHook): () => void {
    return this.addHook(this.closeHooks, hook, 'addPcCloseHook');
  }

  private addHook<H>(hooks: H[], hook: H, name: string): () => void {
    this.assertUsable(name);
    if (typeof hook !== 'function') throw new InvalidArgumentError('hook', `${name} takes a function`);
    hooks.push(hook);
    return () => {
      const index = hooks.indexOf(hook);
      if (index >= 0) hooks.splice(index, 1);
    };
  }

  // -------------------------------------------------------------------------
  // Requests.

  /** Lists the hosts on the signaling server (connects first if needed). */
  listHosts$(): Observable<HostInfo[]> {
    return defer(() => {
      this.assertUsable('listHosts');
      const { socket } = this.ensureLink();
      return this.connect$(socket).pipe(
        concatMap(() => request$(socket, 'list hosts').pipe(ackTimeout(this.requestTimeout, 'list hosts', this.scheduler))),
        map((raw) => {
          const response = parseListHostsResponse(raw);
          if (response === undefined) throw new InvalidMessageError('malformed "list hosts" response', raw);
          if (response.status !== Status.Ok) {
            throw new ServerRejectedError('list hosts', response.status, response.message ?? '');
          }
          return response.hosts;
        }),
        this.untilStopped('listHosts'),
      );
    });
  }

  listHosts(): Promise<HostInfo[]> {
    return firstValueFrom(this.listHosts$());
  }

  /**
   * Starts as the host of group `name`. Completes once the server accepted
   * the name (`started$` emits then); errors with
   * {@link HostNameAlreadyExistsError} on 409.
   */
  startHost$(name: string): Observable<void> {
    return this.startHostResponse$(name).pipe(map(() => undefined));
  }

  /**
   * {@link startHost$}, emitting the server's acknowledgement.
   * @internal for the Unity bridge, which hands the response to C# as it came.
   */
  startHostResponse$(name: string): Observable<CreateHostResponse> {
    return defer(() => {
      this.assertIdle('startHost');
      if (typeof name !== 'string' || name.trim() === '') {
        throw new InvalidArgumentError('name', 'a host name must be a non-empty string');
      }
      const role: SessionRole = { role: 'host', name };
      const { socket } = this.beginStart(role);
      return this.connect$(socket).pipe(
        tap(() => this.openSession(role, socket)),
        concatMap(() => request$(socket, 'create host', name).pipe(ackTimeout(this.requestTimeout, 'create host', this.scheduler))),
        map((raw) => {
          const response = parseCreateHostResponse(raw);
          if (response === undefined) throw new InvalidMessageError('malformed "create host" response', raw);
          if (response.status === Status.Conflict) throw new HostNameAlreadyExistsError(name, response.message);
          if (response.status !== Status.Ok) throw serverRejection('create host', response.status, response.message);
          this.state$.next({ kind: 'running', role });
          const id = socket.id ?? '';
          this.log.info('started as host', { name, id });
          this.events$.next({ type: 'started', id });
          return response;
        }),
        this.untilStopped('startHost'),
        this.stopOnError(),
      );
    });
  }

  startHost(name: string): Promise<void> {
    return firstValueFrom(this.startHost$(name));
  }

  /**
   * Joins the host with socket id `hostId`. Completes once `join` is sent;
   * `started$` says when the mesh with the host is up, `startFailed$` if it
   * is not within the start timeout.
   */
  startClient$(hostId: string): Observable<void> {
    return defer(() => {
      this.assertIdle('startClient');
      if (typeof hostId !== 'string' || hostId === '') {
        throw new InvalidArgumentError('hostId', 'a host id must be a non-empty string');
      }
      const role: SessionRole = { role: 'client', hostId };
      const { socket } = this.beginStart(role);
      return this.connect$(socket).pipe(
        map(() => {
          const session = this.openSession(role, socket);
          this.state$.next({ kind: 'running', role });
          this.log.info('joining host', { hostId, id: socket.id });
          session.join();
        }),
        this.untilStopped('startClient'),
        this.stopOnError(),
      );
    });
  }

  startClient(hostId: string): Promise<void> {
    return firstValueFrom(this.startClient$(hostId));
  }

  // -------------------------------------------------------------------------
  // Stop and dispose.

  /**
   * Sends `bye` to every peer, closes every peer connection (close hooks run
   * once each), resets the started state and closes the socket. Pending
   * requests reject with {@link ClientStoppedError}. Idempotent; resolves
   * when every close hook has run.
   */
  stop(): Promise<void> {
    const session = this.session;
    const link = this.link;
    this.session = undefined;
    this.link = undefined;
    if (this.state$.value.kind !== 'idle') this.log.info('stopping');
    this.state$.next({ kind: 'idle' });
    this.stopSignal$.next();
    const closing = session?.stop() ?? Promise.resolve();
    if (link !== undefined) {
      link.watch.unsubscribe();
      link.socket.disconnect();
    }
    return closing;
  }

  stop$(): Observable<void> {
    return defer(() => this.stop());
  }

  /** Stops, then completes every stream; the client cannot be used again. Idempotent. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.stop();
    this.events$.complete();
    this.peersSubject$.complete();
    this.state$.complete();
    this.stopSignal$.complete();
    this.createHooks.length = 0;
    this.closeHooks.length = 0;
  }

  // -------------------------------------------------------------------------
  // Internals.

  private assertUsable(operation: string): void {
    if (this.disposed) throw new ClientDisposedError(operation);
  }

  private assertIdle(operation: string): void {
    this.assertUsable(operation);
    if (this.state$.value.kind !== 'idle') {
      throw new InvalidStateError(`Cannot ${operation}: the client is already running as ${this.role}; stop it first`, {
        operation,
        role: this.role,
      });
    }
  }

  private beginStart(role: SessionRole): Link {
    this.state$.next({ kind: 'starting', role });
    return this.ensureLink();
  }

  private ensureLink(): Link {
    if (this.link !== undefined) return this.link;
    const socket = this.createSocket(this.config.url, toSocketOptions(this.config.socketOptions));
    const watch = disconnect$(socket)
      .pipe(filter((reason) => reason !== 'io client disconnect'))
      .subscribe((reason) => {
        this.log.info('signaling disconnected', { reason });
        this.events$.next({ type: 'disconnected', reason });
      });
    watch.add(
      socketEvent$(socket, 'connect')
        .pipe(skip(1))
        .subscribe(() => {
          this.log.info('signaling reconnected', { id: socket.id });
          this.events$.next({ type: 'reconnected', id: socket.id ?? '' });
        }),
    );
    this.link = { socket, watch };
    return this.link;
  }

  /** Connects the link's socket; the first failure is reported on `connectFailed$` and stops the client. */
  private connect$(socket: SignalingSocket): Observable<void> {
    return connected$(socket, this.config.url).pipe(
      tap({
        error: (error: unknown) => {
          const reason = error instanceof SignalingConnectError ? error.reason : String(error);
          this.log.info('signaling connect failed', { url: this.config.url, reason });
          this.events$.next({ type: 'connectFailed', reason });
          // No retry storm: drop the link. A start that was waiting is stopped by `stopOnError`.
          if (this.link?.socket === socket && this.state$.value.kind === 'idle') {
            this.link.watch.unsubscribe();
            this.link = undefined;
            socket.disconnect();
          }
        },
      }),
    );
  }

  private openSession(role: SessionRole, socket: SignalingSocket): Session {
    const session = new Session({
      socket,
      role,
      createPeerConnection: this.createPeerConnection,
      pcConfig: this.config.pcConfig ?? {},
      vanillaIceTimeout: this.vanillaIceTimeout,
      p2pTimeout: this.p2pTimeout,
      requestTimeout: this.requestTimeout,
      trickle: this.config.trickle ?? true,
      controlChannel: this.config.controlChannel ?? true,
      heartbeatInterval: this.heartbeatInterval,
      heartbeatTimeout: this.heartbeatTimeout,
      pairTimeout: this.pairTimeout,
      scheduler: this.scheduler,
      logger: this.log,
      createHooks: this.createHooks,
      closeHooks: this.closeHooks,
      events$: this.events$,
      peers$: this.peersSubject$,
      onStartFailed: (error) => {
        if (this.session !== session) return;
        this.events$.next({ type: 'error', error });
        this.events$.next({ type: 'startFailed', error });
        void this.stop();
      },
    });
    this.session = session;
    session.start();
    return session;
  }

  /** Errors with {@link ClientStoppedError} when the client stops before the source finishes. */
  private untilStopped<T>(operation: string): (source: Observable<T>) => Observable<T> {
    return (source) =>
      race(
        source,
        this.stopSignal$.pipe(
          take(1),
          concatMap(() => throwError(() => new ClientStoppedError(operation))),
        ),
      );
  }

  /** A start that fails leaves nothing running. */
  private stopOnError<T>(): (source: Observable<T>) => Observable<T> {
    return (source) =>
      source.pipe(
        tap({
          error: (error: unknown) => {
            if (!(error instanceof ClientStoppedError)) void this.stop();
          },
        }),
      );
  }
}
