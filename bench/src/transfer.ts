/**
 * Data transfer Node ↔ Node on loopback with the real engine, rxpeer's data
 * API (`client.channel`) side by side with a bare `RTCDataChannel` of the
 * same engine:
 *
 * - **20 MiB**: one 20 MiB binary message (rxpeer splits and reassembles it)
 *   against the same bytes sent over a bare channel in 256 KiB messages with
 *   the same backpressure rule; MB/s from the first send to the last byte in.
 * - **50 MiB**: 800 messages of 64 KiB, each awaited as an app would; the
 *   sender's memory growth above its baseline (peak RSS and peak
 *   `arrayBuffers`, sampled every 10 ms), which must not grow with the
 *   message count. Both peers run in this process, so the figures are an
 *   upper bound for the sender alone (the receiver drops every message).
 *
 * Variants run interleaved, one of each per trial.
 */
import { filter, firstValueFrom, take } from 'rxjs';
import { PeerClient } from '../../src/client/PeerClient';
import type { Channel } from '../../src/client/channel';
import { createPeerConnection, gathered } from './engine';
import { sleep, until, within } from './stats';

const MiB = 1024 * 1024;
const HIGH_WATER = 1 * MiB;
const LOW_WATER = 256 * 1024;

export interface MemoryPeak {
  /** Peak RSS above the baseline taken before the transfer (MiB). */
  readonly rssMiB: number;
  /** Peak `process.memoryUsage().arrayBuffers` above the baseline (MiB). */
  readonly arrayBuffersMiB: number;
}

export interface TransferTrial {
  /** MB/s (10^6 bytes per second). */
  readonly mbps: number;
  readonly memory: MemoryPeak;
  /** 50 MiB runs: the peak after the first quarter of the messages (memory that grew with the count would be ≈ 4× less here). */
  readonly firstQuarter?: MemoryPeak;
}

export interface TransferSamples {
  readonly rxpeer20: TransferTrial[];
  readonly bare20: TransferTrial[];
  readonly rxpeer50: TransferTrial[];
  readonly bare50: TransferTrial[];
}

/** Samples memory every 10 ms until `stop()`; returns the peaks above the baseline. */
function watchMemory(): { peak(): MemoryPeak; stop(): MemoryPeak } {
  (globalThis as { gc?: () => void }).gc?.();
  const base = process.memoryUsage();
  let rss = base.rss;
  let arrayBuffers = base.arrayBuffers;
  const timer = setInterval(() => {
    const now = process.memoryUsage();
    rss = Math.max(rss, now.rss);
    arrayBuffers = Math.max(arrayBuffers, now.arrayBuffers);
  }, 10);
  return {
    peak() {
      const now = process.memoryUsage();
      return {
        rssMiB: (Math.max(rss, now.rss) - base.rss) / MiB,
        arrayBuffersMiB: (Math.max(arrayBuffers, now.arrayBuffers) - base.arrayBuffers) / MiB,
      };
    },
    stop() {
      clearInterval(timer);
      const now = process.memoryUsage();
      return {
        rssMiB: (Math.max(rss, now.rss) - base.rss) / MiB,
        arrayBuffersMiB: (Math.max(arrayBuffers, now.arrayBuffers) - base.arrayBuffers) / MiB,
      };
    },
  };
}

// ---------------------------------------------------------------------------
// rxpeer

interface RxpeerPair {
  readonly sender: Channel;
  readonly receiver: Channel;
  readonly receiverId: string;
  close(): Promise<void>;
}

async function rxpeerPair(url: string, name: string): Promise<RxpeerPair> {
  const host = new PeerClient({ url }, { createPeerConnection });
  const guest = new PeerClient({ url }, { createPeerConnection });
  const receiver = host.channel('bulk');
  const sender = guest.channel('bulk');
  await within(host.startHost(name), 10_000, 'start host');
  const hostId = (await firstValueFrom(host.state$)).id ?? '';
  await within(guest.startClient(hostId), 15_000, 'join');
  await within(
    firstValueFrom(
      sender.open$.pipe(
        filter((open) => open.has(hostId)),
        take(1),
      ),
    ),
    10_000,
    'bulk channel open',
  );
  return {
    sender,
    receiver,
    receiverId: hostId,
    async close() {
      await guest.dispose();
      await host.dispose();
    },
  };
}

async function rxpeer20(url: string, trial: number): Promise<TransferTrial> {
  const pair = await rxpeerPair(url, `transfer20-${trial}`);
  try {
    const message = new Uint8Array(20 * MiB).fill(7);
    const arrived = firstValueFrom(pair.receiver.messages$);
    const memory = watchMemory();
    const t0 = performance.now();
    await pair.sender.send(pair.receiverId, message);
    const got = await within(arrived, 60_000, '20 MiB message');
    const ms = performance.now() - t0;
    const peak = memory.stop();
    if (typeof got.data === 'string' || got.data.byteLength !== message.byteLength)
      throw new Error('20 MiB arrived damaged');
    return { mbps: message.byteLength / 1e6 / (ms / 1000), memory: peak };
  } finally {
    await pair.close();
  }
}

