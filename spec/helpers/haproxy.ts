/**
 * A real HAProxy (Debian's `haproxy`) on loopback in front of signaling
 * nodes, with the reference configuration of docs/operations.md ("A load
 * balancer in front"), and its statistics read over HTTP (CSV).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis';

export const HAPROXY = '/usr/sbin/haproxy';

export interface Backend {
  name: string;
  /** `127.0.0.1:port` */
  address: string;
}

/**
 * The reference configuration, as docs/operations.md shows it (the drain
 * spec checks the page holds it): `bind` and `stats` are `address:port`,
 * `checkMs` the health-check interval.
 */
export function referenceConfig({
  bind,
  stats,
  backends,
  checkMs,
}: {
  bind: string;
  stats: string;
  backends: readonly Backend[];
  checkMs: number;
}): string {
  return [
    'global',
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    // An upgraded WebSocket lives as long as the signaling connection.
    '  timeout tunnel 1h',
    '  option redispatch',
    '  retries 3',
    'frontend signaling',
    `  bind ${bind}`,
    '  default_backend nodes',
    'backend nodes',
    // Each client address stays on one node, so a long-polling session's requests all reach
    // the node that holds it; consistent hashing moves only the clients of a node that leaves.
    '  balance source',
    '  hash-type consistent',
    '  option httpchk GET /readyz',
    '  http-check expect status 200',
    `  default-server inter ${checkMs} fall 1 rise 2`,
    ...backends.map((b) => `  server ${b.name} ${b.address} check`),
    'listen stats',
    `  bind ${stats}`,
    '  stats enable',
    '  stats uri /stats',
    '',
  ].join('\n');
}

export class HaProxy {
  private output = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly statsPort: number,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get log(): string {
    return this.output;
  }

  static async start(backends: readonly Backend[], checkMs = 200): Promise<HaProxy> {
    if (!existsSync(HAPROXY)) throw new Error(`${HAPROXY} is missing: apt-get install -y haproxy`);
    const [port, statsPort] = [await freePort(), await freePort()];
    const dir = mkdtempSync(join(tmpdir(), 'rxpeer-haproxy-'));
    const config = join(dir, 'haproxy.cfg');
    writeFileSync(
      config,
      referenceConfig({
        bind: `127.0.0.1:${port}`,
        stats: `127.0.0.1:${statsPort}`,
        backends,
        checkMs,
      }),
    );
    // -db: in the foreground, no daemon; SIGTERM stops it.
    const child = spawn(HAPROXY, ['-db', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    const proxy = new HaProxy(child, port, statsPort, dir);
    child.stdout!.on('data', (d: Buffer) => (proxy.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (proxy.output += d.toString()));
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) =>
        reject(new Error(`haproxy exited (${String(code)}):\n${proxy.output}`)),
      ),
    );
    exited.catch(() => undefined);
    const end = Date.now() + 10_000;
    for (;;) {
      try {
        await Promise.race([proxy.stats(), exited]);
        return proxy;
      } catch (error) {
        if (child.exitCode !== null || Date.now() > end) {
          await proxy.stop();
          throw error;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** `show stat` as rows keyed by column (pxname, svname, status, hrsp_5xx …). */
  async stats(): Promise<Record<string, string>[]> {
    const res = await fetch(`http://127.0.0.1:${this.statsPort}/stats;csv`, {
      signal: AbortSignal.timeout(2_000),
    });
    const text = await res.text();
    const [header, ...lines] = text.trim().split('\n');
    const columns = (header ?? '').replace(/^# /, '').split(',');
    return lines.map((line) => {
      const cells = line.split(',');
      return Object.fromEntries(columns.map((c, i) => [c, cells[i] ?? '']));
    });
  }

  /** The status (`UP`, `DOWN` …) of each server of the `nodes` backend. */
  async serverStatus(): Promise<Record<string, string>> {
    const rows = await this.stats();
    return Object.fromEntries(
      rows
        .filter((r) => r.pxname === 'nodes' && r.svname !== 'BACKEND' && r.svname !== 'FRONTEND')
        .map((r) => [r.svname ?? '', (r.status ?? '').split(' ')[0] ?? '']),
    );
  }

  /** Responses by class that the frontend sent to clients (`hrsp_5xx` …) and connection errors. */
  async frontendCounters(): Promise<{
    '2xx': number;
    '4xx': number;
    '5xx': number;
    total: number;
  }> {
    const row = (await this.stats()).find(
      (r) => r.pxname === 'signaling' && r.svname === 'FRONTEND',
    );
    const n = (key: string): number => Number(row?.[key] ?? 0);
    return {
      '2xx': n('hrsp_2xx'),
      '4xx': n('hrsp_4xx'),
      '5xx': n('hrsp_5xx'),
      total: n('req_tot'),
    };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
