/**
 * Starts {@link ./serverChild} (the CLI's `main()` on src, bundled with
 * esbuild) in a child process with `--expose-gc`, and watches it: its exit,
 * its stderr, the error-level lines of its log, its heap over IPC.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import type { ChildMemory, ChildMessage, ChildRequest } from './serverChild';

export type { ChildMemory };

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Set once the process has exited. */
  readonly exit: Exit | undefined;
  /** Resolves when the process exits. */
  readonly exited: Promise<Exit>;
  /** Everything written to stderr (the first MiB). */
  stderr(): string;
  /** Everything written to stdout (the first MiB). */
  stdout(): string;
  /** Closes this side of the child's stdout pipe, as a log shipper that went away (its writes then fail with EPIPE). */
  closeStdout(): void;
  /** Log lines at level error or fatal (pino levels ≥ 50). */
  errorLogs(): string[];
  /** Heap after full GCs. */
  memory(): Promise<ChildMemory>;
  /** Writes a heap snapshot (after GC) to `path` (an investigation aid). */
  snapshot(path: string): Promise<string>;
  /** `GET /healthz`: status and parsed body. */
  health(): Promise<{ status: number; body: Record<string, unknown> }>;
  /**
   * Everything that says the server misbehaved so far: it exited, it wrote to
   * stderr (uncaught exceptions, unhandled rejections, Socket.IO's own
   * complaints), it logged an error. Empty when healthy.
   */
  problems(): string[];
  /** SIGTERM; SIGKILL after `graceMs`. Resolves with the exit. */
  stop(graceMs?: number): Promise<Exit>;
}

/** This directory in the source tree; found from the working directory when bundled elsewhere (soak). */
const SOURCE_DIR = existsSync(join(__dirname, 'serverChild.ts'))
  ? __dirname
  : join(process.env.RXPEER_ROOT ?? process.cwd(), 'spec', 'adversarial');
const ROOT = join(SOURCE_DIR, '..', '..');
const CAPTURE_LIMIT = 1 << 20;

let built: { dir: string; files: Map<string, string> } | undefined;

/**
 * Bundles `spec/adversarial/<entry>.ts` once per module registry (spec
 * file); {@link cleanupBuild} removes the bundles.
 */
export function buildChild(entry = 'serverChild'): string {
  built ??= { dir: mkdtempSync(join(tmpdir(), 'rxpeer-adversarial-')), files: new Map() };
  const known = built.files.get(entry);
  if (known !== undefined) return known;
  const file = join(built.dir, `${entry}.cjs`);
  buildSync({
    entryPoints: [join(SOURCE_DIR, `${entry}.ts`)],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  built.files.set(entry, file);
  return file;
}

/** The environment children need to load packages from the bundles' directory. */
export const childEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  NODE_PATH: join(ROOT, 'node_modules'),
});

/** Removes the bundled child (call in afterAll). */
export function cleanupBuild(): void {
  if (built !== undefined) rmSync(built.dir, { recursive: true, force: true });
  built = undefined;
}

export interface StartOptions {
  /** CLI flags besides `--port 0` (e.g. `['--max-clients', '10']`). */
  flags?: readonly string[];
  /** V8 old-space cap, so a runaway attack ends in a crash instead of eating the machine. Default 1024. */
  maxOldSpaceMb?: number;
  /** Extra environment. */
  env?: Record<string, string>;
}

export async function startServerProcess(options: StartOptions = {}): Promise<ServerProcess> {
  const file = buildChild();
  const child: ChildProcess = fork(
    file,
    ['--port', '0', '--host', '127.0.0.1', '--logging', 'error', ...(options.flags ?? [])],
    {
      execArgv: [
        '--enable-source-maps',
        '--expose-gc',
        `--max-old-space-size=${options.maxOldSpaceMb ?? 1024}`,
      ],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, ...options.env, NODE_PATH: join(ROOT, 'node_modules') },
    },
  );
  let stdout = '';
  let stderr = '';
  const errorLines: string[] = [];
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    if (stdout.length < CAPTURE_LIMIT) stdout += chunk;
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      try {
        const level = (JSON.parse(line) as { level?: number }).level ?? 0;
        if (level >= 50 && errorLines.length < 100) errorLines.push(line.slice(0, 2000));
      } catch {
        // not a log line
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    if (stderr.length < CAPTURE_LIMIT) stderr += chunk;
  });

  let exit: Exit | undefined;
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    }),
  );
  const pending = new Map<number, (answer: ChildMemory | string) => void>();
  let nextId = 1;

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server child did not start within 20 s:\n${stdout}\n${stderr}`));
    }, 20_000);
    void exited.then((e) => {
      clearTimeout(timer);
      reject(
        new Error(
          `server child exited (${JSON.stringify(e)}) before listening:\n${stdout}\n${stderr}`,
        ),
      );
    });
    child.on('message', (message: ChildMessage) => {
      if ('ready' in message) {
        clearTimeout(timer);
        resolve(message.url);
        return;
      }
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if ('result' in message) waiter?.(message.result);
      else if ('file' in message) waiter?.(message.file);
    });
  });
  const port = Number(new URL(url).port);

  const ask = <T extends ChildMemory | string>(
    request: { cmd: 'memory' } | { cmd: 'snapshot'; path: string },
    timeoutMs = 30_000,
  ): Promise<T> => {
    if (exit !== undefined)
      return Promise.reject(new Error(`server exited: ${JSON.stringify(exit)}`));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`server child did not answer "${request.cmd}" within ${timeoutMs} ms`));
      }, timeoutMs);
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error('server child exited'));
      });
      pending.set(id, (answer) => {
        clearTimeout(timer);
        resolve(answer as T);
      });
      child.send({ id, ...request } satisfies ChildRequest);
    });
  };
  const memory = (): Promise<ChildMemory> => ask<ChildMemory>({ cmd: 'memory' });

  const health = (): Promise<{ status: number; body: Record<string, unknown> }> =>
    new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/healthz', agent: false, timeout: 10_000 },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            try {
              resolve({
                status: res.statusCode ?? 0,
                body: JSON.parse(text) as Record<string, unknown>,
              });
            } catch (error) {
              reject(error instanceof Error ? error : new Error(String(error)));
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('/healthz timed out')));
      req.on('error', reject);
      req.end();
    });

  return {
    url,
    port,
    pid: child.pid ?? -1,
    get exit() {
      return exit;
    },
    exited,
    stderr: () => stderr,
    stdout: () => stdout,
    closeStdout: () => child.stdout!.destroy(),
    errorLogs: () => [...errorLines],
    memory,
    snapshot: (path: string) => ask<string>({ cmd: 'snapshot', path }, 300_000),
    health,
    problems() {
      const found: string[] = [];
      if (exit !== undefined) found.push(`the server exited: ${JSON.stringify(exit)}`);
      if (stderr.trim() !== '') found.push(`stderr: ${stderr.slice(0, 4000)}`);
      for (const line of errorLines) found.push(`error log: ${line}`);
      return found;
    },
    async stop(graceMs = 10_000) {
      if (exit !== undefined) return exit;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}
