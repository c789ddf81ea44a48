/**
 * Helpers of the cluster specs: signaling nodes as child processes (the CLI
 * with `--redis`), raw socket.io-client sockets with acks, and polling.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';

export type { ClientSocket };

const ROOT = join(__dirname, '../..');

/** Flags that lift the per-address protocol limits (docs/limits.md). */
const ONE_ADDRESS_FLAGS: string[] = (
  [
    ['max-hosts-per-address', 'infinity'],
    ['join-burst-per-address', 'infinity'],
    ['join-rate-per-address', 'infinity'],
    ['join-burst-per-group', 'infinity'],
    ['join-rate-per-group', 'infinity'],
    ['max-group-members-per-address', 'infinity'],
    ['message-burst-per-address', 'infinity'],
    ['message-rate-per-address', 'infinity'],
    ['inbound-burst-per-address', 'infinity'],
    ['inbound-rate-per-address', 'infinity'],
    ['list-bytes-per-address-burst', 'infinity'],
    ['list-bytes-per-address-rate', 'infinity'],
  ] as [string, string][]
).flatMap(([flag, value]) => [`--${flag}`, value]);

/** Builds the node script into a temporary directory; `cleanup()` removes it. */
export function buildNodeScript(): { script: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'rxpeer-node-'));
  const script = join(dir, 'node.cjs');
  buildSync({
    entryPoints: [join(__dirname, 'fixtures/signalingNode.ts')],
    outfile: script,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    packages: 'external',
    logLevel: 'warning',
  });
  return { script, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export class SignalingNode {
  private out = '';
  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly url: string,
    private readonly log: () => string,
  ) {}

  /** Starts `node script --port 0 --redis <url>`; resolves when it listens. */
  static async start(
    script: string,
    name: string,
    redisUrl: string,
    args: string[] = [],
  ): Promise<SignalingNode> {
    const child = spawn(
      process.execPath,
      [
        script,
        '--port',
        '0',
        '--host',
        '127.0.0.1',
        '--redis',
        redisUrl,
        '--logging',
        process.env.CLUSTER_NODE_LOG ?? 'warn' /* e.g. CLUSTER_NODE_LOG=info to debug */,
        // Every spec socket comes from 127.0.0.1: per-address protocol limits would count them as one.
        ...ONE_ADDRESS_FLAGS,
        ...args,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules') },
        cwd: ROOT,
      },
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`node ${name} did not start within 10 s:\n${out}`));
      }, 10_000);
      const onData = (): void => {
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          child.stdout!.off('data', onData);
          child.off('exit', onExit);
          resolve(m[1]!);
        }
      };
      const onExit = (code: number | null): void => {
        clearTimeout(timer);
        reject(new Error(`node ${name} exited (${String(code)}) before listening:\n${out}`));
      };
      child.stdout!.on('data', onData);
      child.once('exit', onExit);
    });
    const node = new SignalingNode(name, child, url, () => out);
    return node;
  }

  get output(): string {
    return this.log();
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends `signal` and waits for the exit; resolves with the exit code (null when killed). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', ms = 5_000): Promise<number | null> {
    if (!this.alive) return this.child.exitCode;
    const exited = new Promise<number | null>((resolve) =>
      this.child.once('exit', (code) => resolve(code)),
    );
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), ms);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }

  async health(): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(3_000) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
}

export interface Recorded {
  messages: Record<string, unknown>[];
  leaves: string[];
}

/** Raw sockets (WebSocket only, no reconnection), each recording what it receives. */
export class Sockets {
  readonly all: ClientSocket[] = [];
  readonly received = new Map<ClientSocket, Recorded>();

  async connect(url: string): Promise<ClientSocket> {
    const socket = ioClient(url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: 5_000,
      // Exact statuses, as rxpeer clients get (docs/limits.md).
      auth: { caps: ['status'] },
    });
    this.all.push(socket);
    const record: Recorded = { messages: [], leaves: [] };
    this.received.set(socket, record);
    socket.on('message', (m: Record<string, unknown>) => record.messages.push(m));
    socket.on('user disconnected', (p: { id: string }) => record.leaves.push(p.id));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    return socket;
  }

  of(socket: ClientSocket): Recorded {
    return this.received.get(socket)!;
  }

  closeAll(): void {
    for (const s of this.all) s.disconnect();
    this.all.length = 0;
  }
}

/** Emits with an ack; rejects after `ms`. */
export function request<T = Record<string, unknown>>(
  socket: ClientSocket,
  event: string,
  ...args: unknown[]
): Promise<T> {
  return socket.timeout(5_000).emitWithAck(event, ...args) as Promise<T>;
}

export interface HostsAck {
  status: number;
  hosts: { id: string; name: string }[];
  message?: string;
}

export const sortedHosts = (
  hosts: { id: string; name: string }[],
): { id: string; name: string }[] => [...hosts].sort((a, b) => a.id.localeCompare(b.id));

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
  every = 50,
): Promise<number> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
  return Date.now() - t0;
}