async function rxpeer50(url: string, trial: number): Promise<TransferTrial> {
  const pair = await rxpeerPair(url, `transfer50-${trial}`);
  try {
    const chunk = new Uint8Array(64 * 1024).fill(5);
    const count = 800;
    let received = 0;
    const counting = pair.receiver.messages$.subscribe(({ data }) => {
      received += typeof data === 'string' ? data.length : data.byteLength;
    });
    const memory = watchMemory();
    const t0 = performance.now();
    let firstQuarter: MemoryPeak | undefined;
    for (let i = 0; i < count; i += 1) {
      await pair.sender.send(pair.receiverId, chunk);
      if (i === count / 4 - 1) firstQuarter = memory.peak();
    }
    await until(() => received >= count * chunk.byteLength, '50 MiB to arrive', 60_000, 2);
    const ms = performance.now() - t0;
    const peak = memory.stop();
    counting.unsubscribe();
    return {
      mbps: (count * chunk.byteLength) / 1e6 / (ms / 1000),
      memory: peak,
      ...(firstQuarter ? { firstQuarter } : {}),
    };
  } finally {
    await pair.close();
  }
}

// ---------------------------------------------------------------------------
// Bare RTCDataChannel, same engine, same backpressure rule

interface BarePair {
  readonly send: RTCDataChannel;
  readonly receive: RTCDataChannel;
  close(): void;
}

async function barePair(): Promise<BarePair> {
  const a = createPeerConnection();
  const b = createPeerConnection();
  const send = a.createDataChannel('bulk');
  const incoming = new Promise<RTCDataChannel>((resolve) =>
    b.addEventListener('datachannel', (e) => resolve((e as RTCDataChannelEvent).channel)),
  );
  await a.setLocalDescription(await a.createOffer());
  await gathered(a);
  await b.setRemoteDescription(a.localDescription!);
  await b.setLocalDescription(await b.createAnswer());
  await gathered(b);
  await a.setRemoteDescription(b.localDescription!);
  const receive = await within(incoming, 10_000, 'bare channel');
  receive.binaryType = 'arraybuffer';
  await until(
    () => send.readyState === 'open' && receive.readyState === 'open',
    'bare channel open',
    10_000,
    2,
  );
  return {
    send,
    receive,
    close() {
      a.close();
      b.close();
    },
  };
}

/** Sends `count` × `chunk`, waiting above the high-water mark until the low-water mark (polled: the engine has no bufferedamountlow). */
async function bareSend(
  channel: RTCDataChannel,
  chunk: Uint8Array,
  count: number,
  quarter?: () => void,
): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    if (i === count / 4) quarter?.();
    if (channel.bufferedAmount > HIGH_WATER) {
      while (channel.bufferedAmount > LOW_WATER) await sleep(2);
    }
    channel.send(chunk as Uint8Array<ArrayBuffer>);
  }
}

async function bareTransfer(chunkSize: number, count: number): Promise<TransferTrial> {
  const pair = await barePair();
  try {
    let received = 0;
    pair.receive.addEventListener('message', (e) => {
      received += ((e as MessageEvent).data as ArrayBuffer).byteLength;
    });
    const chunk = new Uint8Array(chunkSize).fill(3);
    const memory = watchMemory();
    const t0 = performance.now();
    let firstQuarter: MemoryPeak | undefined;
    await bareSend(pair.send, chunk, count, () => (firstQuarter = memory.peak()));
    await until(() => received >= chunkSize * count, 'bare bytes to arrive', 60_000, 2);
    const ms = performance.now() - t0;
    return {
      mbps: (chunkSize * count) / 1e6 / (ms / 1000),
      memory: memory.stop(),
      ...(firstQuarter ? { firstQuarter } : {}),
    };
  } finally {
    pair.close();
  }
}

/** Runs `trials` rounds of the four variants, interleaved. */
export async function transfer(
  url: string,
  trials: number,
  log: (line: string) => void = () => undefined,
): Promise<TransferSamples> {
  const samples: TransferSamples = { rxpeer20: [], bare20: [], rxpeer50: [], bare50: [] };
  for (let trial = 0; trial < trials; trial += 1) {
    samples.rxpeer20.push(await rxpeer20(url, trial));
    samples.bare20.push(await bareTransfer(256 * 1024, 80));
    samples.rxpeer50.push(await rxpeer50(url, trial));
    samples.bare50.push(await bareTransfer(64 * 1024, 800));
    const last = (s: TransferTrial[]): string => {
      const t = s[s.length - 1]!;
      return `${t.mbps.toFixed(1)} MB/s, +${t.memory.rssMiB.toFixed(1)} MiB RSS, +${t.memory.arrayBuffersMiB.toFixed(1)} MiB arrayBuffers`;
    };
    log(
      `transfer trial ${trial + 1}/${trials}: 20 MiB rxpeer ${last(samples.rxpeer20)}; bare ${last(samples.bare20)}; ` +
        `50 MiB rxpeer ${last(samples.rxpeer50)}; bare ${last(samples.bare50)}`,
    );
  }
  return samples;
}
