/**
 * The rxpeer signaling server: Socket.IO 4, PROTOCOL.md §1–4, hardened.
 *
 * Per socket, events are handled strictly in the order they arrive (a
 * promise chain per socket), so a backend whose operations are asynchronous
 * (Redis) keeps `bye` before the disconnect clean-up, `join` before the
 * `offer` that follows it, and so on. Cheap checks (rate limits, the shape of
 * the arguments) run at once; everything that reads or writes the state runs
 * on the chain.
 */

import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { pino, type Level, type Logger as PinoLogger } from 'pino';
import { Server, type ServerOptions, type Socket } from 'socket.io';
import { describe } from '../errors.js';
import {
  Status,
  type ClientToServerEvents,
  type CreateHostResponse,
  type ListHostsResponse,
  type ServerToClientEvents,
} from '../protocol/wire.js';
import {
  announcesExactStatus,
  createAuthenticator,
  OPEN_POLICY,
  type AuthOptions,
} from './auth.js';
import { Drain, resolveDrain, type DrainOptions, type Readiness } from './drain.js';
import { validateHostName } from './hostName.js';
import { NO_METRICS, ServerMetrics, type MetricsOptions } from './metrics.js';
import { operationsRoutes } from './opsRoutes.js';
import { TURN_EVENT, TurnIssuer, type TurnOptions } from './turnCredentials.js';
import { createRequestListener, type Health, type RequestHandler } from './http.js';
import { resolveLimits, type SignalingLimits } from './limits.js';
import { TokenBucket, systemClock, type Clock } from './rateLimit.js';
import { parseClientMessage, toRelayed, type ClientMessage } from './relay.js';
import { startRedisCluster, type RedisCluster, type RedisClusterOptions } from './redisCluster.js';
import {
  InMemorySignalingState,
  StateUnavailableError,
  type Departure,
  type SignalingState,
} from './state.js';
import {
  StatsCounter,
  type MessageDropReason,
  type RequestRejection,
  type SignalingStats,
} from './stats.js';

/** Statuses used in acknowledgements, beyond the protocol's 200/400/409/429. */
export const ServerStatus = {
  ...Status,
  Forbidden: 403,
  PayloadTooLarge: 413,
  InternalError: 500,
  /** The shared state (Redis) is unreachable; try again. */
  ServiceUnavailable: 503,
} as const;

/**
 * The acknowledgement of a `message` sent with an ack function (an rxpeer
 * extension; Extreal clients send none and get none): 200 when relayed,
 * otherwise why it was dropped.
 */
export interface MessageAck {
  status: number;
  message: string;
}

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

type ServerSocket = Socket<ClientToServerEvents, ServerToClientEvents>;
type Ack<T> = (response: T) => void;

const KNOWN_EVENTS: ReadonlySet<string> = new Set([
  'create host',
  'list hosts',
  'message',
  TURN_EVENT,
]);
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

