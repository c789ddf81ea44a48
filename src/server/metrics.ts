/**
 * Prometheus metrics (docs/operations.md "Metrics"), with prom-client.
 *
 * Every metric of the server's own is named `rxpeer_…`. Most are read at
 * scrape time from what the server already keeps (`server.stats()`, the
 * state's sizes), so the handler carries only three hooks: a relayed
 * message, a strike, and the acknowledgement of a request. The process's
 * default metrics (`process_…`, `nodejs_…`) come from one registry per
 * process, made at the first scrape.
 */

import { createServer, type Server as HttpServer } from 'node:http';
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type CounterConfiguration,
} from 'prom-client';
import type { SignalingState } from './state.js';
import { StateUnavailableError } from './state.js';
import type { SignalingStats } from './stats.js';

export interface MetricsOptions {
  /** Serve `GET /metrics`. Default `true`. */
  enabled?: boolean;
  /** Serve it on its own port (and `host`) instead of the signaling port. */
  port?: number;
  /** Address of that port. Default: the server's `host`. */
  host?: string;
  /** Include the process's default metrics. Default `true`. */
  defaultMetrics?: boolean;
}

/** The hooks the per-connection handler calls. */
export interface MetricsHooks {
  /** A message was relayed from `from` to `to`. */
  relayed(type: string, from: string, to: string): void;
  /** A socket committed a violation (a strike, whether or not it is cut off). */
  strike(): void;
  /** Wraps a request's ack so that answering it observes the request's latency. */
  timed<A extends (...args: never[]) => void>(request: TimedRequest, ack: A): A;
  timed<A extends (...args: never[]) => void>(
    request: TimedRequest,
    ack: A | undefined,
  ): A | undefined;
}

export type TimedRequest = 'create host' | 'list hosts';

/** Hooks that do nothing: metrics off. */
export const NO_METRICS: MetricsHooks = {
  relayed: () => undefined,
  strike: () => undefined,
  timed: <A>(_request: TimedRequest, ack: A): A => ack,
};

export interface MetricsSources {
  stats: () => SignalingStats;
  state: SignalingState;
  /** Whether the state is Redis (its operations are timed). */
  redis: boolean;
}

/** Message types with their own label; any other relayed type counts as `other`. */
const MESSAGE_TYPES = new Set([
  'join',
  'call me',
  'offer',
  'answer',
  'done',
  'bye',
  'candidate',
  'caps query',
  'caps',
]);

const REQUEST_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
const GROUP_BUCKETS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64, 128];
/** Joins waiting for the host's first answer, at most. */
const MAX_PENDING_JOINS = 10_000;
/** A join not answered within this is forgotten. */
const PENDING_JOIN_TTL_MS = 60_000;
/** Groups sampled for the members histogram at each scrape, at most. */
const MAX_GROUPS_SAMPLED = 1_000;

const STATE_OPERATIONS = [
  'claimHost',
  'listHosts',
  'lookupHost',
  'hostNameOf',
  'joinGroup',
  'groupOf',
  'groupMembers',
  'removeSocket',
  'size',
] as const;

