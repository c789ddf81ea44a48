/**
 * Settings of the `rxpeer-signaling` command, from the environment (as the
 * reference server reads them) and from flags (which win). One table drives
 * parsing, the environment names and `--help`.
 */

import { RxpeerError } from '../errors.js';
import { parseArgs } from 'node:util';
import type { Level } from 'pino';
import {
  DEFAULT_LIMITS,
  PROTOCOL_LIMIT_DESCRIPTIONS,
  resolveLimits,
  type SignalingLimits,
} from './limits.js';
import type { MetricsOptions } from './metrics.js';
import type { SignalingServerOptions } from './signalingServer.js';
import type { TurnOptions } from './turnCredentials.js';

/** A setting that cannot be used; the command exits with code 2. */
export class ConfigError extends RxpeerError {
  constructor(message: string) {
    super('INVALID_CONFIG', message);
  }
}

type Env = Readonly<Record<string, string | undefined>>;

interface Setting {
  flag: string;
  short?: string;
  env?: string;
  value: string;
  description: string;
  /** The flag may be repeated; each occurrence is applied. */
  multiple?: boolean;
  apply(raw: string, into: SignalingServerOptions, source: string): void;
}

const LEVELS: readonly Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

function parsePort(raw: string, source: string): number {
  const port = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`${source} must be a port from 0 to 65535, got "${raw}"`);
  return port;
}

function parseNumber(raw: string, source: string): number {
  const text = raw.trim().toLowerCase();
  const value =
    text === 'infinity'
      ? Number.POSITIVE_INFINITY
      : /^\d+(\.\d+)?$/.test(text)
        ? Number(text)
        : Number.NaN;
  if (Number.isNaN(value))
    throw new ConfigError(`${source} must be a non-negative number, got "${raw}"`);
  return value;
}

function parseBoolean(raw: string, source: string): boolean {
  const text = raw.trim().toLowerCase();
  if (['true', '1', 'on', 'yes'].includes(text)) return true;
  if (['false', '0', 'off', 'no', ''].includes(text)) return false;
  throw new ConfigError(`${source} must be true or false, got "${raw}"`);
}

function parseLogging(raw: string, source: string): boolean | Level {
  const text = raw.trim().toLowerCase();
  if (LEVELS.includes(text as Level)) return text as Level;
  try {
    return parseBoolean(text, source);
  } catch {
    throw new ConfigError(
      `${source} must be on, off or a level (${LEVELS.join(', ')}), got "${raw}"`,
    );
  }
}

const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const upperSnake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

const LIMIT_DESCRIPTIONS: Readonly<Record<keyof SignalingLimits, string>> = {
  maxHostNameLength: 'longest host name, code points after NFC',
  maxSdpBytes: 'largest relayed sdp, UTF-8 bytes',
  maxFieldLength: 'longest type/to/from/me/caps entry',
  maxCandidateLength: 'longest candidate string',
  maxCaps: 'most entries in caps',
  maxHttpBufferSize: 'largest Socket.IO frame, bytes',
  messageRate: 'message events per second per socket',
  messageBurst: 'message burst per socket',
  requestRate: 'create host per second per socket',
  requestBurst: 'create host burst per socket',
  maxStrikes: 'violations before a socket is cut off',
  strikeRecoveryRate: 'strikes forgiven per second',
  maxClients: 'most concurrent clients',
  connectTimeoutMs: 'namespace connect timeout, ms',
  pingIntervalMs: 'engine.io ping interval, ms',
  pingTimeoutMs: 'engine.io ping timeout, ms',
  ...PROTOCOL_LIMIT_DESCRIPTIONS,
  // Transport and admission (docs/admission.md)
  maxEventArgs: 'most arguments of one event; more closes the connection',
  maxQueuedBytes: 'bytes queued for a client before it is cut (hard cap)',
  queueDropBytes: 'bytes queued above which pushed events are dropped (soft cap)',
  slowReaderTimeoutMs: 'time over the soft cap before a client is cut, ms',
  maxClientsPerAddress: 'most concurrent clients from one address (429 beyond)',
  maxConnectionsPerAddress: 'most TCP connections from one address (not with --trust-proxy)',
  maxHeapRatio: 'heap fraction above which new work gets 503',
  headersTimeoutMs: 'HTTP headers must arrive within, ms',
  requestTimeoutMs: 'a whole HTTP request must arrive within, ms',
  shutdownGraceMs: 'shutdown grace before every connection is cut, ms',
  inboundBytesPerAddressRate: 'bytes read per second from one client address (WebSocket + polling)',
  inboundBytesPerAddressBurst: 'bytes read in a burst from one client address',
  inboundBytesPerPacket: 'bytes each received packet costs on top of its size',
};

