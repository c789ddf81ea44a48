/**
 * Links that can be cut, for issue 17's specs and soak: a named network
 * namespace joined to this one by a veth pair whose addresses
 * (10.200.<k>.1 here, 10.200.<k>.2 there) exist only inside the two
 * namespaces, a member running in it as a child process
 * (`ip netns exec … node netnsPeer.cjs`), and a host in this process.
 *
 * The kernel here has no `sch_netem` (nor any other loadable qdisc or
 * classifier), so a cut is made with blackhole routes to the far address on
 * both sides: every packet of the pair (WebRTC and the member's signaling
 * alike) is dropped both ways while the interfaces stay up, as on a dead
 * Wi-Fi or a pulled cable beyond the first hop.
 *
 * Run inside the test namespace (`npm test`, `npm run soak:heal`), as root.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { Subject, filter, firstValueFrom, take, timeout, type Observable } from 'rxjs';
import type { PeerClient } from '../../src/client/PeerClient';
import type { PeerClientConfig } from '../../src/client/types';

import { APP_CHANNEL } from './netnsApp';

export { APP_CHANNEL };

/** The repository (a bundled copy, as the soak runs it, says where with RXPEER_ROOT). */
const root = process.env.RXPEER_ROOT ?? join(__dirname, '../..');

const ip = (...args: string[]): string =>
  execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

let made = 0;

export interface NetnsLink {
  /** The namespace's name (for `ip netns exec`). */
  readonly ns: string;
  /** This side's address on the link. */
  readonly nearAddress: string;
  /** The namespace side's address now. */
  readonly farAddress: string;
  /** Drops every packet between the two addresses, both ways. */
  cut(): void;
  restore(): void;
  /** Gives the namespace side a new address and takes the old one away; returns the new one. */
  moveFar(): string;
  /** Runs `node <args>` inside the namespace. */
  spawnNode(args: readonly string[]): ChildProcess;
  /** Deletes the namespace (its veth end goes with it). Idempotent. */
  close(): void;
}

export function createNetnsLink(): NetnsLink {
  made += 1;
  const k = ((process.pid * 7 + made) % 250) + 1;
  const tag = `${process.pid % 100_000}${String.fromCharCode(96 + (made % 26))}`;
  const ns = `rxheal${tag}`;
  const near = `rhn${tag}`;
  const far = `rhf${tag}`;
  const nearAddress = `10.200.${k}.1`;
  let farAddress = `10.200.${k}.2`;
  let next = 3;
  let isCut = false;
  let closed = false;
  const inNs = (...args: string[]): string => ip('netns', 'exec', ns, 'ip', ...args);
  ip('netns', 'add', ns);
  try {
    ip('link', 'add', near, 'type', 'veth', 'peer', 'name', far, 'netns', ns);
    ip('addr', 'add', `${nearAddress}/24`, 'dev', near);
    ip('link', 'set', near, 'up');
    inNs('link', 'set', 'lo', 'up');
    inNs('addr', 'add', `${farAddress}/24`, 'dev', far);
    inNs('link', 'set', far, 'up');
  } catch (error) {
    ip('netns', 'del', ns);
    throw error;
  }
  return {
    ns,
    nearAddress,
    get farAddress() {
      return farAddress;
    },
    cut() {
      if (isCut) return;
      ip('route', 'add', 'blackhole', `${farAddress}/32`);
      inNs('route', 'add', 'blackhole', `${nearAddress}/32`);
      isCut = true;
    },
    restore() {
      if (!isCut) return;
      ip('route', 'del', 'blackhole', `${farAddress}/32`);
      inNs('route', 'del', 'blackhole', `${nearAddress}/32`);
      isCut = false;
    },
    moveFar() {
      const old = farAddress;
      farAddress = `10.200.${k}.${next}`;
      next += 1;
      // Old one out first: deleting a primary address also deletes the secondaries of its subnet.
      inNs('addr', 'del', `${old}/24`, 'dev', far);
      inNs('addr', 'add', `${farAddress}/24`, 'dev', far);
      return farAddress;
    },
    spawnNode(args) {
      return spawn('ip', ['netns', 'exec', ns, process.execPath, ...args], {
        stdio: ['pipe', 'pipe', 'inherit'],
        env: { ...process.env, NODE_PATH: join(root, 'node_modules') },
      });
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        if (isCut) ip('route', 'del', 'blackhole', `${farAddress}/32`);
      } catch {
        // already gone
      }
      ip('netns', 'del', ns);
    },
  };
}