let processRegistry: Registry | undefined;
/** The process's default metrics, registered once per process (prom-client's collectors are global). */
function defaultRegistry(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** The metrics of one server: its registry, its hooks, and its exposition. */
export class ServerMetrics implements MetricsHooks {
  readonly registry = new Registry();
  private readonly relayedTotal: Counter<'type'>;
  private readonly strikes: Counter;
  private readonly joins: Counter;
  private readonly requestSeconds: Histogram<'request'>;
  private readonly stateSeconds: Histogram<'operation'>;
  private readonly stateErrors: Counter<'operation' | 'kind'>;
  /** `joiner>host` → when the join was relayed (ms). */
  private readonly pendingJoins = new Map<string, number>();
  private ownServer: HttpServer | undefined;

  constructor(
    private readonly sources: MetricsSources,
    private readonly options: MetricsOptions = {},
  ) {
    const registers = [this.registry];
    const snapshot = (): SignalingStats => sources.stats();
    /** A counter whose value is read from the server's counters at scrape time. */
    const counterFrom = <L extends string>(
      config: CounterConfiguration<L>,
      read: (stats: SignalingStats) => [Partial<Record<L, string>>, number][] | number,
    ): void => {
      new Counter<L>({
        ...config,
        registers,
        collect() {
          this.reset();
          const value = read(snapshot());
          if (typeof value === 'number') this.inc(value);
          else for (const [labels, n] of value) this.inc(labels, n);
        },
      });
    };

    new Gauge({
      name: 'rxpeer_sockets',
      help: 'Sockets connected to this node now.',
      registers,
      collect() {
        this.set(snapshot().sockets);
      },
    });
    const groupMembers = new Histogram({
      name: 'rxpeer_group_members',
      help: 'Members per group (the host not counted), over the groups open now (at most 1,000 sampled).',
      buckets: GROUP_BUCKETS,
      registers,
    });
    const state = sources.state;
    // One async collector fills both from the state.
    new Gauge({
      name: 'rxpeer_hosts',
      help: 'Hosts in the host index (every node).',
      registers,
      async collect() {
        groupMembers.reset();
        try {
          const hosts = await state.listHosts();
          this.set(hosts.length);
          const sampled = hosts.slice(0, MAX_GROUPS_SAMPLED);
          const sizes = await Promise.all(sampled.map((h) => state.groupMembers(h.id)));
          for (const members of sizes) groupMembers.observe(Math.max(0, members.length - 1));
        } catch {
          // The state is away: the gauge keeps its last value; rxpeer_redis_errors_total counts it.
        }
      },
    });
    counterFrom(
      { name: 'rxpeer_connections_total', help: 'Sockets that connected since start.' },
      (s) => s.connections,
    );
    counterFrom(
      { name: 'rxpeer_hosts_created_total', help: '`create host` requests answered 200.' },
      (s) => s.hostsCreated,
    );
    counterFrom(
      { name: 'rxpeer_hosts_listed_total', help: '`list hosts` requests answered 200.' },
      (s) => s.hostsListed,
    );
    counterFrom(
      {
        name: 'rxpeer_messages_dropped_total',
        help: 'Messages not relayed, by reason.',
        labelNames: ['reason'],
      },
      (s) => Object.entries(s.dropped).map(([reason, n]) => [{ reason }, n]),
    );
    counterFrom(
      {
        name: 'rxpeer_requests_refused_total',
        help: '`create host` / `list hosts` requests not served with 200, by reason.',
        labelNames: ['reason'],
      },
      (s) => Object.entries(s.rejected).map(([reason, n]) => [{ reason }, n]),
    );
    counterFrom(
      { name: 'rxpeer_cut_offs_total', help: 'Sockets disconnected for repeated violations.' },
      (s) => s.cutOff,
    );
    counterFrom(
      { name: 'rxpeer_unknown_events_total', help: 'Events with a name outside the protocol.' },
      (s) => s.unknownEvents,
    );
    counterFrom(
      {
        name: 'rxpeer_leave_notices_total',
        help: '`user disconnected` deliveries (one per receiving socket).',
      },
      (s) => s.userDisconnectedSent,
    );

    this.relayedTotal = new Counter({
      name: 'rxpeer_messages_relayed_total',
      help: 'Messages relayed, by type (types outside the protocol: "other").',
      labelNames: ['type'],
      registers,
    });
    this.joins = new Counter({
      name: 'rxpeer_joins_total',
      help: '`join` messages admitted and relayed to a host.',
      registers,
    });
    this.strikes = new Counter({
      name: 'rxpeer_rate_limit_strikes_total',
      help: 'Violations (rate limits, malformed input, requests without ack) that count towards a cut-off.',
      registers,
    });
    this.requestSeconds = new Histogram({
      name: 'rxpeer_request_duration_seconds',
      help: 'Time from a request to its answer: "create host", "list hosts"; "join" until the host\'s first message back to the joiner (both on this node).',
      labelNames: ['request'],
      buckets: REQUEST_BUCKETS,
      registers,
    });
    this.stateSeconds = new Histogram({
      name: 'rxpeer_redis_operation_duration_seconds',
      help: 'Latency of each shared-state operation on Redis (one script or a few commands).',
      labelNames: ['operation'],
      buckets: REQUEST_BUCKETS,
      registers,
    });
    this.stateErrors = new Counter({
      name: 'rxpeer_redis_errors_total',
      help: 'Shared-state operations on Redis that failed: "unavailable" (Redis unreachable or too slow) or "error".',
      labelNames: ['operation', 'kind'],
      registers,
    });
    for (const reason of ['unavailable', 'error'])
      for (const operation of sources.redis ? STATE_OPERATIONS : [])
        this.stateErrors.inc({ operation, kind: reason }, 0);
  }

  /** Starts the metrics port when `options.port` is set; resolves with its URL (or undefined). */
  async listen(defaultHost: string): Promise<string | undefined> {
    if (this.options.port === undefined) return undefined;
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?', 1)[0];
      if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not Found');
        return;
      }
      this.exposition().then(
        ({ contentType, body }) => {
          res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
          res.end(req.method === 'HEAD' ? undefined : body);
        },
        () => {
          if (!res.headersSent) res.writeHead(500).end();
        },
      );
    });
    const host = this.options.host ?? defaultHost;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.ownServer = server;
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : this.options.port;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`;
  }

  /** The Prometheus text of this server's metrics (and the process's, unless turned off). */
  async exposition(): Promise<{ contentType: string; body: string }> {
    this.forgetStaleJoins();
    const own = await this.registry.metrics();
    const process = this.options.defaultMetrics === false ? '' : await defaultRegistry().metrics();
    return { contentType: this.registry.contentType, body: `${own}\n${process}` };
  }

  async close(): Promise<void> {
    const server = this.ownServer;
    this.ownServer = undefined;
    if (server !== undefined) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.pendingJoins.clear();
  }

  relayed(type: string, from: string, to: string): void {
    this.relayedTotal.inc({ type: MESSAGE_TYPES.has(type) ? type : 'other' });
    if (type === 'join') {
      this.joins.inc();
      if (this.pendingJoins.size >= MAX_PENDING_JOINS) this.forgetStaleJoins(true);
      this.pendingJoins.set(`${from}>${to}`, Date.now());
      return;
    }
    const key = `${to}>${from}`;
    const since = this.pendingJoins.get(key);
    if (since === undefined) return;
    this.pendingJoins.delete(key);
    const seconds = (Date.now() - since) / 1000;
    this.requestSeconds.observe({ request: 'join' }, seconds);
  }

  strike(): void {
    this.strikes.inc();
  }

  timed<A extends (...args: never[]) => void>(request: TimedRequest, ack: A): A;
  timed<A extends (...args: never[]) => void>(
    request: TimedRequest,
    ack: A | undefined,
  ): A | undefined;
  timed<A extends (...args: never[]) => void>(
    request: TimedRequest,
    ack: A | undefined,
  ): A | undefined {
    if (ack === undefined) return undefined;
    const end = this.requestSeconds.startTimer({ request });
    return ((...args: Parameters<A>) => {
      end();
      ack(...args);
    }) as A;
  }

  /** Wraps a Redis state so that each operation is timed and its failures counted. */
  instrument(state: SignalingState): SignalingState {
    if (!this.sources.redis) return state;
    const operations: ReadonlySet<string> = new Set(STATE_OPERATIONS);
    const seconds = this.stateSeconds;
    const errors = this.stateErrors;
    return new Proxy(state, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (
          typeof property !== 'string' ||
          !operations.has(property) ||
          typeof value !== 'function'
        )
          return value;
        return (...args: unknown[]): Promise<unknown> => {
          const end = seconds.startTimer({ operation: property });
          return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args).then(
            (result) => {
              end();
              return result;
            },
            (error: unknown) => {
              end();
              errors.inc({
                operation: property,
                kind: error instanceof StateUnavailableError ? 'unavailable' : 'error',
              });
              throw error;
            },
          );
        };
      },
    });
  }

  private forgetStaleJoins(evictOldest = false): void {
    const cutoff = Date.now() - PENDING_JOIN_TTL_MS;
    for (const [key, at] of this.pendingJoins) if (at < cutoff) this.pendingJoins.delete(key);
    if (evictOldest && this.pendingJoins.size >= MAX_PENDING_JOINS) {
      const oldest = this.pendingJoins.keys().next();
      if (oldest.done !== true) this.pendingJoins.delete(oldest.value);
    }
  }
}
