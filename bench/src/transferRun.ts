/**
 * Runs only the transfer figures (bench/src/transfer.ts) against an
 * in-process signaling server: `node scripts/netns.cjs node <built transferRun.js> [trials]`.
 */
import { createSignalingServer } from '../../src/server';
import { summarize } from './stats';
import { transfer, type TransferTrial } from './transfer';

async function main(): Promise<void> {
  const trials = Number(process.argv[2] ?? '3');
  const server = await createSignalingServer({ port: 0, host: '127.0.0.1' });
  try {
    const s = await transfer(server.url, trials, (line) => console.log(line));
    const show = (name: string, t: TransferTrial[]): void => {
      const mbps = summarize(t.map((x) => x.mbps));
      const rss = summarize(t.map((x) => x.memory.rssMiB));
      const ab = summarize(t.map((x) => x.memory.arrayBuffersMiB));
      const q = t.filter((x) => x.firstQuarter !== undefined);
      const quarter =
        q.length === 0
          ? ''
          : `; after the first quarter: arrayBuffers +${summarize(q.map((x) => x.firstQuarter!.arrayBuffersMiB)).median.toFixed(1)} MiB, RSS +${summarize(q.map((x) => x.firstQuarter!.rssMiB)).median.toFixed(1)} MiB`;
      console.log(
        `${name.padEnd(22)} median ${mbps.median.toFixed(1)} MB/s; sender-side growth: RSS +${rss.median.toFixed(1)} MiB (max ${rss.max.toFixed(1)}), arrayBuffers +${ab.median.toFixed(1)} MiB (max ${ab.max.toFixed(1)})${quarter}`,
      );
    };
    show('20 MiB rxpeer', s.rxpeer20);
    show('20 MiB bare channel', s.bare20);
    show('50 MiB rxpeer', s.rxpeer50);
    show('50 MiB bare channel', s.bare50);
  } finally {
    await server.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
