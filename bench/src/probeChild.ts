/**
 * The `list hosts` probe of §4 in its own, otherwise idle process, so that
 * the latency it measures is the server's and the network's, not the garbage
 * collector of the process that holds the thousands of load sockets.
 *
 * argv[2]: server URL, argv[3]: number of probe sockets.
 * IPC: → { samples: n } … ← { latencies, hosts, gc }
 */
import { connectMany, request, closeAll } from './sockets';
import { watchGc } from './stats';

export type ProbeReply =
  | { ready: number }
  | { latencies: number[]; hosts: number; gc: { count: number; totalMs: number; maxMs: number } }
  | { error: string };

const url = process.argv[2] ?? '';
const count = Number(process.argv[3] ?? '20');

async function main(): Promise<void> {
  const { sockets, error } = await connectMany(url, count);
  if (error !== undefined) {
    process.send?.({ error } satisfies ProbeReply);
    closeAll(sockets);
    return;
  }
  process.on('message', (command: { samples: number }) => {
    void (async () => {
      const latencies: number[] = [];
      let hosts = 0;
      const gc = watchGc();
      // One request at a time, each from the next socket: no socket comes near its request rate limit.
      for (let k = 0; k < command.samples; k += 1) {
        const socket = sockets[k % sockets.length]!;
        const t = performance.now();
        const reply = await request<{ status: number; hosts: unknown[] }>(socket, 'list hosts');
        latencies.push(performance.now() - t);
        if (reply.status !== 200) throw new Error(`list hosts answered ${reply.status}`);
        hosts = reply.hosts.length;
      }
      process.send?.({ latencies, hosts, gc: gc.stop() } satisfies ProbeReply);
    })().catch((e: unknown) =>
      process.send?.({ error: e instanceof Error ? e.message : String(e) } satisfies ProbeReply),
    );
  });
  process.on('disconnect', () => {
    closeAll(sockets);
    process.exit(0);
  });
  process.send?.({ ready: sockets.length } satisfies ProbeReply);
}

void main();
