/**
 * The composition root: PeerClient wires the signaling link and the session
 * streams together, and is the one place that subscribes. Its public streams
 * are views of one event bus; its read-only fields are derived from state.
 */
import {
  BehaviorSubject,
  EMPTY,
  Observable,
  Subject,
  Subscription,
  asyncScheduler,
  concatMap,
  defer,
  distinctUntilChanged,
  filter,
  firstValueFrom,
  map,
  merge,
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
  InvalidConfigError,
  InvalidMessageError,
  InvalidStateError,
  RxpeerError,
  ServerRejectedError,
  serverRejection,
  SignalingConnectError,
} from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { ackTimeout } from '../operators/ackTimeout.js';
import {
  CLIENT_HANDSHAKE_AUTH,
  Status,
  parseCreateHostResponse,
  parseListHostsResponse,
  type CreateHostResponse,
  type HostInfo,
} from '../protocol/wire.js';
import { connected$, disconnect$, request$, socketEvent$, type SignalingSocket } from '../streams/signaling.js';
import { ChannelHub, type BinaryType, type Channel, type ChannelOptions } from './channel.js';
import { Session, type SessionRole } from './session.js';
import { serverIceServers$, withServerIceServers, type ServerIceServers } from './iceServers.js';
import { iceRestartPolicy, type IceRestartPolicy, type PeerPhaseChange } from './link.js';
import type {
  ClientEvent,
  ClientStatus,
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
  | { kind: 'starting'; role: SessionRole; start: object }
  | { kind: 'started'; role: SessionRole; id: string }
  | { kind: 'stopping'; role: SessionRole };

/** A config duration: a finite number of ms ≥ 0 (≥ 1 when `positive`). */
function checkDuration(value: number, field: string, positive = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (positive && value === 0)) {
    throw new InvalidConfigError(`config.${field}`, `must be a finite number of milliseconds ${positive ? '> 0' : '≥ 0'}, got ${String(value)}`, value);
  }
  return value;
}

/** The signaling socket and what watches it; lives from first use to stop. */
interface Link {
  readonly socket: SignalingSocket;
  readonly watch: Subscription;
  /** The server's latest ICE servers for this socket (renewed before they expire). */
  readonly iceServers: BehaviorSubject<ServerIceServers | undefined>;
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
    // Tells the server this client reads every status (docs/limits.md: Extreal clients get 409 instead).
    ...rest,
    // The app's own `auth` (a token …) keeps the caps unless it sets its own.
    auth: { caps: [...CLIENT_HANDSHAKE_AUTH.caps], ...(rest.auth as object | undefined) },
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
  private readonly machine$ = new BehaviorSubject<ClientState>({ kind: 'idle' });
  private readonly hub: ChannelHub;
  private readonly internal = new Subscription();
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

  /**
   * Where the client is in its lifecycle; replays the current state on
   * subscription (like a `BehaviorSubject`). `role` is set from a start until
   * idle again, `id` (this peer's id) once started. Completes on `dispose()`.
   */
  readonly state$: Observable<ClientStatus>;
  /**
   * An event, once per start: this peer's id when it has started (host: the
   * server accepted its name; client: `done` from the host and ICE with it up).
   * Does not replay: read `state$` for "am I started now?".
   */
  readonly started$: Observable<string>;
  /**
   * An event: the start failed (a client: {@link StartTimeoutError} `START_TIMEOUT`,
   * {@link HostLeftError} `HOST_LEFT` …); the client has been stopped.
   */
  readonly startFailed$: Observable<RxpeerError>;
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
  /** Each change of a pair's phase (connecting, connected, reconnecting, closed) with its ICE restart count. An event stream. */
  readonly peerPhase$: Observable<PeerPhaseChange>;
  private readonly iceRestart: IceRestartPolicy;

