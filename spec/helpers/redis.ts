/**
 * A real, throwaway `redis-server` for the cluster specs: Debian's binary on
 * a free loopback port, no persistence (`--save '' --appendonly no`), owned
 * by the test process and stopped by `stop()`. `stop()` + `start()` on the
 * same instance simulate an outage: Redis comes back on the same port, empty.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

export const REDIS_SERVER = '/usr/bin/redis-server';

/** Fails with the one line that fixes it when redis-server is not installed. */
export function requireRedisServer(): void {
  if (!existsSync(REDIS_SERVER)) {
    throw new Error(
      `${REDIS_SERVER} is missing; the cluster specs need it. Install it with ` +
        '"apt-get install -y redis-server" (npm test does so through scripts/ensure-system.cjs).',
    );
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export class RedisServer {
  private child: ChildProcess | undefined;
  private output = '';

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts a redis-server on a free loopback port. */
  static async start(): Promise<RedisServer> {
    requireRedisServer();
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const server = new RedisServer(await freePort());
      try {
        await server.start();
        return server;
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError instanceof Error ? lastError : new Error(String(lastError));
  }

  /** (Re)starts the server on its port; resolves once it accepts connections. */
  async start(): Promise<void> {
    if (this.child !== undefined) return;
    this.output = '';
    const child = spawn(
      REDIS_SERVER,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'yes',
        '--databases',
        '1',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => fail(new Error('redis-server did not start within 5 s')),
        5_000,
      );
      const fail = (error: Error): void => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        this.child = undefined;
        reject(new Error(`${error.message}\n${this.output}`));
      };
      const onData = (data: Buffer): void => {
        this.output += data.toString();
        if (this.output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', (data: Buffer) => (this.output += data.toString()));
      child.once('exit', (code, signal) =>
        fail(new Error(`redis-server exited (${String(code ?? signal)})`)),
      );
      child.once('error', fail);
    });
    child.removeAllListeners('exit');
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    // Keep draining its output so it never blocks on a full pipe.
  }

  /** Stops the server at once (SIGKILL: an outage, not a shutdown); resolves when it is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }
}