/** Bundles the member's script once; returns its path and a cleanup. */
export function buildPeerScript(): { script: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'rxpeer-heal-'));
  const script = join(dir, 'netnsPeer.cjs');
  buildSync({
    entryPoints: [join(root, 'spec/helpers/netnsPeer.ts')],
    outfile: script,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['@roamhq/wrtc'],
    nodePaths: [join(root, 'node_modules')],
    logLevel: 'warning',
  });
  return { script, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export type PeerEvent = { ev: string; at: number } & Record<string, unknown>;

/** The member process: its events (JSON lines) as a stream and a log, and its commands. */
export class PeerProcess {
  readonly events: PeerEvent[] = [];
  private readonly events$ = new Subject<PeerEvent>();
  private buffer = '';
  private readonly exited: Promise<void>;

  constructor(private readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      this.buffer += chunk;
      let newline = this.buffer.indexOf('\n');
      while (newline >= 0) {
        const line = this.buffer.slice(0, newline);
        this.buffer = this.buffer.slice(newline + 1);
        newline = this.buffer.indexOf('\n');
        try {
          const event = {
            ...(JSON.parse(line) as Record<string, unknown>),
            at: Date.now(),
          } as PeerEvent;
          this.events.push(event);
          this.events$.next(event);
        } catch {
          // not a line of ours
        }
      }
    });
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /** The next event (from now on) that matches. */
  next(predicate: (event: PeerEvent) => boolean, ms: number): Promise<PeerEvent> {
    return firstValueFrom(
      this.events$.pipe(
        filter(predicate),
        take(1),
        timeout({
          first: ms,
          with: () =>
            Promise.reject(new Error(`the member process sent no matching event within ${ms} ms`)),
        }),
      ),
    );
  }

  command(line: 'send' | 'stop' | 'list' | 'quit'): void {
    this.child.stdin!.write(`${line}\n`);
  }

  /** Asks it to stop (dispose, exit); kills it if it does not within 5 s. */
  async quit(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.command('quit');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.exited,
      new Promise((resolve) => (timer = setTimeout(resolve, 5000))),
    ]);
    clearTimeout(timer);
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

/** What the host side receives on the app channel, across every connection it makes. */
export class AppReceiver {
  readonly received = new Set<number>();
  readonly message$: Observable<number>;
  private readonly messages = new Subject<number>();
  pcCreates = 0;

  constructor(host: PeerClient) {
    this.message$ = this.messages.asObservable();
    host.addPcCreateHook((_id, _isOffer, pc) => {
      this.pcCreates += 1;
      const channel = pc.createDataChannel(APP_CHANNEL.label, {
        negotiated: true,
        id: APP_CHANNEL.id,
        ordered: true,
      });
      channel.addEventListener('message', (event) => {
        const n = Number((event as MessageEvent).data);
        this.received.add(n);
        this.messages.next(n);
      });
    });
  }