  constructor(
    private readonly config: PeerClientConfig,
    deps: PeerClientDeps = {},
  ) {
    if (typeof config?.url !== 'string' || config.url === '') {
      throw new InvalidArgumentError('config.url', 'the signaling server URL must be a non-empty string');
    }
    this.vanillaIceTimeout = checkDuration(config.vanillaIceTimeout ?? DEFAULT_VANILLA_ICE_TIMEOUT, 'vanillaIceTimeout');
    this.p2pTimeout = checkDuration(config.p2pTimeout ?? DEFAULT_P2P_TIMEOUT, 'p2pTimeout');
    this.requestTimeout = checkDuration(config.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT, 'requestTimeout');
    this.heartbeatInterval = checkDuration(config.heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL, 'heartbeatInterval', true);
    this.heartbeatTimeout = checkDuration(config.heartbeatTimeout ?? DEFAULT_HEARTBEAT_TIMEOUT, 'heartbeatTimeout');
    this.pairTimeout = checkDuration(config.pairTimeout ?? DEFAULT_PAIR_TIMEOUT, 'pairTimeout');
    this.iceRestart = iceRestartPolicy(config);
    this.scheduler = deps.scheduler ?? asyncScheduler;
    this.createPeerConnection = deps.createPeerConnection ?? defaultCreatePeerConnection;
    this.createSocket = deps.createSocket ?? defaultCreateSocket;
    this.log = (config.logger ?? silentLogger).child('client');

    const on = <T extends ClientEvent['type']>(type: T): Observable<Extract<ClientEvent, { type: T }>> =>
      this.events$.pipe(filter((e): e is Extract<ClientEvent, { type: T }> => e.type === type));
    this.started$ = on('started').pipe(map((e) => e.id));
    this.startFailed$ = on('startFailed').pipe(map((e) => e.error));
    this.connectFailed$ = on('connectFailed').pipe(map((e) => e.reason));
    this.disconnected$ = on('disconnected').pipe(map((e) => e.reason));
    this.reconnected$ = on('reconnected').pipe(map((e) => e.id));
    this.userConnecting$ = on('userConnecting').pipe(map((e) => e.id));
    this.userDisconnecting$ = on('userDisconnecting').pipe(map((e) => e.id));
    this.pcCreate$ = on('pcCreate').pipe(map(({ id, isOffer, pc }) => ({ id, isOffer, pc })));
    this.pcClose$ = on('pcClose').pipe(map((e) => e.id));
    this.errors$ = on('error').pipe(map((e) => e.error));
    this.peers$ = this.peersSubject$.asObservable();
    this.peerPhase$ = on('peerPhase').pipe(map(({ id, phase, restarts }) => ({ id, phase, restarts })));
    this.state$ = this.machine$.pipe(
      map((state): ClientStatus => {
        switch (state.kind) {
          case 'idle':
            return { status: 'idle' };
          case 'starting':
          case 'stopping':
            return { status: state.kind, role: state.role.role };
          case 'started':
            return { status: 'started', role: state.role.role, id: state.id };
          default: {
            const unreachable: never = state;
            return unreachable;
          }
        }
      }),
      distinctUntilChanged((a, b) => a.status === b.status && a.role === b.role && a.id === b.id),
    );

    this.hub = new ChannelHub({
      scheduler: this.scheduler,
      logger: this.log.child('channel'),
      report: (error) => this.events$.next({ type: 'error', error }),
      isRxpeer: (id) => this.peersSubject$.value.get(id)?.mode === 'trickle',
    });
    // The first subscriber of the bus: state and channels follow each event before the app hears it.
    this.internal.add(
      this.events$.subscribe((event) => {
        switch (event.type) {
          case 'started': {
            const state = this.machine$.value;
            if (state.kind === 'starting') this.machine$.next({ kind: 'started', role: state.role, id: event.id });
            return;
          }
          case 'pcCreate':
            this.hub.added(event.id, event.pc, event.isOffer);
            return;
          case 'userDisconnecting':
          case 'pcClose':
            this.hub.removed(event.id);
            return;
          case 'startFailed':
          case 'peerPhase':
          case 'connectFailed':
          case 'disconnected':
          case 'reconnected':
          case 'userConnecting':
          case 'error':
            return;
          default: {
            const unreachable: never = event;
            return unreachable;
          }
        }
      }),
    );
  }

  // -------------------------------------------------------------------------
  // Data.