const lastFunction = (args: readonly unknown[]): ((...response: unknown[]) => void) | undefined => {
  const last = args[args.length - 1];
  return typeof last === 'function' ? (last as (...response: unknown[]) => void) : undefined;
};

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

  /** In a cluster, a socket of this node; emitting to it directly works while Redis is down. */
  const localSocket = (id: string): ServerSocket | undefined =>
    cluster === undefined ? undefined : server.of('/').sockets.get(id);

  const notifyLeave = (receivers: readonly string[], id: string): void => {
    if (receivers.length === 0) return;
    if (cluster === undefined) {
      server.to([...receivers]).emit('user disconnected', { id });
    } else {
      const remote: string[] = [];
      for (const receiver of receivers) {
        const local = localSocket(receiver);
        if (local === undefined) remote.push(receiver);
        else local.emit('user disconnected', { id });
      }
      if (remote.length > 0) server.to(remote).emit('user disconnected', { id });
    }
    counters.userDisconnectedSent += receivers.length;
  };

  /** Tells the group of a socket that left. */
  const announce = (id: string, departure: Departure, slog: PinoLogger): void => {
    switch (departure.kind) {
      case 'host':
        slog.info(
          { name: departure.name, members: departure.members.length },
          'host left; group dissolved',
        );
        notifyLeave(departure.members, id);
        break;
      case 'member':
        notifyLeave(departure.remaining, id);
        break;
      case 'none':
        break;
      default: {
        const unreachable: never = departure;
        throw new Error(`unknown departure ${JSON.stringify(unreachable)}`);
      }
    }
  };

  state.setListener?.({
    departed: (id, departure) => {
      if (closed) return;
      announce(id, departure, log.child({ socket: id, reaped: true }));
    },
    lost: (id, name) => {
      log.warn({ socket: id, name }, 'host name lost while the state was away; disconnecting it');
      server.of('/').sockets.get(id)?.disconnect(true);
    },
  });

  server.on('connection', (socket: ServerSocket) => {
    const id = socket.id;
    // A child logger per socket only when something is logged: it costs heap on every idle socket.
    const slog = log.level === 'silent' ? log : log.child({ socket: id });
    counters.connections += 1;
    slog.info({ address: socket.handshake.address }, 'connection');

    const messages = new TokenBucket(limits.messageBurst, limits.messageRate, clock);
    const requests = new TokenBucket(limits.requestBurst, limits.requestRate, clock);
    const strikes = new TokenBucket(limits.maxStrikes, limits.strikeRecoveryRate, clock);
    let tail: Promise<void> = Promise.resolve();
    let cut = false;

    const enqueue = (what: string, task: () => Promise<void>): void => {
      const run = tail.then(task).catch((error: unknown) => {
        slog.error({ err: describe(error), task: what }, 'handler failed');
      });
      tail = run;
      pending.add(run);
      void run.then(() => pending.delete(run));
    };

    const strike = (why: string): void => {
      hooks.strike();
      if (cut || strikes.take()) return;
      cut = true;
      counters.cutOff += 1;
      slog.warn({ why }, 'cut off after repeated violations');
      socket.disconnect(true);
    };

    /** Counts a request not served with 200; the abusive kinds are strikes. */
    const rejected = (reason: RequestRejection): void => {
      counters.rejected[reason] += 1;
      switch (reason) {
        case 'no-ack':
        case 'rate-limited':
          strike(reason);
          break;
        case 'bad-name':
        case 'wrong-role':
        case 'name-taken':
        case 'forbidden':
        case 'internal-error':
        case 'unavailable':
          break;
        default: {
          const unreachable: never = reason;
          throw new Error(`unknown rejection ${String(unreachable)}`);
        }
      }
    };

    const drop = (
      reason: MessageDropReason,
      detail: string,
      ack: Ack<MessageAck> | undefined,
      fields: object = {},
    ): void => {
      counters.dropped[reason] += 1;
      let status: number;
      switch (reason) {
        case 'malformed':
          status = ServerStatus.BadRequest;
          slog.warn({ reason, detail, ...fields }, 'message dropped');
          strike(reason);
          break;
        case 'rate-limited':
          status = ServerStatus.TooManyRequests;
          slog.debug({ reason, ...fields }, 'message dropped');
          strike(reason);
          break;
        case 'sdp-too-large':
          status = ServerStatus.PayloadTooLarge;
          slog.warn({ reason, detail, ...fields }, 'message dropped');
          break;
        case 'self':
          status = ServerStatus.BadRequest;
          slog.debug({ reason, ...fields }, 'message dropped');
          break;
        case 'not-in-group':
        case 'join-refused':
        case 'forbidden':
          status = ServerStatus.Forbidden;
          slog.debug({ reason, ...fields }, 'message dropped');
          break;
        case 'internal-error':
          status = ServerStatus.InternalError;
          slog.error({ reason, detail, ...fields }, 'message dropped');
          break;
        case 'unavailable':
          status = ServerStatus.ServiceUnavailable;
          slog.warn({ reason, detail, ...fields }, 'message dropped');
          break;
        default: {
          const unreachable: never = reason;
          throw new Error(`unknown drop reason ${String(unreachable)}`);
        }
      }
      ack?.({ status, message: detail });
    };

    const relay = (message: ClientMessage, ack: Ack<MessageAck> | undefined): void => {
      const target = localSocket(message.to);
      if (target === undefined) server.to(message.to).emit('message', toRelayed(message, id));
      else target.emit('message', toRelayed(message, id));
      counters.relayed += 1;
      hooks.relayed(message.type, id, message.to);
      slog.debug({ type: message.type, to: message.to }, 'message relayed');
      ack?.({ status: ServerStatus.Ok, message: 'Relayed.' });
    };

    const route = async (
      message: ClientMessage,
      ack: Ack<MessageAck> | undefined,
    ): Promise<void> => {
      const fields = { type: message.type, to: message.to };
      if (message.to === id) {
        drop('self', 'A socket cannot message itself.', ack, fields);
        return;
      }
      if (message.type === 'join') {
        const granted = await policy.canJoin(socket, message.to);
        if (!granted.ok) {
          drop('forbidden', granted.message, ack, fields);
          return;
        }
        const joined = await state.joinGroup(id, message.to);
        switch (joined.kind) {
          case 'joined':
            if (joined.left !== undefined) notifyLeave(joined.left.remaining, id);
            slog.info({ host: message.to }, 'joined group');
            relay(message, ack);
            return;
          case 'already-member':
            relay(message, ack);
            return;
          case 'not-a-host':
            drop('join-refused', 'The recipient of "join" is not a host.', ack, fields);
            return;
          case 'is-host':
            drop('join-refused', 'A socket that hosts cannot join another group.', ack, fields);
            return;
          default: {
            const unreachable: never = joined;
            throw new Error(`unknown join result ${JSON.stringify(unreachable)}`);
          }
        }
      }
      const [mine, theirs] = await Promise.all([state.groupOf(id), state.groupOf(message.to)]);
      if (mine === undefined || mine !== theirs) {
        drop('not-in-group', 'The recipient is not in your group.', ack, fields);
        return;
      }
      relay(message, ack);
    };

    socket.on('create host', (...args: unknown[]) => {
      const ack = hooks.timed(
        'create host',
        lastFunction(args) as Ack<CreateHostResponse> | undefined,
      );
      if (ack === undefined) {
        rejected('no-ack');
        slog.debug('create host without an ack: ignored');
        return;
      }
      if (!requests.take()) {
        rejected('rate-limited');
        ack({ status: ServerStatus.TooManyRequests, message: 'Too many requests; slow down.' });
        return;
      }
      const raw = args.length > 1 ? args[0] : undefined;
      enqueue('create host', async () => {
        const valid = validateHostName(raw, limits.maxHostNameLength);
        if (!valid.ok) {
          rejected('bad-name');
          ack({ status: ServerStatus.BadRequest, message: valid.message });
          slog.info({ status: ServerStatus.BadRequest, why: valid.message }, 'create host');
          return;
        }
        const granted = policy.canHost(socket, valid.name);
        if (!granted.ok) {
          rejected('forbidden');
          // Extreal clients take every status but 409 as success (PROTOCOL.md).
          const status = announcesExactStatus(socket)
            ? ServerStatus.Forbidden
            : ServerStatus.Conflict;
          ack({ status, message: granted.message });
          slog.info({ status, why: granted.message }, 'create host');
          return;
        }
        let claim;
        try {
          claim = await state.claimHost(id, valid.name);
        } catch (error) {
          if (error instanceof StateUnavailableError) {
            slog.warn({ err: error.message }, 'create host: state backend unavailable');
            rejected('unavailable');
            ack({
              status: ServerStatus.ServiceUnavailable,
              message: 'The server cannot reach its shared state right now; try again shortly.',
            });
            return;
          }
          slog.error({ err: describe(error) }, 'create host: state backend failed');
          rejected('internal-error');
          ack({
            status: ServerStatus.InternalError,
            message: 'The server could not create the host; try again.',
          });
          return;
        }
        const name = claim.name;
        switch (claim.kind) {
          case 'claimed':
            counters.hostsCreated += 1;
            ack({ status: ServerStatus.Ok, message: `Host has been created. host: ${name}` });
            break;
          case 'already-yours':
            counters.hostsCreated += 1;
            ack({
              status: ServerStatus.Ok,
              message: `Host has already been created by this socket. host: ${name}`,
            });
            break;
          case 'taken':
            rejected('name-taken');
            ack({ status: ServerStatus.Conflict, message: `Host already exists. host: ${name}` });
            break;
          case 'hosting-other':
            rejected('wrong-role');
            ack({
              status: ServerStatus.BadRequest,
              message: `This socket already hosts "${claim.current}"; one host per socket.`,
            });
            break;
          case 'member':
            rejected('wrong-role');
            ack({
              status: ServerStatus.BadRequest,
              message: 'This socket has joined a group; a socket either hosts or joins.',
            });
            break;
          default: {
            const unreachable: never = claim;
            throw new Error(`unknown claim result ${JSON.stringify(unreachable)}`);
          }
        }
        slog.info({ name, result: claim.kind }, 'create host');
      });
    });

    socket.on('list hosts', (...args: unknown[]) => {
      const ack = hooks.timed(
        'list hosts',
        lastFunction(args) as Ack<ListHostsResponse> | undefined,
      );
      if (ack === undefined) {
        rejected('no-ack');
        slog.debug('list hosts without an ack: ignored');
        return;
      }
      if (!requests.take()) {
        rejected('rate-limited');
        ack({
          status: ServerStatus.TooManyRequests,
          hosts: [],
          message: 'Too many requests; slow down.',
        });
        return;
      }
      enqueue('list hosts', async () => {
        let hosts;
        try {
          hosts = await state.listHosts();
        } catch (error) {
          if (error instanceof StateUnavailableError) {
            slog.warn({ err: error.message }, 'list hosts: state backend unavailable');
            rejected('unavailable');
            ack({
              status: ServerStatus.ServiceUnavailable,
              hosts: [],
              message: 'The server cannot reach its shared state right now; try again shortly.',
            });
            return;
          }
          slog.error({ err: describe(error) }, 'list hosts: state backend failed');
          rejected('internal-error');
          ack({
            status: ServerStatus.InternalError,
            hosts: [],
            message: 'The server could not list the hosts; try again.',
          });
          return;
        }
        counters.hostsListed += 1;
        ack({ status: ServerStatus.Ok, hosts });
        slog.debug({ hosts: hosts.length }, 'list hosts');
      });
    });

    socket.on('message', (...args: unknown[]) => {
      const ack =
        args.length > 1 || typeof args[0] === 'function'
          ? (lastFunction(args) as Ack<MessageAck> | undefined)
          : undefined;
      if (!messages.take()) {
        drop('rate-limited', 'Too many messages; slow down.', ack);
        return;
      }
      const raw = typeof args[0] === 'function' ? undefined : args[0];
      const parsed = parseClientMessage(raw, limits);
      if (!parsed.ok) {
        drop(parsed.reason, parsed.detail, ack);
        return;
      }
      enqueue('message', async () => {
        try {
          await route(parsed.message, ack);
        } catch (error) {
          if (error instanceof StateUnavailableError) {
            drop(
              'unavailable',
              'The server cannot reach its shared state right now; the message was not relayed.',
              ack,
              { type: parsed.message.type, to: parsed.message.to, err: error.message },
            );
            return;
          }
          drop('internal-error', 'The server could not route the message.', ack, {
            err: describe(error),
          });
        }
      });
    });

    socket.onAny((event: unknown) => {
      if (typeof event === 'string' && KNOWN_EVENTS.has(event)) return;
      counters.unknownEvents += 1;
      slog.debug(
        { event: typeof event === 'string' ? event.slice(0, 64) : typeof event },
        'unknown event ignored',
      );
      if (!messages.take()) strike('rate-limited');
    });

    socket.on('error', (error: Error) => slog.warn({ err: error.message }, 'socket error'));

    socket.on('disconnect', (reason: string) => {
      slog.info({ reason }, 'disconnect');
      enqueue('disconnect', async () => {
        let departure: Departure;
        try {
          departure = await state.removeSocket(id);
        } catch (error) {
          if (!(error instanceof StateUnavailableError)) throw error;
          // The backend removes it when it re-syncs, and reports the departure then.
          slog.warn(
            { err: error.message },
            'disconnect: state backend unavailable; removal deferred',
          );
          return;
        }
        announce(id, departure, slog);
      });
    });
  });

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
