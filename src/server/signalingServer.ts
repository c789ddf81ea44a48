/**
 * The rxpeer signaling server: Socket.IO 4, PROTOCOL.md §1–4, hardened.
 * This module owns the lifecycle (HTTP, Socket.IO, state backend, close);
 * each socket is handled by `connection.ts`, what the server sends on its
 * own by `notifier.ts`.
 */

import { statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { pino, type Level, type Logger as PinoLogger } from 'pino';
import { Server, type ServerOptions } from 'socket.io';
import { RxpeerError, describe } from '../errors.js';
import type { ClientToServerEvents, ServerToClientEvents } from '../protocol/wire.js';
import { handleConnection } from './connection.js';
import { HostPages } from './hostList.js';
import {
  clientAddress,
  installHandshakeGate,
  limitConnectionsPerAddress,
  type Refusal,
} from './admission.js';
import { EngineGuard, forceClose, type EngineConnection } from './engineGuard.js';
import { ConnectionTracker } from './lifecycle.js';
import { MemoryGuard, v8Heap, type HeapProbe } from './memoryGuard.js';
import { PacketGuard } from './packetGuard.js';
import {
  InboundByteBudget,
  installPollingThrottle,
  throttleWebSocket,
  type ThrottledWebSocket,
  type WebSocketThrottle,
} from './inboundBytes.js';
import { TransportCounter, type HandshakeRefusal, type TransportStats } from './transportStats.js';
import { createAuthenticator, OPEN_POLICY, type AuthOptions } from './auth.js';
import { Drain, resolveDrain, type DrainOptions, type Readiness } from './drain.js';
import { NO_METRICS, ServerMetrics, type MetricsOptions } from './metrics.js';
import { operationsRoutes } from './opsRoutes.js';
import { TurnIssuer, type TurnOptions } from './turnCredentials.js';
import { createRequestListener, type Health, type RequestHandler } from './http.js';
import { resolveLimits, type SignalingLimits } from './limits.js';
import { createNotifier } from './notifier.js';
import { addressKey, Quotas } from './quotas.js';
import { systemClock, type Clock } from './rateLimit.js';
import { startRedisCluster, type RedisCluster, type RedisClusterOptions } from './redisCluster.js';
import { InMemorySignalingState, StateUnavailableError, type SignalingState } from './state.js';
import { StatsCounter, type SignalingStats } from './stats.js';

export { ServerStatus, type MessageAck } from './connection.js';

export interface CorsOptions {
  /** `'*'` (default) or the allowed origins. When not `'*'`, handshakes from other `Origin`s are refused (403), WebSocket included. */
  origin?: string | readonly string[];
  /** `Access-Control-Allow-Credentials`. With origin `'*'`, the request's origin is reflected instead of `*`. */
  credentials?: boolean;
}

export interface SignalingServerOptions {
  /** Port to listen on; `0` picks a free one. Default 3010. Ignored when `httpServer` is already listening. */
  port?: number;
  /** Address to listen on. Default `127.0.0.1`. */
  host?: string;
  /**
   * An HTTP server to attach to instead of creating one. Socket.IO takes
   * its path on it; every other route, `/healthz` included, stays the
   * caller's (see {@link SignalingServer.health}). If it is not listening yet,
   * it is started on `port`/`host`. `close()` closes it too.
   */
  httpServer?: HttpServer;
  /** Extra routes on the created server: runs after `/healthz`, before `staticDir`. */
  onRequest?: RequestHandler;
  /** Serve files from this directory for GET/HEAD requests outside `/socket.io` and `/healthz`. */
  staticDir?: string;
  cors?: CorsOptions;
  /** `true` logs every event (level debug) with pino to stdout; a level logs from it up. Default: silent. */
  logging?: boolean | Level;
  /** A pino logger to use instead (overrides `logging`). */
  logger?: PinoLogger;
  /** Overrides of {@link DEFAULT_LIMITS}. */
  limits?: Partial<SignalingLimits>;
  /** State backend; default in-memory. A passed backend is not closed by `close()`. */
  state?: SignalingState;
  /** Socket.IO adapter. */
  adapter?: ServerOptions['adapter'];
  /**
   * Join a cluster of nodes through Redis: a `redis://` URL, or the URL with
   * tuning. The state moves to Redis and Socket.IO gets the Redis Streams
   * adapter (README "Running several nodes"). Not combinable with `state` or
   * `adapter`. Without it the server is one process and never loads a Redis client.
   */
  redis?: string | RedisClusterOptions;
  /** Millisecond clock for the rate limits; specs inject a fake one. */
  clock?: Clock;
  /**
   * Admission by token (docs/operations.md): every connection must present a
   * token the server verifies; its `rxpeer` claim restricts which hosts it
   * may create and join. Without it the server is open.
   */
  auth?: AuthOptions;
  /** Timing of `drain()` (SIGTERM with the CLI); see docs/operations.md "Drain". */
  drain?: DrainOptions;
  /** Prometheus metrics at `GET /metrics` (default on); `false` turns them off, `{ port }` serves them on their own port. */
  metrics?: boolean | MetricsOptions;
  /** Mint TURN credentials (coturn `use-auth-secret`) and hand each client its ICE servers. */
  turn?: TurnOptions;
  /**
   * Reverse proxies in front of the server whose `X-Forwarded-For` is
   * trusted: the per-address limits then count the address the outermost of
   * them saw. Default 0: the header is ignored (anyone can write it) and the
   * TCP peer counts. With a value above 0, `maxConnectionsPerAddress` is not
   * applied (every TCP connection comes from a proxy).
   */
  trustProxy?: number;
  /** @internal Reads the heap for the memory guard; specs inject a fake one. */
  heapProbe?: HeapProbe;
}

/** Thrown by {@link createSignalingServer} for an option that cannot work. */
export class SignalingConfigError extends RxpeerError {
  constructor(message: string) {
    super('INVALID_CONFIG', message);
  }
}

/** `stats()`: the protocol counters, and the transport's under `transport`. */
export type ServerStats = SignalingStats & { transport: TransportStats };

export interface SignalingServer {
  /** The port it listens on. */
  readonly port: number;
  /** The address it listens on. */
  readonly host: string;
  /** `http://host:port`. */
  readonly url: string;
  readonly httpServer: HttpServer;
  readonly io: Server<ClientToServerEvents, ServerToClientEvents>;
  readonly state: SignalingState;
  readonly limits: Readonly<SignalingLimits>;
  /** Counters since start. */
  stats(): ServerStats;
  /** What `GET /healthz` answers. */
  health(): Promise<Health>;
  /** Disconnects every socket, waits for their clean-up, closes the HTTP server. Idempotent. */
  close(): Promise<void>;
  /** What `GET /readyz` answers: ready while serving and the state backend answers. */
  ready(): Promise<Readiness>;
  /**
   * Not ready any more, then tells every client to move to another node and
   * closes once they are gone or at `drain.timeoutMs`. Resolves once closed.
   */
  drain(): Promise<void>;
  /** Where the metrics are served: `<url>/metrics`, the metrics port's URL, or `undefined` when off. */
  readonly metricsUrl: string | undefined;
}

const DEFAULT_PORT = 3010;
const DEFAULT_HOST = '127.0.0.1';
/** How often Node checks `headersTimeout`/`requestTimeout` at most (its default is 30 s). */
const MAX_TIMEOUT_CHECK_MS = 1_000;

function createLogger(options: SignalingServerOptions): PinoLogger {
  if (options.logger !== undefined) return options.logger;
  const { logging } = options;
  if (logging === undefined || logging === false) return pino({ enabled: false });
  return pino({ name: 'rxpeer-signaling', level: logging === true ? 'debug' : logging });
}

/** `http://host:port`, with brackets around an IPv6 address. */
export function formatUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function listen(httpServer: HttpServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      httpServer.off('listening', onListening);
      reject(error);
    };
    const onListening = (): void => {
      httpServer.off('error', onError);
      resolve();
    };
    httpServer.once('error', onError);
    httpServer.once('listening', onListening);
    httpServer.listen(port, host);
  });
}

