/**
 * The `rxpeer-signaling` bin as a child process (port 0 on loopback):
 * /healthz, a Socket.IO round trip, structured logs, graceful SIGTERM (exit
 * 0), bad flags (exit 2), a taken port (exit 1). In-process: flag and
 * environment parsing, and `main()` with a fake signal source.
 */

import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { io as ioClient } from 'socket.io-client';
import {
  DEFAULT_LIMITS,
  main,
  parseCli,
  type SignalingServerOptions,
} from '../../src/server/index.js';
import { ACK_TIMEOUT_MS } from './helpers.js';

const root = join(__dirname, '..', '..');
const bin = join(root, 'bin', 'rxpeer-signaling.cjs');

/** The test's environment without any setting the server reads. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key !== 'PORT' && !key.startsWith('SIGNALING_')) env[key] = value;
  }
  return { ...env, ...extra };
}

interface Running {
  child: ChildProcessWithoutNullStreams;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

async function startBin(args: string[], env: Record<string, string> = {}): Promise<Running> {
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: cleanEnv(env) });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no listening line; stdout: ${stdout} stderr: ${stderr}`)),
      15_000,
    );
    const check = (): void => {
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', check);
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}; stderr: ${stderr}`));
    });
  });
  return { child, url, stdout: () => stdout, stderr: () => stderr, exit };
}

function runBin(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: cleanEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('rxpeer-signaling bin', () => {
  beforeAll(() => {
    // The bin runs dist/cjs/server/cli.js: build it when it is missing or stale.
    execFileSync(process.execPath, [join(root, 'scripts', 'ensure-build.cjs')], {
      cwd: root,
      stdio: 'pipe',
      timeout: 170_000,
    });
  }, 180_000);

  it('serves /healthz and Socket.IO, then closes gracefully on SIGTERM with exit code 0', async () => {
    const running = await startBin(['--port', '0', '--host', '127.0.0.1']);
    const health = (await (await fetch(`${running.url}/healthz`)).json()) as unknown;
    expect(health).toMatchObject({ ok: true, sockets: 0, clients: 0, hosts: 0 });

    const socket = ioClient(running.url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      const created = (await socket
        .timeout(ACK_TIMEOUT_MS)
        .emitWithAck('create host', 'From the bin')) as unknown;
      expect(created).toEqual({ status: 200, message: expect.any(String) });
      expect((await (await fetch(`${running.url}/healthz`)).json()) as unknown).toMatchObject({
        ok: true,
        sockets: 1,
        clients: 1,
        hosts: 1,
      });
      const gone = new Promise<string>((resolve) => socket.once('disconnect', resolve));
      running.child.kill('SIGTERM');
      // A transport close (not "io server disconnect"), so clients reconnect, e.g. to another node.
      expect(await gone).toBe('transport close');
    } finally {
      socket.disconnect();
    }
    expect(await running.exit).toBe(0);
    expect(running.stdout()).toContain('SIGTERM received, closing');
    expect(running.stderr()).toBe('');
  }, 30_000);

  it('writes one JSON log line per event with SIGNALING_LOGGING=on', async () => {
    const running = await startBin(['--port', '0'], { SIGNALING_LOGGING: 'on' });
    await fetch(`${running.url}/healthz`);
    const socket = ioClient(running.url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('list hosts');
    socket.disconnect();
    running.child.kill('SIGINT');
    expect(await running.exit).toBe(0);
    const lines = running
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg: string; socket?: string });
    expect(lines.map((line) => line.msg)).toEqual(
      expect.arrayContaining(['listening', 'connection', 'list hosts', 'disconnect', 'closed']),
    );
    expect(lines.find((line) => line.msg === 'connection')?.socket).toEqual(expect.any(String));
  }, 30_000);

  it('prints the usage with --help and exits 0', async () => {
    const result = await runBin(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: rxpeer-signaling');
    expect(result.stdout).toContain('--port');
    expect(result.stdout).toContain('SIGNALING_CORS_ORIGIN');
  });

  it.each([
    [['--bogus'], {}, "Unknown option '--bogus'"],
    [['--port', 'abc'], {}, '--port must be a port'],
    [['--port', '70000'], {}, '--port must be a port'],
    [['positional'], {}, 'positional'],
    [[], { PORT: 'x' }, 'PORT must be a port'],
    [[], { SIGNALING_LOGGING: 'loud' }, 'SIGNALING_LOGGING must be on, off or a level'],
    [['--max-sdp-bytes', '2000000'], {}, 'maxSdpBytes'],
  ])('exits 2 with a clear message for %j %j', async (args, env, message) => {
    const result = await runBin(args, env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain('--help');
  });

  it('exits 1 when the port is taken, suggesting --port', async () => {
    const running = await startBin(['--port', '0']);
    const port = new URL(running.url).port;
    const result = await runBin(['--port', port]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('EADDRINUSE');
    expect(result.stderr).toContain(`port ${port} is already in use`);
    expect(result.stderr).toContain('--port');
    running.child.kill('SIGTERM');
    expect(await running.exit).toBe(0);
  }, 30_000);

  it('exits 0 on SIGTERM within the grace when its stdout reader has gone (EPIPE)', async () => {
    const running = await startBin(['--port', '0'], { SIGNALING_LOGGING: 'on' });
    // The reader goes (a log shipper restarts, `| head -1` exits) …
    running.child.stdout.destroy();
    // … and the server keeps writing: a connection logs a line.
    const socket = ioClient(running.url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('list hosts');
    socket.disconnect();
    const started = Date.now();
    running.child.kill('SIGTERM');
    expect(await running.exit).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(running.stderr()).not.toContain('EPIPE');
  }, 30_000);

  it('prints its version with --version and exits 0', async () => {
    const result = await runBin(['--version']);
    expect(result.code).toBe(0);
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(result.stdout.trim()).toBe(version);
  });

  it('exits 2 at start, with a clear message, when --static-dir does not exist', async () => {
    const result = await runBin(['--port', '0', '--static-dir', join(root, 'no-such-dir')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no-such-dir');
    expect(result.stderr).toContain('does not exist');
    expect(result.stdout).not.toContain('listening');
  });
});

describe('settings from flags and the environment', () => {
  const run = (argv: string[], env: Record<string, string> = {}): SignalingServerOptions => {
    const parsed = parseCli(argv, env);
    if (parsed.kind !== 'run') throw new Error(`expected run, got ${JSON.stringify(parsed)}`);
    return parsed.options;
  };

  it('has no settings by default (the server defaults apply: 127.0.0.1:3010)', () => {
    expect(run([])).toEqual({});
  });

  it('reads the reference server variables', () => {
    expect(
      run([], {
        PORT: '3000',
        SIGNALING_LOGGING: 'on',
        SIGNALING_CORS_ORIGIN: 'https://app.example',
        SIGNALING_CORS_CREDENTIALS: 'true',
      }),
    ).toEqual({
      port: 3000,
      logging: true,
      cors: { origin: 'https://app.example', credentials: true },
    });
    expect(run([], { SIGNALING_LOGGING: 'off' }).logging).toBe(false);
    expect(run([], { SIGNALING_LOGGING: 'warn' }).logging).toBe('warn');
  });

  it('lets flags win over the environment', () => {
    expect(
      run(['--port', '4000', '-p', '4001', '--host', '0.0.0.0'], {
        PORT: '3000',
        SIGNALING_HOST: '::1',
      }),
    ).toEqual({ port: 4001, host: '0.0.0.0' });
  });

  it('reads every limit from a flag or a SIGNALING_ variable', () => {
    expect(
      run(['--max-sdp-bytes', '32768', '--message-rate', '50'], {
        SIGNALING_MAX_CLIENTS: '500',
        SIGNALING_MAX_STRIKES: 'Infinity',
      }).limits,
    ).toEqual({
      maxSdpBytes: 32768,
      messageRate: 50,
      maxClients: 500,
      maxStrikes: Infinity,
    });
    const help = parseCli(['--help'], {});
    expect(help.kind).toBe('help');
    if (help.kind === 'help') {
      for (const [key, value] of Object.entries(DEFAULT_LIMITS)) {
        expect(help.text).toContain(`--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
        expect(help.text).toContain(`(default ${value})`);
      }
    }
  });

  it('runs main() until a signal, then closes and resolves 0', async () => {
    const signals = new EventEmitter();
    const out: string[] = [];
    const io = {
      stdout: { write: (text: string) => out.push(text) },
      stderr: { write: (text: string) => out.push(text) },
    };
    const done = main(['--port', '0'], {}, io, signals as unknown as Parameters<typeof main>[3]);
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (out.some((line) => line.includes('listening on'))) {
          clearInterval(poll);
          resolve();
        }
      }, 10);
    });
    signals.emit('SIGTERM');
    expect(await done).toBe(0);
    expect(signals.listenerCount('SIGTERM') + signals.listenerCount('SIGINT')).toBe(0);
  });
});