  /** Sequence numbers 1…sent that never came. */
  missing(sent: number): number {
    let missing = 0;
    for (let n = 1; n <= sent; n += 1) if (!this.received.has(n)) missing += 1;
    return missing;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A host here and a member in the namespace, connected, the member sending on `app`. */
export interface HealPair {
  readonly host: PeerClient;
  readonly hostId: string;
  readonly peer: PeerProcess;
  readonly peerId: string;
  readonly receiver: AppReceiver;
}

/**
 * Starts `host` as a host at `url` (an address on the link's near side),
 * spawns the member in the namespace, waits until the pair is connected with
 * the heartbeat running and messages flowing.
 */
export async function startHealPair(
  link: NetnsLink,
  script: string,
  url: string,
  host: PeerClient,
  peerConfig: Partial<PeerClientConfig> = {},
): Promise<HealPair> {
  const receiver = new AppReceiver(host);
  const started = firstValueFrom(host.started$.pipe(timeout(10_000)));
  await host.startHost('heal');
  const hostId = await started;
  const peer = new PeerProcess(link.spawnNode([script, url, hostId, JSON.stringify(peerConfig)]));
  const peerId = String(
    (await peer.next((e) => e.ev === 'started' || e.ev === 'startFailed', 20_000)).id,
  );
  await firstValueFrom(
    host.peers$.pipe(
      filter((m) => m.get(peerId)?.phase === 'connected' && m.get(peerId)?.rtt !== undefined),
      timeout(15_000),
    ),
  );
  peer.command('send');
  await firstValueFrom(receiver.message$.pipe(timeout(10_000)));
  return { host, hostId, peer, peerId, receiver };
}

/** How one cut ended, seen from both ends. */
export interface CutResult {
  readonly cutMs: number;
  /** Messages flowed again on the connection that was there before the cut, and nobody left. */
  readonly sameConnection: boolean;
  /** From the link's return to the first message received (ms); undefined when none came in time. */
  readonly recoveredMs?: number;
  /** Phases the host saw for the member, and the member for the host, in order. */
  readonly hostPhases: string[];
  readonly peerPhases: string[];
  /** ICE restarts of the pair on the host (offering) side during the cut. */
  readonly restarts: number;
  readonly hostSawLeave: boolean;
  readonly peerSawLeave: boolean;
}

/**
 * Cuts the link for `cutMs`, restores it, and waits up to `recoverWithinMs`
 * for messages to flow again and the host to see the pair connected.
 */
export async function cutOnce(
  pair: HealPair,
  link: NetnsLink,
  cutMs: number,
  recoverWithinMs = 60_000,
): Promise<CutResult> {
  const { host, peer, peerId, receiver } = pair;
  await firstValueFrom(receiver.message$.pipe(timeout(10_000)));
  // The member's signaling must be through the previous cut too: its TCP connection backs off
  // exponentially while cut, and a cut that starts before it caught up would stall it past the
  // server's ping timeout (a leave that is the earlier cut's doing, not this one's).
  const listed = peer.next((e) => e.ev === 'hosts', 60_000);
  peer.command('list');
  await listed;
  const creates = receiver.pcCreates;
  const restartsBefore = (await firstValueFrom(host.peers$)).get(peerId)?.restarts ?? 0;
  const hostPhases: string[] = [];
  const hostLeaves: string[] = [];
  const phases = host.peerPhase$.subscribe((c) => {
    if (c.id === peerId) hostPhases.push(c.phase);
  });
  const leaves = host.userDisconnecting$.subscribe((id) => hostLeaves.push(id));
  const firstEvent = peer.events.length;
  try {
    link.cut();
    await sleep(cutMs);
    link.restore();
    const back = Date.now();
    let recoveredMs: number | undefined;
    try {
      await firstValueFrom(receiver.message$.pipe(timeout(recoverWithinMs)));
      recoveredMs = Date.now() - back;
      await firstValueFrom(
        host.peers$.pipe(
          filter((m) => m.get(peerId)?.phase === 'connected'),
          timeout(recoverWithinMs),
        ),
      );
    } catch {
      recoveredMs ??= undefined;
    }
    const peerPhaseNow = (): string | undefined =>
      peer.events
        .slice(firstEvent)
        .filter((e) => e.ev === 'phase')
        .at(-1)?.phase as string | undefined;
    if (recoveredMs !== undefined && peerPhaseNow() === 'reconnecting') {
      await peer
        .next((e) => e.ev === 'phase' && e.phase !== 'reconnecting', recoverWithinMs)
        .catch(() => undefined);
    }
    const peerEvents = peer.events.slice(firstEvent);
    const restarts =
      ((await firstValueFrom(host.peers$)).get(peerId)?.restarts ?? restartsBefore) -
      restartsBefore;
    return {
      cutMs,
      sameConnection:
        recoveredMs !== undefined && receiver.pcCreates === creates && hostLeaves.length === 0,
      ...(recoveredMs === undefined ? {} : { recoveredMs }),
      hostPhases,
      peerPhases: peerEvents.filter((e) => e.ev === 'phase').map((e) => String(e.phase)),
      restarts: Math.max(0, restarts),
      hostSawLeave: hostLeaves.length > 0,
      peerSawLeave: peerEvents.some((e) => e.ev === 'leave'),
    };
  } finally {
    link.restore();
    phases.unsubscribe();
    leaves.unsubscribe();
  }
}

/** Stops the member's sender and returns how many of its messages never arrived (waits up to `ms` for the tail). */
export async function lostMessages(
  pair: HealPair,
  ms = 15_000,
): Promise<{ sent: number; lost: number }> {
  const reply = pair.peer.next((e) => e.ev === 'sent', 5000);
  pair.peer.command('stop');
  const sent = Number((await reply).count);
  const deadline = Date.now() + ms;
  while (pair.receiver.missing(sent) > 0 && Date.now() < deadline) {
    await firstValueFrom(
      pair.receiver.message$.pipe(
        timeout({ first: Math.max(1, deadline - Date.now()), with: () => [0] }),
      ),
    );
  }
  return { sent, lost: pair.receiver.missing(sent) };
}