/** Throws a {@link SignalingConfigError} unless `dir` is a directory. */
function checkStaticDir(dir: string): void {
  let isDirectory = false;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch {
    throw new SignalingConfigError(`The static directory "${dir}" does not exist.`);
  }
  if (!isDirectory)
    throw new SignalingConfigError(`The static directory "${dir}" is not a directory.`);
}

/** Starts a signaling server; resolves once it listens. */
export async function createSignalingServer(
  options: SignalingServerOptions = {},
): Promise<SignalingServer> {
  const limits = resolveLimits(options.limits);
  const drainOptions = resolveDrain(options.drain);
  // Options are checked before anything opens; the state is read lazily.
  const authenticator =
    options.auth === undefined
      ? undefined
      : createAuthenticator(options.auth, {
          hostNameOf: (socketId) => state.hostNameOf(socketId),
          now: options.auth.now ?? Date.now,
          onRefused: (reason) => log.info({ reason }, 'connection refused: token'),
        });
  const turn =
    options.turn === undefined ? undefined : new TurnIssuer(options.turn, options.auth?.now);
  const clock = options.clock ?? systemClock;
  const log = createLogger(options);
  const trustProxy = options.trustProxy ?? 0;
  if (!Number.isInteger(trustProxy) || trustProxy < 0 || trustProxy > 16)
    throw new SignalingConfigError(
      `"trustProxy" must be an integer from 0 to 16 (proxies in front), got ${String(trustProxy)}`,
    );
  if (options.staticDir !== undefined) checkStaticDir(options.staticDir);
  if (options.redis !== undefined && (options.state !== undefined || options.adapter !== undefined))
    throw new SignalingConfigError(
      'The "redis" option brings its own state and adapter; pass neither with it.',
    );
  const cluster: RedisCluster | undefined =
    options.redis === undefined
      ? undefined
      : await startRedisCluster(
          typeof options.redis === 'string' ? { url: options.redis } : options.redis,
          log,
        );
  /** The cluster closes its own state. */
  const ownsState = options.state === undefined && cluster === undefined;
  const baseState: SignalingState = cluster?.state ?? options.state ?? new InMemorySignalingState();
  const metricsOptions: MetricsOptions =
    typeof options.metrics === 'object' ? options.metrics : { enabled: options.metrics ?? true };
  const metrics =
    metricsOptions.enabled === false
      ? undefined
      : new ServerMetrics(
          {
            stats: () => counters.snapshot(sockets()),
            state: baseState,
            redis: cluster !== undefined,
          },
          metricsOptions,
        );
  const hooks = metrics ?? NO_METRICS;
  const state = metrics?.instrument(baseState) ?? baseState;
  const adapter = cluster?.adapter ?? options.adapter;
  const counters = new StatsCounter();
  /** Every task still running on a socket's chain, so `close()` can wait for them. */
  const pending = new Set<Promise<void>>();
  let closed = false;

  const origin = options.cors?.origin ?? '*';
  const origins =
    typeof origin === 'string'
      ? origin
          .split(',')
          .map((o) => o.trim())
          .filter((o) => o.length > 0)
      : [...origin];
  const anyOrigin = origins.length === 0 || origins.includes('*');
  const allowedOrigins = new Set(origins);
  const credentials = options.cors?.credentials ?? false;

  // Read lazily: only called once `server` below exists.
  const sockets = (): number => server.of('/').sockets.size;
  const clients = (): number => server.engine.clientsCount;
  const memory = new MemoryGuard(
    limits.maxHeapRatio,
    options.heapProbe ?? v8Heap,
    options.heapProbe === undefined ? 250 : 0,
  );
  const transport = new TransportCounter();

  const health = async (): Promise<Health> => {
    const backend = state.status?.();
    const extra = backend === undefined ? {} : { redis: backend };
    const mem = memory.status();
    if (closed) return { ok: false, sockets: 0, clients: 0, hosts: 0, memory: mem, ...extra };
    try {
      const size = await state.size();
      return {
        ok: !mem.overloaded,
        sockets: sockets(),
        clients: clients(),
        hosts: size.hosts,
        memory: mem,
        ...extra,
      };
    } catch (error) {
      if (error instanceof StateUnavailableError)
        log.warn({ err: error.message }, 'health check: state backend unavailable');
      else log.error({ err: describe(error) }, 'health check: state backend failed');
      const now = state.status?.();
      return {
        ok: false,
        sockets: sockets(),
        clients: clients(),
        hosts: 0,
        memory: mem,
        ...(now === undefined ? {} : { redis: now }),
      };
    }
  };

  const httpServer =
    options.httpServer ??
    createServer(
      {
        // Slow or never-finished requests (slowloris) are cut off at these
        // timeouts, checked often enough for them to hold.
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        connectionsCheckingInterval: Math.max(
          100,
          Math.min(MAX_TIMEOUT_CHECK_MS, Math.floor(limits.headersTimeoutMs / 4)),
        ),
      },
      createRequestListener({
        health,
        onRequest: operationsRoutes(
          {
            readiness: (): Promise<Readiness> => drain.readiness(),
            metrics:
              metricsOptions.port === undefined ? metrics?.exposition.bind(metrics) : undefined,
          },
          options.onRequest,
        ),
        staticDir: options.staticDir,
        overloaded: () => memory.overloaded(),
        onError: (error: unknown, req: IncomingMessage) =>
          log.error(
            { err: describe(error), method: req.method, url: req.url },
            'http request failed',
          ),
      }),
    );
  if (trustProxy === 0) {
    limitConnectionsPerAddress(
      httpServer,
      () => limits.maxConnectionsPerAddress,
      (address) => {
        transport.refusedConnections += 1;
        log.warn({ address }, 'connection refused: too many from this address');
      },
    );
  }
  const connections = new ConnectionTracker(httpServer);

  /** engine.io connections with an admitted Socket.IO socket. */
  const joined = new WeakSet<object>();
  const engineGuard = new EngineGuard({
    maxQueuedBytes: limits.maxQueuedBytes,
    queueDropBytes: limits.queueDropBytes,
    slowReaderTimeoutMs: limits.slowReaderTimeoutMs,
    now: systemClock,
    onDropped: () => {
      transport.droppedEvents += 1;
    },
    connectTimeoutMs: limits.connectTimeoutMs,
    joined: (connection) => joined.has(connection),
    address: (connection) => connection.remoteAddress,
    onCut: (connection, reason, detail) => {
      transport.cut[reason] += 1;
      const fields = { client: connection.id, address: connection.remoteAddress, reason, detail };
      if (reason === 'connect-timeout') log.debug(fields, 'connection cut');
      else log.warn(fields, 'connection cut');
    },
  });
  const packetGuard = new PacketGuard<EngineConnection>({
    maxEventArgs: limits.maxEventArgs,
    onRefused: (reason, detail, connection) => {
      transport.refusedPackets[reason] += 1;
      log.warn(
        { client: connection?.id, address: connection?.remoteAddress, reason, detail },
        'packet refused',
      );
      if (connection !== undefined) engineGuard.cut(connection, 'packet-refused', reason);
    },
  });

  /** Whether a new engine.io session may start; the gate and `allowRequest` both ask. */
  const admit = (req: IncomingMessage): Refusal | undefined => {
    const refuse = (reason: HandshakeRefusal, refusal: Refusal): Refusal => {
      transport.refusedHandshakes[reason] += 1;
      log.warn({ reason, address: clientAddress(req, trustProxy) }, 'handshake refused');
      return refusal;
    };
    if (closed) return refuse('closing', { status: 503, message: 'Server shutting down' });
    if (memory.overloaded())
      return refuse('overloaded', { status: 503, message: 'Server overloaded; try again shortly' });
    const requestOrigin = req.headers.origin;
    if (!anyOrigin && requestOrigin !== undefined && !allowedOrigins.has(requestOrigin))
      return refuse('origin', { status: 403, message: 'Origin not allowed' });
    if (server.engine.clientsCount >= limits.maxClients)
      return refuse('full', { status: 403, message: 'Server full' });
    if (engineGuard.clients.get(clientAddress(req, trustProxy)) >= limits.maxClientsPerAddress)
      return refuse('per-address', {
        status: 429,
        message: 'Too many connections from this address',
      });
    return undefined;
  };

  const server = new Server<ClientToServerEvents, ServerToClientEvents>(httpServer, {
    serveClient: false,
    maxHttpBufferSize: limits.maxHttpBufferSize,
    connectTimeout: limits.connectTimeoutMs,
    pingInterval: limits.pingIntervalMs,
    pingTimeout: limits.pingTimeoutMs,
    cors: { origin: anyOrigin ? (credentials ? true : '*') : [...allowedOrigins], credentials },
    // The gate below answers first; this holds should a request get past it.
    allowRequest: (req, callback) => {
      const refusal = admit(req);
      callback(refusal?.message ?? null, refusal === undefined);
    },
    parser: packetGuard.parser,
    ...(adapter === undefined ? {} : { adapter }),
  });
  installHandshakeGate(httpServer, server.path(), admit);

  // The inbound byte budget per client address (docs/admission.md). It runs
  // on the system clock: a spec's frozen clock would hold connections forever.
  const inboundBytes = new InboundByteBudget(
    limits.inboundBytesPerAddressRate,
    limits.inboundBytesPerAddressBurst,
    systemClock,
  );
  const onHeld = (): void => {
    transport.throttled += 1;
  };
  installPollingThrottle(httpServer, {
    path: server.path(),
    key: (req) => addressKey(clientAddress(req, trustProxy)),
    budget: inboundBytes,
    maxBodyBytes: limits.maxHttpBufferSize,
    events: { onHeld },
  });
  /** The WebSocket throttle of each connection now on a WebSocket. */
  const wsThrottles = new WeakMap<object, WebSocketThrottle>();
  const throttle = (connection: EngineConnection): void => {
    const key = addressKey(connection.remoteAddress);
    const ws = connection.transport.socket as ThrottledWebSocket | undefined;
    if (connection.transport.name !== 'websocket' || ws === undefined) return;
    const throttled = throttleWebSocket(ws, key, inboundBytes, undefined, { onHeld });
    wsThrottles.set(connection, throttled);
    connection.once('close', () => throttled.stop());
  };

  // Around Socket.IO's own listener, which creates the client (and its decoder).
  server.engine.prependListener('connection', (raw: unknown) => {
    const connection = raw as EngineConnection;
    if (trustProxy > 0) connection.remoteAddress = clientAddress(connection.request, trustProxy);
    packetGuard.beforeClient(connection);
  });
  server.engine.on('connection', (raw: unknown) => {
    packetGuard.afterClient();
    const connection = raw as EngineConnection;
    engineGuard.watch(connection);
    // Every packet (either transport) costs a fixed amount on top of its bytes,
    // so a flood of tiny packets is held to a packet rate too.
    const packetKey = addressKey(connection.remoteAddress);
    connection.on('packet', () => {
      const ws = wsThrottles.get(connection);
      if (ws !== undefined) ws.charge(limits.inboundBytesPerPacket);
      else inboundBytes.spend(packetKey, limits.inboundBytesPerPacket);
    });
    throttle(connection);
    connection.once('upgrade', () => throttle(connection));
  });

  if (authenticator !== undefined) server.use(authenticator.middleware);
  const policy = authenticator?.policy ?? OPEN_POLICY;
  turn?.attach(server, (socket) => authenticator?.subjectOf(socket), clock);

  const drain: Drain = new Drain(
    { io: server, state, health, close: () => close(), log },
    drainOptions,
  );

  server.engine.on('connection_error', (error: { code?: unknown; message?: unknown }) => {
    log.debug({ code: error.code, reason: error.message }, 'engine.io connection error');
  });
  server.use((socket, next) => {
    if (memory.overloaded()) {
      transport.refusedSockets += 1;
      next(new Error('Server overloaded; try again shortly'));
      return;
    }
    joined.add(socket.conn);
    next();
  });

  const notifier = createNotifier(server, cluster !== undefined, counters);

  state.setListener?.({
    departed: (id, departure) => {
      if (closed) return;
      notifier.announce(id, departure, log.child({ socket: id, reaped: true }));
    },
    lost: (id, name) => {
      log.warn({ socket: id, name }, 'host name lost while the state was away; disconnecting it');
      server.of('/').sockets.get(id)?.disconnect(true);
    },
  });

  const connectionContext = {
    limits,
    clock,
    log,
    state,
    counters,
    pending,
    notifier,
    quotas: new Quotas(limits, clock),
    pages: new HostPages(limits.maxListedHosts),
    policy,
    metrics: hooks,
  };
  server.on('connection', (socket) => handleConnection(socket, connectionContext));

  const host = options.host ?? DEFAULT_HOST;
  if (!httpServer.listening) {
    try {
      await listen(httpServer, options.port ?? DEFAULT_PORT, host);
    } catch (error) {
      if (cluster === undefined) server.engine.close();
      // Closes the adapter too, which the cluster needs before its connections go.
      else await new Promise<void>((resolve) => void server.close(() => resolve()));
      if (ownsState) await state.close();
      await cluster?.close();
      throw error;
    }
  }
  const address = httpServer.address();
  const port =
    typeof address === 'object' && address !== null ? address.port : (options.port ?? DEFAULT_PORT);
  const boundHost = typeof address === 'object' && address !== null ? address.address : host;
  const metricsUrl =
    metrics === undefined
      ? undefined
      : ((await metrics.listen(boundHost).catch(async (error: unknown) => {
          // The metrics port is taken: nothing may stay open.
          await new Promise<void>((resolve) => void server.close(() => resolve()));
          if (ownsState) await state.close();
          await cluster?.close();
          throw error;
        })) ?? `${formatUrl(boundHost, port)}/metrics`);
  log.info({ url: formatUrl(boundHost, port), metrics: metricsUrl }, 'listening');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      closed = true;
      drain.closed();
      // After the grace period, cut what is still open, WebSocket connections included.
      const forceTimer = setTimeout(() => {
        const engine = server.engine as unknown as { clients: Record<string, EngineConnection> };
        for (const connection of Object.values(engine.clients)) {
          if (connection.readyState !== 'closed') transport.cut.shutdown += 1;
          forceClose(connection);
        }
        httpServer.closeAllConnections();
        connections.destroyAll();
      }, limits.shutdownGraceMs);
      forceTimer.unref();
      await new Promise<void>((resolve) => {
        void server.close((error?: Error) => {
          if (
            error !== undefined &&
            (error as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING'
          ) {
            log.warn({ err: error.message }, 'http server close failed');
          }
          resolve();
        });
        httpServer.closeIdleConnections();
      });
      clearTimeout(forceTimer);
      while (pending.size > 0) await Promise.allSettled([...pending]);
      state.setListener?.(undefined);
      await metrics?.close();
      if (ownsState) await state.close();
      await cluster?.close();
      log.info('closed');
    })();
    return closing;
  };

  return {
    port,
    host: boundHost,
    url: formatUrl(boundHost, port),
    httpServer,
    io: server,
    state,
    limits,
    stats: () => ({ ...counters.snapshot(sockets()), transport: transport.snapshot(clients()) }),
    health,
    close,
    ready: () => drain.readiness(),
    drain: () => drain.drain(),
    metricsUrl,
  };
}