  /**
   * The data channel `label` with every peer of the mesh, present and future
   * (see docs/data.md). Declaring a label again returns the same object
   * (with other options, it throws {@link InvalidArgumentError}).
   *
   * @example
   * const chat = client.channel('chat');
   * chat.messages$.subscribe(({ from, data }) => console.log(from, data));
   * await chat.broadcast('hello');
   */
  channel<B extends BinaryType = 'arraybuffer'>(label: string, options?: ChannelOptions<B>): Channel<B> {
    this.assertUsable('channel');
    return this.hub.channel(label, options);
  }

  // -------------------------------------------------------------------------
  // Derived, read-only state.

  /** True from a start until stop. */
  get isRunning(): boolean {
    const { kind } = this.machine$.value;
    return kind === 'starting' || kind === 'started';
  }

  get role(): PeerRole {
    const state = this.machine$.value;
    return state.kind === 'idle' || state.kind === 'stopping' ? 'none' : state.role.role;
  }

  /** The host this client joined (a client), or its own id once started (a host). */
  get hostId(): string | undefined {
    const state = this.machine$.value;
    if (state.kind === 'idle' || state.kind === 'stopping') return undefined;
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
   * Starts as the host of group `name`. Emits and completes once the server
   * accepted the name (`started$` emits then, `state$` says `started`);
   * errors with {@link HostNameAlreadyExistsError} on 409. Unsubscribing
   * before that cancels the start: the client is idle again, its socket
   * closed, and a new start may begin at once.
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
      const { start, link } = this.beginStart(role);
      const { socket } = link;
      return this.connect$(socket).pipe(
        tap(() => this.openSession(role, socket)),
        concatMap(() => request$(socket, 'create host', name).pipe(ackTimeout(this.requestTimeout, 'create host', this.scheduler))),
        map((raw) => {
          const response = parseCreateHostResponse(raw);
          if (response === undefined) throw new InvalidMessageError('malformed "create host" response', raw);
          if (response.status === Status.Conflict) throw new HostNameAlreadyExistsError(name, response.message);
          if (response.status !== Status.Ok) throw serverRejection('create host', response.status, response.message);
          const id = socket.id ?? '';
          this.machine$.next({ kind: 'started', role, id });
          this.log.info('started as host', { name, id });
          this.events$.next({ type: 'started', id });
          return response;
        }),
        this.untilStopped('startHost'),
        this.stopOnError(),
        this.cancelOnUnsubscribe(start),
      );
    });
  }

  startHost(name: string): Promise<void> {
    return firstValueFrom(this.startHost$(name));
  }

  /**
   * Joins the host with socket id `hostId`. Emits and completes once the
   * client has started (`done` from the host and ICE with it up; `started$`
   * emits then); errors with the start failure ({@link StartTimeoutError},
   * {@link HostLeftError} …, also on `startFailed$`), or
   * {@link ClientStoppedError} when stopped first. Unsubscribing before it
   * completes cancels the start (idle again, socket closed).
   */
  startClient$(hostId: string): Observable<void> {
    return defer(() => {
      this.assertIdle('startClient');
      if (typeof hostId !== 'string' || hostId === '') {
        throw new InvalidArgumentError('hostId', 'a host id must be a non-empty string');
      }
      const role: SessionRole = { role: 'client', hostId };
      const { start, link } = this.beginStart(role);
      const { socket } = link;
      const outcome$ = this.events$.pipe(
        filter((e) => e.type === 'started' || e.type === 'startFailed'),
        take(1),
        map((e) => {
          if (e.type === 'startFailed') throw e.error;
          return undefined;
        }),
      );
      return this.connect$(socket).pipe(
        concatMap(() => {
          const session = this.openSession(role, socket);
          this.log.info('joining host', { hostId, id: socket.id });
          // Listening for the outcome before the `join` goes out.
          return merge(
            outcome$,
            defer(() => {
              session.join();
              return EMPTY;
            }),
          );
        }),
        take(1),
        this.untilStopped('startClient'),
        this.stopOnError(),
        this.cancelOnUnsubscribe(start),
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
   * requests reject with {@link ClientStoppedError}. `state$` says
   * `stopping` until every close hook has run, then `idle`; a new start may
   * begin at once all the same. Idempotent; resolves when every close hook
   * has run.
   */
  stop(): Promise<void> {
    const session = this.session;
    const link = this.link;
    this.session = undefined;
    this.link = undefined;
    const state = this.machine$.value;
    const stopping = state.kind === 'starting' || state.kind === 'started' ? { kind: 'stopping' as const, role: state.role } : undefined;
    if (stopping !== undefined) {
      this.log.info('stopping');
      this.machine$.next(stopping);
    }
    this.stopSignal$.next();
    const closing = session?.stop() ?? Promise.resolve();
    let closed: Promise<void> = closing;
    if (link !== undefined) {
      link.watch.unsubscribe();
      // The socket closes once the byes have left (acknowledged, or at requestTimeout).
      const byes = session?.farewell();
      if (byes === undefined) link.socket.disconnect();
      else closed = Promise.all([closing, byes.then(() => link.socket.disconnect())]).then(() => undefined);
    }
    return closed.finally(() => {
      // Unless a new start began meanwhile.
      if (this.machine$.value === stopping) this.machine$.next({ kind: 'idle' });
    });
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
    this.hub.dispose();
    this.internal.unsubscribe();
    this.machine$.complete();
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
    const { kind } = this.machine$.value;
    if (kind === 'starting' || kind === 'started') {
      throw new InvalidStateError(`Cannot ${operation}: the client is already running as ${this.role}; stop it first`, {
        operation,
        role: this.role,
      });
    }
  }

  private beginStart(role: SessionRole): { start: object; link: Link } {
    const start = {};
    this.machine$.next({ kind: 'starting', role, start });
    return { start, link: this.ensureLink() };
  }

  /**
   * A start whose subscriber leaves before it emitted or failed is undone
   * (RxJS: unsubscribing cancels the work), unless another start replaced it.
   */
  private cancelOnUnsubscribe<T>(start: object): (source: Observable<T>) => Observable<T> {
    return (source) =>
      new Observable<T>((subscriber) => {
        let settled = false;
        const subscription = source.subscribe({
          next: (value) => {
            settled = true;
            subscriber.next(value);
          },
          error: (error: unknown) => {
            settled = true;
            subscriber.error(error);
          },
          complete: () => {
            settled = true;
            subscriber.complete();
          },
        });
        return () => {
          subscription.unsubscribe();
          const state = this.machine$.value;
          if (!settled && state.kind === 'starting' && state.start === start) {
            this.log.info('start cancelled (unsubscribed)');
            void this.stop();
          }
        };
      });
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
    const iceServers = new BehaviorSubject<ServerIceServers | undefined>(undefined);
    if (this.config.serverIceServers !== false) {
      watch.add(
        serverIceServers$(socket, { scheduler: this.scheduler }).subscribe((grant) => iceServers.next(grant)),
      );
    }
    watch.add(() => iceServers.complete());
    this.link = { socket, watch, iceServers };
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
          if (this.link?.socket === socket && !this.isRunning) {
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
      // Each connection gets the server's ICE servers that are valid when it is made.
      createPeerConnection: (config) =>
        this.createPeerConnection(
          withServerIceServers(config, this.link?.iceServers.value, this.scheduler.now()),
        ),
      pcConfig: this.config.pcConfig ?? {},
      vanillaIceTimeout: this.vanillaIceTimeout,
      p2pTimeout: this.p2pTimeout,
      requestTimeout: this.requestTimeout,
      trickle: this.config.trickle ?? true,
      controlChannel: this.config.controlChannel ?? true,
      heartbeatInterval: this.heartbeatInterval,
      heartbeatTimeout: this.heartbeatTimeout,
      pairTimeout: this.pairTimeout,
      iceRestart: this.iceRestart,
      reconnection:
        this.config.socketOptions?.reconnection === false
          ? undefined
          : {
              delay: this.config.socketOptions?.reconnectionDelay ?? 1000,
              delayMax: this.config.socketOptions?.reconnectionDelayMax ?? 5000,
            },
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
