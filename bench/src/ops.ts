/**
 * §10: the cost of the operations features (issue 18), side by side in one
 * run: the same server in four settings, in child processes: neither token
 * verification nor metrics, tokens only (HS256), metrics only, both.
 *
 * - per connection: server CPU per socket that connects (and presents a
 *   token when the server wants one), `connections` sockets per trial;
 * - per relayed message: server CPU per 1 KiB message relayed from a
 *   member to its host (as §7, a window of messages in flight);
 * - one `/metrics` scrape with those sockets connected (metrics on).
 *
 * Trials alternate the four servers so that drift hits them alike.
 */
import { createHmac } from 'node:crypto';
import { io } from 'socket.io-client';
import { startServer, type ServerProcess } from './servers';
import { request, type ClientSocket } from './sockets';
import { median, until, within } from './stats';

export type OpsSetting = 'off' | 'token' | 'metrics' | 'both';
export const OPS_SETTINGS: readonly OpsSetting[] = ['off', 'token', 'metrics', 'both'];

export interface OpsTrial {
  /** Server CPU per connection (handshake, namespace connect, token check), µs. */
  connectCpuUs: number;
  /** Server CPU per relayed message, µs. */
  relayCpuUs: number;
}

export interface OpsResult {
  trials: Record<OpsSetting, OpsTrial[]>;
  /** Time of one `/metrics` scrape (ms) with the sockets connected, per setting with metrics. */
  scrapeMs: Partial<Record<OpsSetting, number[]>>;
}

const SECRET = 'bench-secret-0123456789abcdef';
const PAYLOAD = 'x'.repeat(1024);

const b64url = (data: string | Buffer): string => Buffer.from(data).toString('base64url');

/** An HS256 JWT, signed here by hand so the bench adds no dependency of its own. */
function token(sub: string): string {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(
    JSON.stringify({
      sub,
      exp: Math.floor(Date.now() / 1000) + 3600,
      rxpeer: { host: '*', join: '*' },
    }),
  );
  const signature = createHmac('sha256', SECRET).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${signature}`;
}

function connect(url: string, withToken: boolean, n: number): Promise<ClientSocket> {
  const socket = io(url, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    timeout: 20_000,
    ...(withToken ? { auth: { token: token(`user-${n}`) } } : {}),
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error: Error) => {
      socket.close();
      reject(error);
    });
  });
}

const cpuUs = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage): number =>
  b.user - a.user + (b.system - a.system);

async function relayCost(
  server: ServerProcess,
  host: ClientSocket,
  member: ClientSocket,
  count: number,
  window: number,
): Promise<number> {
  const to = host.id;
  let sent = 0;
  let received = 0;
  const cpu0 = await server.cpu();
  await within(
    new Promise<void>((resolve) => {
      const pump = (): void => {
        while (sent < count && sent - received < window) {
          member.emit('message', { type: 'bench', to, sdp: PAYLOAD });
          sent += 1;
        }
      };
      const onMessage = (): void => {
        received += 1;
        if (received === count) {
          host.off('message', onMessage);
          resolve();
        } else if (sent - received <= window / 2) pump();
      };
      host.on('message', onMessage);
      pump();
    }),
    120_000,
    'ops relay',
  );
  return cpuUs(cpu0, await server.cpu()) / count;
}

async function trial(
  setting: OpsSetting,
  server: ServerProcess,
  connections: number,
  messages: number,
  window: number,
  scrapes: Partial<Record<OpsSetting, number[]>>,
): Promise<OpsTrial> {
  const withToken = setting === 'token' || setting === 'both';
  const cpu0 = await server.cpu();
  const sockets: ClientSocket[] = [];
  try {
    for (let i = 0; i < connections; i += 50) {
      sockets.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(50, connections - i) }, (_, k) =>
            connect(server.url, withToken, i + k),
          ),
        )),
      );
    }
    const connectCpuUs = cpuUs(cpu0, await server.cpu()) / connections;
    const [host, member] = [sockets[0]!, sockets[1]!];
    const created = await request<{ status: number }>(host, 'create host', `ops ${Date.now()}`);
    if (created.status !== 200) throw new Error(`create host answered ${created.status}`);
    let joined = false;
    host.once('message', () => (joined = true));
    member.emit('message', { type: 'join', to: host.id });
    await until(() => joined, 'join to reach the host', 5_000);
    const relayCpuUs = await relayCost(server, host, member, messages, window);
    if (setting === 'metrics' || setting === 'both') {
      const t0 = performance.now();
      const res = await fetch(`${server.url}/metrics`);
      await res.text();
      (scrapes[setting] ??= []).push(performance.now() - t0);
    }
    return { connectCpuUs, relayCpuUs };
  } finally {
    for (const s of sockets) s.close();
    const deadline = performance.now() + 20_000;
    while ((await server.stats()).sockets > 0) {
      if (performance.now() > deadline) throw new Error('ops: sockets did not leave within 20 s');
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

export async function opsCost(
  trials: number,
  connections: number,
  messages: number,
  window: number,
): Promise<OpsResult> {
  const servers = new Map<OpsSetting, ServerProcess>();
  const result: OpsResult = { trials: { off: [], token: [], metrics: [], both: [] }, scrapeMs: {} };
  try {
    for (const setting of OPS_SETTINGS) {
      servers.set(
        setting,
        await startServer({
          kind: 'rxpeer',
          // As §7: the socket's and its address's budgets lifted, so the bench measures the server.
          limits: {
            messageRate: 1e9,
            messageBurst: 1e9,
            messageRatePerAddress: 1e9,
            messageBurstPerAddress: 1e9,
            inboundRatePerAddress: 1e9,
            inboundBurstPerAddress: 1e9,
            requestRate: 1e9,
            requestBurst: 1e9,
            // Every bench socket comes from one address.
            maxClientsPerAddress: 1e12,
            maxConnectionsPerAddress: 1e12,
          },
          ops: {
            metrics: setting === 'metrics' || setting === 'both',
            ...(setting === 'token' || setting === 'both' ? { jwtSecret: SECRET } : {}),
          },
        }),
      );
    }
    const warm: Partial<Record<OpsSetting, number[]>> = {};
    for (const setting of OPS_SETTINGS)
      await trial(
        setting,
        servers.get(setting)!,
        Math.min(connections, 100),
        Math.min(messages, 1_000),
        window,
        warm,
      );
    for (let k = 0; k < trials; k += 1) {
      const order = k % 2 === 0 ? OPS_SETTINGS : [...OPS_SETTINGS].reverse();
      for (const setting of order)
        result.trials[setting].push(
          await trial(
            setting,
            servers.get(setting)!,
            connections,
            messages,
            window,
            result.scrapeMs,
          ),
        );
    }
  } finally {
    for (const server of servers.values()) await server.close();
  }
  return result;
}

export const opsMedian = (trials: readonly OpsTrial[], key: keyof OpsTrial): number =>
  median(trials.map((t) => t[key]));
