/**
 * coturn (Debian's `turnserver`) on loopback, started by a spec and stopped
 * after it. Long-term credentials; loopback peers allowed, since every peer
 * of the specs lives on 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

export interface Turn {
  readonly url: string;
  readonly username: string;
  readonly credential: string;
  stop(): Promise<void>;
}

const BIN = '/usr/bin/turnserver';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts coturn. With `authSecret`, it takes time-limited credentials
 * (`--use-auth-secret --static-auth-secret`, the scheme the signaling
 * server's `turn` option mints) instead of the static user.
 */
export async function startTurn(options: { authSecret?: string } = {}): Promise<Turn> {
  if (!existsSync(BIN)) {
    throw new Error(
      `${BIN} is missing: install Debian's coturn (npm test does it: scripts/ensure-system.cjs)`,
    );
  }
  const port = await freePort();
  const relayMin = 40000 + Math.floor(Math.random() * 20000);
  const username = 'rxpeer';
  const credential = 'relay-secret';
  const child: ChildProcess = spawn(
    BIN,
    [
      '-n',
      '--listening-ip=127.0.0.1',
      '--relay-ip=127.0.0.1',
      `--listening-port=${port}`,
      `--min-port=${relayMin}`,
      `--max-port=${relayMin + 200}`,
      ...(options.authSecret === undefined
        ? [`--user=${username}:${credential}`, '--lt-cred-mech']
        : ['--use-auth-secret', `--static-auth-secret=${options.authSecret}`]),
      '--realm=rxpeer.test',
      '--no-tls',
      '--no-dtls',
      '--no-tcp-relay',
      '--allow-loopback-peers',
      '--no-cli',
      '--no-multicast-peers',
      '--log-file=stdout',
      '--simple-log',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`coturn did not start within 5 s:\n${log}`)),
      5000,
    );
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      if (/listener opened on|Total General servers/i.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`coturn exited with ${String(code)}:\n${log}`));
    });
  });
  // Give the listener a moment after it says so.
  await new Promise((r) => setTimeout(r, 200));
  return {
    url: `turn:127.0.0.1:${port}?transport=udp`,
    username,
    credential,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 2000).unref();
      }),
  };
}