const limitSettings: Setting[] = (Object.keys(DEFAULT_LIMITS) as (keyof SignalingLimits)[]).map(
  (key) => ({
    flag: kebab(key),
    env: `SIGNALING_${upperSnake(key)}`,
    value: '<n>',
    description: `${LIMIT_DESCRIPTIONS[key]} (default ${DEFAULT_LIMITS[key]})`,
    apply(raw, into, source) {
      into.limits = { ...into.limits, [key]: parseNumber(raw, source) };
    },
  }),
);

function parseDuration(raw: string, source: string): number {
  const value = parseNumber(raw, source);
  if (!Number.isFinite(value)) throw new ConfigError(`${source} must be a finite number of ms`);
  return value;
}

type PartialTurn = Partial<TurnOptions>;
const turnOf = (into: SignalingServerOptions): PartialTurn => into.turn ?? {};

/** Settings that only work together: TURN needs a secret and at least one URL. */
function checkOperations(options: SignalingServerOptions): void {
  if (options.turn === undefined) return;
  const turn = options.turn as PartialTurn;
  if (turn.secret === undefined || turn.urls === undefined || turn.urls.length === 0)
    throw new ConfigError('TURN credentials need both --turn-secret and at least one --turn-url');
}

const metricsOf = (into: SignalingServerOptions): MetricsOptions =>
  typeof into.metrics === 'object'
    ? into.metrics
    : into.metrics === false
      ? { enabled: false }
      : {};

