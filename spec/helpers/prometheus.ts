/**
 * A real Prometheus (Debian's `prometheus`) on loopback that scrapes given
 * targets, queried through its HTTP API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis';

export const PROMETHEUS = '/usr/bin/prometheus';

export class Prometheus {
  private output = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get log(): string {
    return this.output;
  }

  /** Scrapes each target (`host:port` with `/metrics`) every `intervalMs`. */
  static async start(targets: readonly string[], intervalMs = 500): Promise<Prometheus> {
    if (!existsSync(PROMETHEUS))
      throw new Error(`${PROMETHEUS} is missing: apt-get install -y prometheus`);
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'rxpeer-prometheus-'));
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      [
        'global:',
        `  scrape_interval: ${intervalMs}ms`,
        `  scrape_timeout: ${intervalMs}ms`,
        'scrape_configs:',
        '  - job_name: rxpeer',
        '    metrics_path: /metrics',
        '    static_configs:',
        `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
        '',
      ].join('\n'),
    );
    const child = spawn(
      PROMETHEUS,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const prometheus = new Prometheus(child, port, dir);
    child.stdout!.on('data', (d: Buffer) => (prometheus.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (prometheus.output += d.toString()));
    const end = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) {
        await prometheus.stop();
        throw new Error(`prometheus exited (${child.exitCode}):\n${prometheus.output}`);
      }
      try {
        const res = await fetch(`${prometheus.url}/-/ready`, {
          signal: AbortSignal.timeout(1_000),
        });
        if (res.status === 200) return prometheus;
      } catch {
        // not listening yet
      }
      if (Date.now() > end) {
        await prometheus.stop();
        throw new Error(`prometheus not ready within 20 s:\n${prometheus.output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** An instant query; the value of each series, keyed by its labels (JSON). */
  async query(expression: string): Promise<Record<string, number>> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(expression)}`, {
      signal: AbortSignal.timeout(2_000),
    });
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    if (body.status !== 'success')
      throw new Error(`query "${expression}" failed: ${body.error ?? res.status}`);
    const out: Record<string, number> = {};
    for (const series of body.data?.result ?? []) {
      const { __name__: _name, instance: _instance, job: _job, ...labels } = series.metric;
      out[JSON.stringify(labels)] = Number(series.value[1]);
    }
    return out;
  }

  /** The single value of a query, or undefined when it has no series. */
  async value(expression: string): Promise<number | undefined> {
    const values = Object.values(await this.query(expression));
    return values.length === 1 ? values[0] : undefined;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
