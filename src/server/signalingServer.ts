/**
 * The rxpeer signaling server: Socket.IO 4, PROTOCOL.md §1–4, hardened.
 * This module owns the lifecycle (HTTP, Socket.IO, state backend, close);
 * each socket is handled by `connection.ts`, what the server sends on its
 * own by `notifier.ts`.
 */

import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { pino, type Level, type Logger as PinoLogger } from 'pino';
import { Server, type ServerOptions } from 'socket.io';
import { describe } from '../errors.js';
import type { ClientToServerEvents, ServerToClientEvents } from '../protocol/wire.js';
import { handleConnection } from './connection.js';
import { HostPages } from './hostList.js';
import { createAuthenticator, OPEN_POLICY, type AuthOptions } from './auth.js';
import { Drain, resolveDrain, type DrainOptions, type Readiness } from './drain.js';
import { NO_METRICS, ServerMetrics, type MetricsOptions } from './metrics.js';
import { operationsRoutes } from './opsRoutes.js';
import { TurnIssuer, type TurnOptions } from './turnCredentials.js';
import { createRequestListener, type Health, type RequestHandler } from './http.js';
import { resolveLimits, type SignalingLimits } from './limits.js';
import { createNotifier } from './notifier.js';
import { Quotas } from './quotas.js';
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
}

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
  stats(): SignalingStats;
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
const FORCE_CLOSE_AFTER_MS = 3_000;

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
  if (options.redis !== undefined && (options.state !== undefined || options.adapter !== undefined))
    throw new TypeError(
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

  const health = async (): Promise<Health> => {
    const backend = state.status?.();
    const extra = backend === undefined ? {} : { redis: backend };
    if (closed) return { ok: false, sockets: 0, hosts: 0, ...extra };
    try {
      const size = await state.size();
      return { ok: true, sockets: sockets(), hosts: size.hosts, ...extra };
    } catch (error) {
      if (error instanceof StateUnavailableError)
        log.warn({ err: error.message }, 'health check: state backend unavailable');
      else log.error({ err: describe(error) }, 'health check: state backend failed');
      const now = state.status?.();
      return {
        ok: false,
        sockets: sockets(),
        hosts: 0,
        ...(now === undefined ? {} : { redis: now }),
      };
    }
  };

  const ownsHttpServer = options.httpServer === undefined;
  const httpServer =
    options.httpServer ??
    createServer(
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
        onError: (error: unknown, req: IncomingMessage) =>
          log.error(
            { err: describe(error), method: req.method, url: req.url },
            'http request failed',
          ),
      }),
    );
  if (ownsHttpServer) {
    // Slow or never-finished HTTP requests (slowloris) are cut off.
    httpServer.headersTimeout = 10_000;
    httpServer.requestTimeout = 30_000;
  }

  const server = new Server<ClientToServerEvents, ServerToClientEvents>(httpServer, {
    serveClient: false,
    maxHttpBufferSize: limits.maxHttpBufferSize,
    connectTimeout: limits.connectTimeoutMs,
    pingInterval: limits.pingIntervalMs,
    pingTimeout: limits.pingTimeoutMs,
    cors: { origin: anyOrigin ? (credentials ? true : '*') : [...allowedOrigins], credentials },
    allowRequest: (req, callback) => {
      const requestOrigin = req.headers.origin;
      if (!anyOrigin && requestOrigin !== undefined && !allowedOrigins.has(requestOrigin)) {
        log.warn({ origin: requestOrigin }, 'handshake refused: origin not allowed');
        callback('Origin not allowed', false);
        return;
      }
      if (server.engine.clientsCount >= limits.maxClients) {
        log.warn({ clients: server.engine.clientsCount }, 'handshake refused: server full');
        callback('Server full', false);
        return;
      }
      callback(null, true);
    },
    ...(adapter === undefined ? {} : { adapter }),
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
      const forceTimer = setTimeout(() => httpServer.closeAllConnections(), FORCE_CLOSE_AFTER_MS);
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
    stats: () => counters.snapshot(sockets()),
    health,
    close,
    ready: () => drain.readiness(),
    drain: () => drain.drain(),
    metricsUrl,
  };
}