/** Operations (docs/operations.md): tokens, readiness and drain, metrics, TURN credentials. */
const operationsSettings: Setting[] = [
  {
    flag: 'jwt-secret',
    env: 'SIGNALING_JWT_SECRET',
    value: '<secret>',
    description: 'admit only sockets with a JWT signed with this HMAC secret (default: open)',
    apply(raw, into) {
      if (raw !== '') into.auth = { jwtSecret: raw };
    },
  },
  {
    flag: 'drain-timeout',
    env: 'SIGNALING_DRAIN_TIMEOUT',
    value: '<ms>',
    description: 'on SIGTERM, longest wait for clients to move before closing (default 30000)',
    apply(raw, into, source) {
      into.drain = { ...into.drain, timeoutMs: parseDuration(raw, source) };
    },
  },
  {
    flag: 'drain-move-after',
    env: 'SIGNALING_DRAIN_MOVE_AFTER',
    value: '<ms>',
    description: 'on SIGTERM, time between /readyz 503 and telling clients to move (default 2000)',
    apply(raw, into, source) {
      into.drain = { ...into.drain, moveAfterMs: parseDuration(raw, source) };
    },
  },
  {
    flag: 'turn-secret',
    env: 'SIGNALING_TURN_SECRET',
    value: '<secret>',
    description: 'mint TURN credentials with this secret (coturn static-auth-secret)',
    apply(raw, into) {
      if (raw !== '') into.turn = { ...turnOf(into), secret: raw } as TurnOptions;
    },
  },
  {
    flag: 'turn-url',
    env: 'SIGNALING_TURN_URLS',
    value: '<url>',
    multiple: true,
    description: 'a TURN URL handed to clients; repeatable, comma-separated in the env, adds to it',
    apply(raw, into, source) {
      const urls = raw
        .split(',')
        .map((u) => u.trim())
        .filter((u) => u !== '');
      for (const url of urls)
        if (!/^turns?:/.test(url))
          throw new ConfigError(`${source} must be turn: or turns: URLs, got "${url}"`);
      into.turn = { ...turnOf(into), urls: [...(turnOf(into).urls ?? []), ...urls] } as TurnOptions;
    },
  },
  {
    flag: 'turn-ttl',
    env: 'SIGNALING_TURN_TTL',
    value: '<seconds>',
    description: 'lifetime of each TURN credential, seconds (default 86400)',
    apply(raw, into, source) {
      const ttl = parseNumber(raw, source);
      if (!Number.isFinite(ttl) || ttl < 60)
        throw new ConfigError(`${source} must be at least 60 seconds`);
      into.turn = { ...turnOf(into), ttl } as TurnOptions;
    },
  },
  {
    flag: 'metrics',
    env: 'SIGNALING_METRICS',
    value: '<bool>',
    description: 'serve Prometheus metrics at GET /metrics (default true)',
    apply(raw, into, source) {
      into.metrics = { ...metricsOf(into), enabled: parseBoolean(raw, source) };
    },
  },
  {
    flag: 'metrics-port',
    env: 'SIGNALING_METRICS_PORT',
    value: '<port>',
    description: 'serve /metrics on this port instead of the signaling port',
    apply(raw, into, source) {
      into.metrics = { ...metricsOf(into), port: parsePort(raw, source) };
    },
  },
  {
    flag: 'metrics-host',
    env: 'SIGNALING_METRICS_HOST',
    value: '<address>',
    description: 'address of the metrics port (default: --host)',
    apply(raw, into, source) {
      if (raw.trim() === '') throw new ConfigError(`${source} must not be empty`);
      into.metrics = { ...metricsOf(into), host: raw.trim() };
    },
  },
];

export const SETTINGS: readonly Setting[] = [
  {
    flag: 'port',
    short: 'p',
    env: 'PORT',
    value: '<port>',
    description: 'port to listen on, 0 for any free one (default 3010)',
    apply: (raw, into, source) => (into.port = parsePort(raw, source)),
  },
  {
    flag: 'host',
    env: 'SIGNALING_HOST',
    value: '<address>',
    description: 'address to listen on (default 127.0.0.1)',
    apply(raw, into, source) {
      if (raw.trim() === '') throw new ConfigError(`${source} must not be empty`);
      into.host = raw.trim();
    },
  },
  {
    flag: 'cors-origin',
    env: 'SIGNALING_CORS_ORIGIN',
    value: '<origins>',
    description: '"*" or comma-separated allowed origins; others are refused (default *)',
    apply(raw, into) {
      into.cors = { ...into.cors, origin: raw.trim() === '' ? '*' : raw };
    },
  },
  {
    flag: 'cors-credentials',
    env: 'SIGNALING_CORS_CREDENTIALS',
    value: '<bool>',
    description: 'send Access-Control-Allow-Credentials (default false)',
    apply(raw, into, source) {
      into.cors = { ...into.cors, credentials: parseBoolean(raw, source) };
    },
  },
  {
    flag: 'logging',
    env: 'SIGNALING_LOGGING',
    value: '<on|off|level>',
    description: 'structured logs to stdout; "on" logs every event (default off)',
    apply: (raw, into, source) => (into.logging = parseLogging(raw, source)),
  },
  {
    flag: 'redis',
    env: 'REDIS_URL',
    value: '<url>',
    description:
      'join a cluster of nodes through Redis, e.g. redis://127.0.0.1:6379 (default: one node, no Redis)',
    apply(raw, into, source) {
      const url = raw.trim();
      if (url === '') return;
      if (!/^rediss?:\/\/[^/]/i.test(url))
        throw new ConfigError(`${source} must be a redis:// or rediss:// URL, got "${raw}"`);
      into.redis = url;
    },
  },
  {
    flag: 'trust-proxy',
    env: 'SIGNALING_TRUST_PROXY',
    value: '<n>',
    description:
      'reverse proxies in front whose X-Forwarded-For counts for the per-address limits (default 0: header ignored)',
    apply(raw, into, source) {
      const hops = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
      if (!Number.isInteger(hops) || hops > 16)
        throw new ConfigError(`${source} must be a number of proxies from 0 to 16, got "${raw}"`);
      into.trustProxy = hops;
    },
  },
  {
    flag: 'static-dir',
    env: 'SIGNALING_STATIC_DIR',
    value: '<dir>',
    description: 'serve files from this directory for other GET requests',
    apply(raw, into) {
      if (raw.trim() !== '') into.staticDir = raw;
    },
  },
  ...limitSettings,
  ...operationsSettings,
];

