/**
 * Hostile scenarios against a running server, all from one address
 * (127.0.0.1), shared by the specs and soak/adversarial.ts. An attack starts,
 * keeps up its pressure (attackers that are cut off come back, as real ones
 * do) until `stop()`, and reports what it saw.
 */
import type { Agent } from 'node:http';
import {
  HandshakeRefused,
  PollingClient,
  RawWebSocket,
  connectPacket,
  eventPacket,
  messagePacket,
} from './rawClients';

export interface AttackContext {
  port: number;
  /** The honest host's socket id and name. */
  hostId: string;
  hostName: string;
  agent: Agent;
}

export interface RunningAttack {
  /** Counters and facts the attack observed (connections made, refused, closed by the server …). */
  readonly observed: Record<string, number>;
  /** Ends the attack and closes every connection it made (polling sessions with a close packet). */
  stop(): Promise<void>;
}

export interface Attack {
  /** Names the attack for {@link attackById} (and for the attacker process). */
  readonly id: string;
  readonly name: string;
  /** Most the server's heap (objects, after GC) may grow while this attack runs, MiB. */
  readonly heapGrowthMiB: number;
  start(context: AttackContext): Promise<RunningAttack>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A WebSocket connected to `/`; resolves with it and its socket id. Throws when refused. */
export async function connectWs(
  port: number,
  options: { autoPong?: boolean } = {},
): Promise<{ ws: RawWebSocket; id: string }> {
  const ws = await RawWebSocket.open(port, options);
  const answer = ws.next((t) => t.startsWith('40') || t.startsWith('44'), 10_000);
  ws.send([connectPacket()]);
  try {
    const text = await answer;
    if (!text.startsWith('40{')) throw new Error(`CONNECT refused: ${text.slice(0, 200)}`);
    return { ws, id: (JSON.parse(text.slice(2)) as { sid: string }).sid };
  } catch (error) {
    await ws.terminate();
    throw error;
  }
}

/** Ack ids for raw emits. */
let ackSeq = 1;
export const nextAck = (): number => ackSeq++;

const counters = (): Record<string, number> => ({});
const bump = (observed: Record<string, number>, key: string, n = 1): void => {
  observed[key] = (observed[key] ?? 0) + n;
};

/**
 * `slots` WebSocket attackers, each sending `batch(slot, i)` every
 * `intervalMs` while connected, coming back after being cut off.
 */
function wsFlood(
  id: string,
  name: string,
  heapGrowthMiB: number,
  slots: number,
  intervalMs: number,
  batch: (slot: number, tick: number, ctx: AttackContext, self: string) => string[],
  prepare?: (ws: RawWebSocket, self: string, ctx: AttackContext) => Promise<void>,
): Attack {
  return {
    id,
    name,
    heapGrowthMiB,
    async start(ctx) {
      const observed = counters();
      let stopping = false;
      const live = new Set<RawWebSocket>();
      const slot = async (n: number): Promise<void> => {
        let tick = 0;
        while (!stopping) {
          let conn: { ws: RawWebSocket; id: string };
          try {
            conn = await connectWs(ctx.port);
          } catch (error) {
            bump(observed, error instanceof HandshakeRefused ? 'refused' : 'connectFailed', 1);
            await sleep(200);
            continue;
          }
          bump(observed, 'connections', 1);
          live.add(conn.ws);
          try {
            await prepare?.(conn.ws, conn.id, ctx);
          } catch {
            bump(observed, 'prepareFailed', 1);
          }
          const timer = setInterval(() => {
            const frames = batch(n, tick++, ctx, conn.id);
            bump(observed, 'sent', frames.length);
            conn.ws.send(frames);
          }, intervalMs);
          await conn.ws.closed;
          clearInterval(timer);
          live.delete(conn.ws);
          if (!stopping) bump(observed, 'closedByServer', 1);
          bump(observed, 'receivedFrames', conn.ws.receivedCount);
        }
      };
      const running = Array.from({ length: slots }, (_, n) => slot(n));
      // Let the flood establish itself.
      await sleep(1_500);
      return {
        observed,
        async stop() {
          stopping = true;
          await Promise.all([...live].map((ws) => ws.terminate()));
          await Promise.all(running);
        },
      };
    },
  };
}

const SDP_1K = 'v=0\r\n' + 'a=flood\r\n'.repeat(110);

/** Floods of every event a client can send, from 10 sockets of one address, far beyond the rate limits. */
export const FLOODS: readonly Attack[] = [
  wsFlood('flood:create host', 'flood: create host', 32, 10, 10, (slot, tick) =>
    Array.from({ length: 50 }, (_, i) =>
      eventPacket(['create host', `squat ${slot} ${tick} ${i}`], nextAck()),
    ),
  ),
  wsFlood('flood:list hosts', 'flood: list hosts', 32, 10, 10, () =>
    Array.from({ length: 50 }, () => eventPacket(['list hosts'], nextAck())),
  ),
  ...(['join', 'call me', 'offer', 'answer', 'done', 'bye', 'candidate', 'x-unknown'] as const).map(
    (type) =>
      wsFlood(
        `flood:message ${type}`,
        `flood: message ${type}`,
        32,
        10,
        10,
        (_slot, _tick, ctx) =>
          Array.from({ length: 50 }, () =>
            messagePacket({
              type,
              to: ctx.hostId,
              ...(type === 'offer' || type === 'answer' ? { sdp: SDP_1K } : {}),
              ...(type === 'call me' ? { me: ctx.hostId } : {}),
              ...(type === 'candidate'
                ? {
                    candidate: {
                      candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host',
                      sdpMid: '0',
                      sdpMLineIndex: 0,
                    },
                  }
                : {}),
            }),
          ),
        // Every flooder first joins the honest host's group, so its messages are relayed to the host.
        async (ws, _self, ctx) => ws.send([messagePacket({ type: 'join', to: ctx.hostId })]),
      ),
  ),
  wsFlood('flood:unknown events', 'flood: unknown events', 32, 10, 10, (_s, tick) =>
    Array.from({ length: 50 }, (_, i) => eventPacket([`x-flood-${(tick + i) % 97}`, { n: i }])),
  ),
];

/** `count` WebSockets connected to `/` and held, all from one address. */
export const MANY_SOCKETS: Attack = {
  id: 'many-sockets',
  name: 'many sockets from one address (1,000 WebSockets held)',
  heapGrowthMiB: 96,
  async start(ctx) {
    const observed = counters();
    const held: RawWebSocket[] = [];
    for (let i = 0; i < 1_000; i += 50) {
      const batch = await Promise.allSettled(Array.from({ length: 50 }, () => connectWs(ctx.port)));
      for (const r of batch) {
        if (r.status === 'fulfilled') {
          held.push(r.value.ws);
          bump(observed, 'connections', 1);
        } else bump(observed, 'refused', 1);
      }
    }
    // A server may also accept and then close what is over its limit.
    await sleep(1_000);
    bump(observed, 'closedByServer', held.filter((ws) => !ws.isOpen).length);
    return {
      observed,
      async stop() {
        await Promise.all(held.map((ws) => ws.terminate()));
      },
    };
  },
};

/** Bare polling handshakes that never send a Socket.IO CONNECT (defect 7), from one address. */
export function bareHandshakes(count: number): Attack {
  return {
    id: `bare:${count}`,
    name: `bare polling handshakes (${count}, never connected)`,
    heapGrowthMiB: 64,
    async start(ctx) {
      const observed = counters();
      const clients: PollingClient[] = [];
      for (let i = 0; i < count; i += 50) {
        const batch = await Promise.allSettled(
          Array.from({ length: Math.min(50, count - i) }, () => PollingClient.open(ctx.port)),
        );
        for (const r of batch) {
          if (r.status === 'fulfilled') {
            clients.push(r.value);
            bump(observed, 'handshakes', 1);
          } else bump(observed, 'refused', 1);
        }
      }
      return {
        observed,
        async stop() {
          await Promise.all(clients.map((c) => c.close()));
        },
      };
    },
  };
}

/** Many Socket.IO CONNECTs in one WebSocket write (defect 6), from `connections` connections. */
export function manyConnects(connections: number, perConnection: number): Attack {
  return {
    id: `connects:${connections}:${perConnection}`,
    name: `${perConnection} CONNECTs in one write, ${connections} WebSocket connection(s)`,
    heapGrowthMiB: 64,
    async start(ctx) {
      const observed = counters();
      const held: RawWebSocket[] = [];
      for (let c = 0; c < connections; c++) {
        try {
          const ws = await RawWebSocket.open(ctx.port);
          held.push(ws);
          ws.send(new Array<string>(perConnection).fill('40'));
          bump(observed, 'connections', 1);
        } catch {
          bump(observed, 'refused', 1);
        }
      }
      await sleep(1_000);
      for (const ws of held) bump(observed, 'connectAnswers', ws.receivedCount);
      return {
        observed,
        async stop() {
          await Promise.all(held.map((ws) => ws.terminate()));
        },
      };
    },
  };
}

/**
 * A sink that does not read (defect 5): socket A hosts, socket B joins A and
 * stops reading (WebSocket paused, pongs answered blindly; or polling that
 * never GETs), A relays 60 KB offers to B as fast as the rate limit lets it.
 * `observed.sinkDropped` counts sinks the server disconnected.
 */
export function nonReaderSink(kind: 'websocket' | 'polling' | 'slow-websocket', pairs = 2): Attack {
  return {
    id: `sink:${kind}:${pairs}`,
    name:
      kind === 'slow-websocket'
        ? `relay to a WebSocket client that reads slowly (${pairs} pairs)`
        : `relay to a ${kind} client that stops reading (${pairs} pairs)`,
    heapGrowthMiB: 64,
    async start(ctx) {
      const observed = counters();
      const sdp = 'v=0\r\n' + 'a=sink\r\n'.repeat(60 * 128);
      const cleanups: (() => Promise<void>)[] = [];
      const timers: NodeJS.Timeout[] = [];
      for (let p = 0; p < pairs; p++) {
        const host = await connectWs(ctx.port);
        cleanups.push(() => host.ws.terminate());
        const created = host.ws.next((t) => t.startsWith('43'), 5_000);
        host.ws.send([eventPacket(['create host', `sink ${p} ${Date.now()}`], nextAck())]);
        await created;
        let sinkId: string;
        if (kind !== 'polling') {
          const sink = await connectWs(ctx.port);
          sinkId = sink.id;
          cleanups.push(() => sink.ws.terminate());
          sink.ws.send([messagePacket({ type: 'join', to: host.id })]);
          await host.ws.next((t) => t.includes('"join"'), 5_000);
          if (kind === 'websocket') sink.ws.stopReading();
          else sink.ws.readSlowly();
        } else {
          const sink = await PollingClient.open(ctx.port, false);
          cleanups.push(() => sink.close());
          await sink.post(['40']);
          const answer = (await sink.get(5_000)).find((t) => t.startsWith('40{'));
          if (answer === undefined) throw new Error('polling sink: no CONNECT answer');
          sinkId = (JSON.parse(answer.slice(2)) as { sid: string }).sid;
          await sink.post([messagePacket({ type: 'join', to: host.id })]);
          await host.ws.next((t) => t.includes('"join"'), 5_000);
          // From here on it never GETs; pongs are posted blindly.
          timers.push(
            setInterval(
              () => {
                void sink.post(['3']).catch(() => undefined);
              },
              Math.max(200, Math.min(sink.handshake.pingInterval, sink.handshake.pingTimeout) / 2),
            ),
          );
        }
        host.ws.ws.on('message', (data) => {
          if (data.toString().includes(`"user disconnected",{"id":"${sinkId}"`))
            bump(observed, 'sinkDropped', 1);
        });
        timers.push(
          setInterval(() => {
            if (!host.ws.isOpen) return;
            const frames = Array.from({ length: 5 }, () =>
              messagePacket({ type: 'offer', to: sinkId, sdp }),
            );
            bump(observed, 'bytesSent', frames.length * sdp.length);
            host.ws.send(frames);
          }, 10),
        );
      }
      await sleep(4_000);
      return {
        observed,
        async stop() {
          for (const t of timers) clearInterval(t);
          await Promise.all(cleanups.map((c) => c().catch(() => undefined)));
        },
      };
    },
  };
}

/**
 * `list hosts` to readers that stopped (defect 3, scaled down): `squatters`
 * sockets hold hosts named with 64 astral code points, then `readers` sockets
 * each send bursts of `list hosts` and never read the answers.
 */
export function listHostsToNonReaders(squatters: number, readers: number): Attack {
  return {
    id: `list-non-readers:${squatters}:${readers}`,
    name: `list hosts of ${squatters} long names to ${readers} sockets that do not read`,
    heapGrowthMiB: 64,
    async start(ctx) {
      const observed = counters();
      const held: RawWebSocket[] = [];
      for (let i = 0; i < squatters; i += 50) {
        const batch = await Promise.allSettled(
          Array.from({ length: Math.min(50, squatters - i) }, async (_, j) => {
            const { ws } = await connectWs(ctx.port);
            held.push(ws);
            const name =
              String.fromCodePoint(0x1f600 + ((i + j) % 64)).repeat(60) +
              String(i + j)
                .padStart(4, '0')
                .replace(/\d/g, (d) => String.fromCodePoint(0x1d7ce + Number(d)));
            const answer = ws.next((t) => t.startsWith('43'), 5_000);
            ws.send([eventPacket(['create host', name], nextAck())]);
            return answer;
          }),
        );
        for (const r of batch) {
          if (r.status === 'fulfilled' && r.value.includes('"status":200'))
            bump(observed, 'hostsCreated', 1);
          else bump(observed, 'hostsRefused', 1);
        }
      }
      const timers: NodeJS.Timeout[] = [];
      for (let r = 0; r < readers; r++) {
        try {
          const { ws } = await connectWs(ctx.port);
          held.push(ws);
          ws.stopReading();
          const burst = (): void => {
            bump(observed, 'requests', 20);
            ws.send(Array.from({ length: 20 }, () => eventPacket(['list hosts'], nextAck())));
          };
          burst();
          timers.push(setInterval(burst, 1_000));
        } catch {
          bump(observed, 'refused', 1);
        }
      }
      await sleep(4_000);
      return {
        observed,
        async stop() {
          for (const t of timers) clearInterval(t);
          await Promise.all(held.map((ws) => ws.terminate()));
        },
      };
    },
  };
}

/** `joiners` sockets that each send one `join` to the honest host (defect 9). */
export function joinFlood(joiners: number): Attack {
  return {
    id: `join-flood:${joiners}`,
    name: `${joiners} sockets each send one join to the honest host`,
    heapGrowthMiB: 64,
    async start(ctx) {
      const observed = counters();
      const held: RawWebSocket[] = [];
      for (let i = 0; i < joiners; i += 20) {
        const batch = await Promise.allSettled(
          Array.from({ length: Math.min(20, joiners - i) }, () => connectWs(ctx.port)),
        );
        for (const r of batch) {
          if (r.status !== 'fulfilled') {
            bump(observed, 'refused', 1);
            continue;
          }
          held.push(r.value.ws);
          r.value.ws.send([messagePacket({ type: 'join', to: ctx.hostId }, nextAck())]);
          bump(observed, 'joins', 1);
        }
      }
      await sleep(2_000);
      return {
        observed,
        async stop() {
          await Promise.all(held.map((ws) => ws.terminate()));
        },
      };
    },
  };
}

/** One address creates hosts from `count` sockets (one host each): name squatting. */
export function squatting(count: number): Attack {
  return {
    id: `squat:${count}`,
    name: `${count} hosts squatted from one address`,
    heapGrowthMiB: 64,
    async start(ctx) {
      const observed = counters();
      const held: RawWebSocket[] = [];
      for (let i = 0; i < count; i += 50) {
        const batch = await Promise.allSettled(
          Array.from({ length: Math.min(50, count - i) }, async (_, j) => {
            const { ws } = await connectWs(ctx.port);
            held.push(ws);
            const answer = ws.next((t) => t.startsWith('43'), 5_000);
            ws.send([eventPacket(['create host', `room ${i + j}`], nextAck())]);
            return answer;
          }),
        );
        for (const r of batch) {
          if (r.status === 'fulfilled' && r.value.includes('"status":200'))
            bump(observed, 'hostsCreated', 1);
          else bump(observed, 'hostsRefused', 1);
        }
      }
      return {
        observed,
        async stop() {
          await Promise.all(held.map((ws) => ws.terminate()));
        },
      };
    },
  };
}

/** The attack an id names (`flood:list hosts`, `sink:websocket:2`, `join-flood:120` …). */
export function attackById(id: string): Attack {
  const flood = FLOODS.find((a) => a.id === id);
  if (flood !== undefined) return flood;
  const [kind, ...rest] = id.split(':');
  const n = rest.map(Number);
  switch (kind) {
    case 'many-sockets':
      return MANY_SOCKETS;
    case 'bare':
      return bareHandshakes(n[0] ?? 100);
    case 'connects':
      return manyConnects(n[0] ?? 1, n[1] ?? 1000);
    case 'sink':
      return nonReaderSink(
        rest[0] === 'polling'
          ? 'polling'
          : rest[0] === 'slow-websocket'
            ? 'slow-websocket'
            : 'websocket',
        n[1] ?? 2,
      );
    case 'list-non-readers':
      return listHostsToNonReaders(n[0] ?? 1000, n[1] ?? 20);
    case 'join-flood':
      return joinFlood(n[0] ?? 120);
    case 'squat':
      return squatting(n[0] ?? 500);
    default:
      throw new Error(`unknown attack "${id}"`);
  }
}
