/**
 * §1–2: join latency, `startClient()` → `started$`, on loopback with the real
 * engine, against the floor: two bare RTCPeerConnections of the same engine
 * exchanging SDP directly (no server), with a data channel, timed until the
 * answerer's ICE is connected (the answerer is the joiner in rxpeer too, and
 * it cannot connect before the offerer applied its answer).
 *
 * The variants run interleaved, one run of each per round, so that the
 * noise of a shared machine lands on all of them alike.
 */
import { firstValueFrom, take, type Subscription } from 'rxjs';
import { PeerClient } from '../../src/client/PeerClient';
import type { PeerClientConfig, PeerState } from '../../src/client/types';
import { createPeerConnection, gathered, iceConnected, openPeerConnections } from './engine';
import { sleep, until, within } from './stats';

/** A loopback UDP port nobody answers on: STUN binding requests go unanswered and gathering hangs (≈ 40 s on this engine). */
export const UNREACHABLE_STUN: RTCConfiguration = { iceServers: [{ urls: 'stun:127.0.0.1:9' }] };

export interface Host {
  readonly client: PeerClient;
  readonly id: string;
  /** Resolves once the host has no peer left (the joiner of the previous run is gone). */
  idle(ms?: number): Promise<void>;
  dispose(): Promise<void>;
}

export async function startHost(
  url: string,
  name: string,
  config: Partial<PeerClientConfig> = {},
): Promise<Host> {
  const client = new PeerClient({ url, ...config }, { createPeerConnection });
  let peers: ReadonlyMap<string, PeerState> = new Map();
  const watch: Subscription = client.peers$.subscribe((p) => {
    peers = p;
  });
  const started = firstValueFrom(client.started$);
  await within(client.startHost(name), 10_000, `start host ${name}`);
  const id = await within(started, 10_000, `host ${name} started`);
  return {
    client,
    id,
    idle: (ms = 10_000) => until(() => peers.size === 0, `host ${name} to drop its peers`, ms, 2),
    async dispose() {
      watch.unsubscribe();
      await client.dispose();
    },
  };
}

/** One rxpeer join: ms from `startClient()` to `started$`. The joiner is disposed afterwards and the host left idle. */
export async function rxpeerJoin(
  url: string,
  host: Host,
  config: Partial<PeerClientConfig>,
  limitMs: number,
  warm = false,
): Promise<number> {
  const joiner = new PeerClient({ url, ...config }, { createPeerConnection });
  try {
    // "Warm": the signaling socket is already connected, as in an app that listed the hosts first.
    if (warm) await within(joiner.listHosts(), 10_000, 'list hosts');
    const started = firstValueFrom(joiner.started$.pipe(take(1)));
    const failed = firstValueFrom(joiner.startFailed$.pipe(take(1))).then(() => {
      throw new Error('startFailed$');
    });
    const t0 = performance.now();
    await joiner.startClient(host.id);
    await within(Promise.race([started, failed]), limitMs, 'join');
    return performance.now() - t0;
  } finally {
    await joiner.dispose();
    await host.idle();
  }
}

/** The floor: two bare peer connections, SDP passed by function call, vanilla ICE (complete SDPs). */
export async function bareVanilla(config: RTCConfiguration = {}): Promise<number> {
  const t0 = performance.now();
  const offerer = createPeerConnection(config);
  const answerer = createPeerConnection(config);
  try {
    offerer.createDataChannel('bench');
    const connected = iceConnected(answerer);
    await offerer.setLocalDescription(await offerer.createOffer());
    await gathered(offerer);
    await answerer.setRemoteDescription(offerer.localDescription!);
    await answerer.setLocalDescription(await answerer.createAnswer());
    await gathered(answerer);
    await offerer.setRemoteDescription(answerer.localDescription!);
    await within(connected, 10_000, 'bare vanilla ICE connected');
    return performance.now() - t0;
  } finally {
    offerer.close();
    answerer.close();
  }
}