export function usage(): string {
  const lines = SETTINGS.map((s) => {
    const left = `  ${s.short === undefined ? '    ' : `-${s.short}, `}--${s.flag} ${s.value}`;
    const env = s.env === undefined ? '' : ` [${s.env}]`;
    return `${left.padEnd(40)} ${s.description}${env}`;
  });
  return [
    'Usage: rxpeer-signaling [options]',
    '',
    'The rxpeer signaling server (Socket.IO 4; Extreal P2P compatible).',
    'Each option can also be set with the environment variable in brackets; flags win.',
    '',
    ...lines,
    `  -h, --help${' '.repeat(30)} show this help`,
    `  -v, --version${' '.repeat(27)} print the version`,
    '',
  ].join('\n');
}

export type CliParse =
  | { kind: 'help'; text: string }
  | { kind: 'run'; options: SignalingServerOptions }
  | { kind: 'error'; message: string };

/** Reads the environment, then the flags; never throws. */
export function parseCli(argv: readonly string[], env: Env): CliParse {
  const options: SignalingServerOptions = {};
  try {
    for (const setting of SETTINGS) {
      const raw = setting.env === undefined ? undefined : env[setting.env];
      if (raw !== undefined) setting.apply(raw, options, setting.env ?? setting.flag);
    }
    const parseOptions: Record<
      string,
      { type: 'string' | 'boolean'; short?: string; multiple?: boolean }
    > = {
      help: { type: 'boolean', short: 'h' },
    };
    for (const setting of SETTINGS) {
      parseOptions[setting.flag] = {
        type: 'string',
        ...(setting.short === undefined ? {} : { short: setting.short }),
        ...(setting.multiple === true ? { multiple: true } : {}),
      };
    }
    let values: Record<string, string | string[] | boolean | undefined>;
    try {
      ({ values } = parseArgs({
        args: [...argv],
        options: parseOptions,
        strict: true,
        allowPositionals: false,
      }) as {
        values: Record<string, string | string[] | boolean | undefined>;
      });
    } catch (error) {
      throw new ConfigError(error instanceof Error ? error.message : String(error));
    }
    if (values.help === true) return { kind: 'help', text: usage() };
    for (const setting of SETTINGS) {
      const raw = values[setting.flag];
      if (typeof raw === 'string') setting.apply(raw, options, `--${setting.flag}`);
      else if (Array.isArray(raw))
        for (const one of raw) setting.apply(one, options, `--${setting.flag}`);
    }
    checkOperations(options);
    try {
      resolveLimits(options.limits);
    } catch (error) {
      throw new ConfigError(error instanceof Error ? error.message : String(error));
    }
    return { kind: 'run', options };
  } catch (error) {
    if (error instanceof ConfigError) return { kind: 'error', message: error.message };
    throw error;
  }
}
