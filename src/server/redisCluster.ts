/**
 * Several signaling nodes on one Redis: the state in Redis
 * ({@link RedisSignalingState}) and Socket.IO's Redis Streams adapter, so
 * `io.to(socketId)` reaches a socket on any node.
 *
 * `redis` and `@socket.io/redis-streams-adapter` are loaded only here, when
 * a Redis URL is given: a single-node server never loads them.
 *
 * Why the Streams adapter (not the Pub/Sub one): messages go through a Redis
 * stream that every node reads from its last offset, so a node that loses
 * Redis for a moment reads what was added meanwhile instead of dropping it,
 * and it supports Socket.IO's connection-state recovery.
 */

import { InvalidConfigError } from '../errors.js';
import type { Logger as PinoLogger } from 'pino';
import type { ServerOptions } from 'socket.io';
import {
  RedisSignalingState,
  type RedisScriptClient,
  type RedisStateOptions,
} from './redisState.js';

export interface RedisClusterOptions extends Pick<
  RedisStateOptions,
  'prefix' | 'nodeId' | 'heartbeatMs' | 'nodeTtlMs' | 'timeoutMs' | 'listRefreshMs'
> {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…`. */
  url: string;
  /** How long the server waits for Redis when it starts. Default 5000 ms. */
  connectTimeoutMs?: number;
}

export interface RedisCluster {
  readonly state: RedisSignalingState;
  readonly adapter: NonNullable<ServerOptions['adapter']>;
  /** Closes the state (this node leaves the cluster) and every Redis connection. Call it after the Socket.IO server closed. */
  close(): Promise<void>;
}

interface NodeRedisClient extends RedisScriptClient {
  connect(): Promise<unknown>;
  duplicate(...args: unknown[]): NodeRedisClient;
}

interface RedisModule {
  createClient(options: Record<string, unknown>): NodeRedisClient;
}

interface StreamsAdapterModule {
  createAdapter(
    client: unknown,
    options: Record<string, unknown>,
  ): NonNullable<ServerOptions['adapter']>;
}

/** Loads an optional dependency from CommonJS (`require`) or ES modules (`import()`). */
async function load<T>(name: string, member: string): Promise<T> {
  let loaded: Record<string, unknown>;
  try {
    loaded =
      typeof require === 'function'
        ? // CommonJS builds (and jest) load it synchronously; ES module builds have no require.
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          (require(name) as Record<string, unknown>)
        : ((await import(name)) as Record<string, unknown>);
  } catch (error) {
    throw new Error(
      `Running with Redis needs the "${name}" package; install it with: npm install ${name}`,
      { cause: error },
    );
  }
  if (typeof loaded[member] === 'function') return loaded as T;
  const fallback = loaded.default as Record<string, unknown> | undefined;
  if (fallback !== undefined && typeof fallback[member] === 'function') return fallback as T;
  throw new Error(`The "${name}" package has no ${member}(); is it the right version?`);
}

/** The URL with any password replaced, for logs and errors. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<invalid URL>';
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(message)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

const reconnectStrategy = (retries: number): number => Math.min(100 * 2 ** retries, 1_000);

/** Connects to Redis, registers this node, and builds the adapter. */
export async function startRedisCluster(
  options: RedisClusterOptions,
  log: PinoLogger,
): Promise<RedisCluster> {
  const safeUrl = redactRedisUrl(options.url);
  if (!/^rediss?:\/\//i.test(options.url))
    throw new InvalidConfigError('redis', `the URL must start with redis:// or rediss://, got ${safeUrl}`);
  const [redis, streams] = await Promise.all([
    load<RedisModule>('redis', 'createClient'),
    load<StreamsAdapterModule>('@socket.io/redis-streams-adapter', 'createAdapter'),
  ]);
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  const socket = { connectTimeout: Math.min(connectTimeoutMs, 2_000), reconnectStrategy };

  // The state fails fast while Redis is away; the adapter queues its few
  // cross-node emits until Redis is back.
  const stateClient = redis.createClient({ url: options.url, disableOfflineQueue: true, socket });
  const adapterClient = redis.createClient({ url: options.url, socket });
  const duplicates: NodeRedisClient[] = [];
  const duplicate = adapterClient.duplicate.bind(adapterClient);
  adapterClient.duplicate = (...args: unknown[]): NodeRedisClient => {
    const copy = duplicate(...args);
    duplicates.push(copy);
    return copy;
  };

  let up = false;
  let reported = false;
  stateClient.on('error', (error: unknown) => {
    if (reported) return;
    reported = true;
    log.warn(
      { err: error instanceof Error ? error.message : String(error), redis: safeUrl },
      up ? 'redis connection lost; requests that need it get 503' : 'redis not reachable',
    );
  });
  stateClient.on('ready', () => {
    if (reported || !up) log.info({ redis: safeUrl }, 'redis connected');
    up = true;
    reported = false;
  });
  adapterClient.on('error', () => {
    // Reported through the state client, which shares its fate.
  });

  const destroyAll = (): void => {
    for (const client of [stateClient, adapterClient, ...duplicates]) client.destroy();
  };

  const connecting = Promise.all([stateClient.connect(), adapterClient.connect()]);
  connecting.catch(() => undefined);
  let state: RedisSignalingState;
  try {
    await withTimeout(connecting, connectTimeoutMs, `no answer within ${connectTimeoutMs} ms`);
    state = new RedisSignalingState(stateClient, {
      prefix: options.prefix,
      nodeId: options.nodeId,
      heartbeatMs: options.heartbeatMs,
      nodeTtlMs: options.nodeTtlMs,
      timeoutMs: options.timeoutMs,
      listRefreshMs: options.listRefreshMs,
      onError: (error, what) =>
        log.debug(
          { err: error instanceof Error ? error.message : String(error), what },
          'redis state',
        ),
      onResync: (summary) => log.info(summary, 'redis state re-synced'),
    });
    await state.start();
  } catch (error) {
    destroyAll();
    throw new Error(
      `cannot reach Redis at ${safeUrl}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const prefix = state.prefix;
  const adapter = streams.createAdapter(adapterClient, {
    streamName: `${prefix}socket.io`,
    channelPrefix: `${prefix}socket.io`,
    sessionKeyPrefix: `${prefix}sio:session:`,
    blockTimeInMs: 2_000,
  });
  log.info(
    { redis: safeUrl, node: state.nodeId, staleBoundMs: state.staleBoundMs },
    'joined the cluster',
  );

  let closing: Promise<void> | undefined;
  return {
    state,
    adapter,
    close() {
      closing ??= (async () => {
        await state.close();
        await Promise.allSettled(
          [stateClient, adapterClient].map((client) =>
            withTimeout(client.close(), 1_000, 'redis close timed out'),
          ),
        );
        destroyAll();
      })();
      return closing;
    },
  };
}