/** The trickle floor: the offer leaves at once, candidates go straight to the other side. */
export async function bareTrickle(config: RTCConfiguration = {}): Promise<number> {
  const t0 = performance.now();
  const offerer = createPeerConnection(config);
  const answerer = createPeerConnection(config);
  const pass = (to: RTCPeerConnection) => (event: RTCPeerConnectionIceEvent) => {
    void (
      event.candidate === null ? to.addIceCandidate() : to.addIceCandidate(event.candidate)
    ).catch(() => undefined);
  };
  try {
    offerer.addEventListener('icecandidate', pass(answerer));
    answerer.addEventListener('icecandidate', pass(offerer));
    offerer.createDataChannel('bench');
    const connected = iceConnected(answerer);
    await offerer.setLocalDescription(await offerer.createOffer());
    await answerer.setRemoteDescription(offerer.localDescription!);
    await answerer.setLocalDescription(await answerer.createAnswer());
    await offerer.setRemoteDescription(answerer.localDescription!);
    await within(connected, 10_000, 'bare trickle ICE connected');
    return performance.now() - t0;
  } finally {
    offerer.close();
    answerer.close();
  }
}

export interface JoinSamples {
  rxpeerTrickle: number[];
  /** The same, with the socket connected beforehand (`listHosts()` first, not timed). */
  rxpeerTrickleWarm: number[];
  rxpeerVanilla: number[];
  bareVanilla: number[];
  bareTrickle: number[];
  /** rxpeer trickle with the unreachable STUN server configured on both ends. */
  rxpeerTrickleStun: number[];
  failures: number;
}

/** §1 and the trickle half of §2, interleaved. `runs` counted after `warmup` discarded rounds. */
export async function joinLatency(
  url: string,
  runs: number,
  warmup: number,
  log: (line: string) => void,
): Promise<JoinSamples> {
  const host = await startHost(url, 'bench-join');
  const stunHost = await startHost(url, 'bench-join-stun', { pcConfig: UNREACHABLE_STUN });
  const samples: JoinSamples = {
    rxpeerTrickle: [],
    rxpeerTrickleWarm: [],
    rxpeerVanilla: [],
    bareVanilla: [],
    bareTrickle: [],
    rxpeerTrickleStun: [],
    failures: 0,
  };
  const variants: [keyof Omit<JoinSamples, 'failures'>, () => Promise<number>][] = [
    ['rxpeerTrickle', () => rxpeerJoin(url, host, {}, 10_000)],
    ['bareTrickle', () => bareTrickle()],
    ['rxpeerTrickleWarm', () => rxpeerJoin(url, host, {}, 10_000, true)],
    ['rxpeerVanilla', () => rxpeerJoin(url, host, { trickle: false }, 10_000)],
    ['bareVanilla', () => bareVanilla()],
    ['rxpeerTrickleStun', () => rxpeerJoin(url, stunHost, { pcConfig: UNREACHABLE_STUN }, 10_000)],
  ];
  try {
    for (let round = 0; round < warmup + runs; round += 1) {
      // Rotate the order, so that no variant always follows the same one.
      for (let k = 0; k < variants.length; k += 1) {
        const [name, run] = variants[(round + k) % variants.length]!;
        try {
          const ms = await run();
          if (round >= warmup) samples[name].push(ms);
        } catch (error) {
          samples.failures += 1;
          log(
            `  join ${name} run ${round} failed: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
        await sleep(5);
      }
    }
  } finally {
    await host.dispose();
    await stunHost.dispose();
  }
  const open = openPeerConnections();
  if (open > 0) log(`  warning: ${open} peer connections still open after the join runs`);
  return samples;
}

/**
 * The vanilla half of §2: with the unreachable STUN server, a vanilla join
 * waits for the vanilla-ICE timeout twice (offer, then answer).
 */
export async function vanillaStunJoin(
  url: string,
  runs: number,
  vanillaIceTimeout: number,
  log: (line: string) => void,
): Promise<number[]> {
  const config: Partial<PeerClientConfig> = { pcConfig: UNREACHABLE_STUN, vanillaIceTimeout };
  const host = await startHost(url, 'bench-vanilla-stun', config);
  const samples: number[] = [];
  try {
    for (let i = 0; i < runs; i += 1) {
      try {
        samples.push(
          await rxpeerJoin(
            url,
            host,
            { ...config, trickle: false, p2pTimeout: 4 * vanillaIceTimeout + 5000 },
            4 * vanillaIceTimeout + 10_000,
          ),
        );
      } catch (error) {
        log(
          `  vanilla STUN run ${i} failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
  } finally {
    await host.dispose();
  }
  return samples;
}
