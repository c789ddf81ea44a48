/**
 * §7: relay throughput. Socket A sends 1 KiB `message`s to socket B (A hosts a
 * group, B joined it) through rxpeer's server, and through a bare Socket.IO
 * relay; both servers in child processes, both clients here, trials
 * alternating between the two servers. A window bounds the messages in
 * flight. rxpeer's per-socket message rate limit is lifted for this bench
 * (its default, 200/s, would measure the limit instead of the server).
 */
import { startServer, type ServerProcess } from './servers';
import { connect, request, type ClientSocket } from './sockets';
import { median, until, within } from './stats';

export interface RelayTrial {
  perSecond: number;
  /** Server CPU (user + system) per relayed message, µs. */
  serverCpuUs: number;
  /** This process's CPU per message, µs (the two clients). */
  clientCpuUs: number;
}

interface Pair {
  kind: 'rxpeer' | 'bare';
  server: ServerProcess;
  a: ClientSocket;
  b: ClientSocket;
}

const PAYLOAD = 'x'.repeat(1024);

async function pair(kind: 'rxpeer' | 'bare', profileDir?: string): Promise<Pair> {
  const server = await startServer(
    kind === 'rxpeer'
      ? {
          kind,
          // The socket's and its address's message budgets, and the per-recipient bound.
          limits: {
            messageRate: 1e9,
            messageBurst: 1e9,
            messageRatePerAddress: 1e9,
            messageBurstPerAddress: 1e9,
            inboundRatePerAddress: 1e9,
            inboundBurstPerAddress: 1e9,
            inboundBytesPerAddressRate: 1e12,
            inboundBytesPerAddressBurst: 1e12,
          },
        }
      : { kind },
    profileDir,
  );
  const a = await connect(server.url);
  const b = await connect(server.url);
  if (kind === 'rxpeer') {
    const ack = await request<{ status: number }>(a, 'create host', 'relay');
    if (ack.status !== 200) throw new Error(`create host answered ${ack.status}`);
    let joined = false;
    a.once('message', () => {
      joined = true;
    });
    b.emit('message', { type: 'join', to: a.id });
    await until(() => joined, 'join to reach the host', 5_000);
  }
  return { kind, server, a, b };
}

async function trial(p: Pair, count: number, window: number): Promise<RelayTrial> {
  const to = p.b.id;
  let sent = 0;
  let received = 0;
  const cpu0 = await p.server.cpu();
  const mine0 = process.cpuUsage();
  const t0 = performance.now();
  await within(
    new Promise<void>((resolve) => {
      const pump = (): void => {
        while (sent < count && sent - received < window) {
          p.a.emit('message', { type: 'bench', to, sdp: PAYLOAD });
          sent += 1;
        }
      };
      const onMessage = (): void => {
        received += 1;
        if (received === count) {
          p.b.off('message', onMessage);
          resolve();
        } else if (sent - received <= window / 2) pump();
      };
      p.b.on('message', onMessage);
      pump();
    }),
    120_000,
    `${p.kind} relay of ${count} messages`,
  );
  const seconds = (performance.now() - t0) / 1000;
  const mine = process.cpuUsage(mine0);
  const cpu1 = await p.server.cpu();
  const serverUs = cpu1.user - cpu0.user + (cpu1.system - cpu0.system);
  return {
    perSecond: count / seconds,
    serverCpuUs: serverUs / count,
    clientCpuUs: (mine.user + mine.system) / count,
  };
}

export async function relayThroughput(
  trials: number,
  count: number,
  window: number,
  profileDir?: string,
): Promise<{ rxpeer: RelayTrial[]; bare: RelayTrial[] }> {
  const rx = await pair('rxpeer', profileDir);
  const bare = await pair('bare', profileDir);
  const out = { rxpeer: [] as RelayTrial[], bare: [] as RelayTrial[] };
  try {
    // One warm-up each, then alternate which goes first.
    await trial(rx, Math.min(count, 2_000), window);
    await trial(bare, Math.min(count, 2_000), window);
    for (let k = 0; k < trials; k += 1) {
      const order = k % 2 === 0 ? [rx, bare] : [bare, rx];
      for (const p of order) out[p.kind].push(await trial(p, count, window));
    }
  } finally {
    for (const p of [rx, bare]) {
      p.a.close();
      p.b.close();
      await p.server.close();
    }
  }
  return out;
}

export const medianOf = (trials: readonly RelayTrial[], key: keyof RelayTrial): number =>
  median(trials.map((t) => t[key]));
