/**
 * The `rxpeer-signaling` command (bin/rxpeer-signaling.cjs runs the compiled
 * copy of this file). Exit codes: 0 after a clean SIGTERM/SIGINT shutdown,
 * 1 when the server cannot start (port in use …), 2 for bad flags or settings.
 *
 * Its own output never takes the process down: a stdout or stderr whose
 * reader has gone (`rxpeer-signaling | head -1`, a restarted log shipper)
 * is written to no more (EPIPE), and the shutdown still exits 0.
 */

import { parseCli } from './config.js';
import { drainOnSignal } from './drain.js';
import { createSignalingServer, SignalingConfigError } from './signalingServer.js';

export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** Something that delivers process signals (the process itself, or a fake in specs). */
export interface SignalSource {
  once(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
  off(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
}

/** A stream as far as the EPIPE guard needs it. */
interface ErrorEmitting {
  write(text: string): unknown;
  on?(event: 'error', listener: (error: Error) => void): unknown;
}

/**
 * Wraps a writable so that an error on it (EPIPE: the reader has gone) ends
 * the writes instead of the process. Writes after that are dropped.
 */
export function safeWriter(stream: ErrorEmitting): { write(text: string): void } {
  let broken = false;
  stream.on?.('error', () => {
    broken = true;
  });
  return {
    write(text: string): void {
      if (broken) return;
      try {
        stream.write(text);
      } catch {
        broken = true;
      }
    },
  };
}

const errorCode = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};

/** Why the server could not start, in words an operator can act on. */
function startFailure(error: unknown, port: number | undefined, host: string | undefined): string {
  const message = error instanceof Error ? error.message : String(error);
  switch (errorCode(error)) {
    case 'EADDRINUSE':
      return (
        `port ${port ?? 3010} is already in use on ${host ?? '127.0.0.1'} (EADDRINUSE); ` +
        'choose another with --port <n> (0 picks a free one)'
      );
    case 'EACCES':
      return `no permission to listen on port ${port ?? 3010} (EACCES); use a port above 1023 with --port <n>`;
    case 'EADDRNOTAVAIL':
      return `the address ${host ?? '127.0.0.1'} is not on this machine (EADDRNOTAVAIL); check --host`;
    case undefined:
    default:
      return message;
  }
}

/** Runs the server until SIGTERM or SIGINT; resolves with the exit code. */
export async function main(
  argv: readonly string[] = process.argv.slice(2),
  env: Readonly<Record<string, string | undefined>> = process.env,
  io: CliIo = { stdout: process.stdout, stderr: process.stderr },
  signals: SignalSource = process,
  version: string = env.npm_package_version ?? 'unknown',
): Promise<number> {
  const stdout = safeWriter(io.stdout);
  const stderr = safeWriter(io.stderr);
  if (argv.includes('--version') || argv.includes('-v')) {
    stdout.write(`${version}\n`);
    return 0;
  }
  const parsed = parseCli(argv, env);
  switch (parsed.kind) {
    case 'help':
      stdout.write(parsed.text);
      return 0;
    case 'error':
      stderr.write(
        `rxpeer-signaling: ${parsed.message}\nRun "rxpeer-signaling --help" for the options.\n`,
      );
      return 2;
    case 'run':
      break;
    default: {
      const unreachable: never = parsed;
      throw new Error(`unknown parse result ${JSON.stringify(unreachable)}`);
    }
  }

  let server;
  try {
    server = await createSignalingServer(parsed.options);
  } catch (error) {
    if (error instanceof SignalingConfigError) {
      stderr.write(
        `rxpeer-signaling: ${error.message}\nRun "rxpeer-signaling --help" for the options.\n`,
      );
      return 2;
    }
    stderr.write(
      `rxpeer-signaling: cannot start: ${startFailure(error, parsed.options.port, parsed.options.host)}\n`,
    );
    return 1;
  }
  stdout.write(`rxpeer signaling server listening on ${server.url}\n`);

  const signal = await new Promise<string>((resolve) => {
    const onTerm = (): void => done('SIGTERM');
    const onInt = (): void => done('SIGINT');
    const done = (name: string): void => {
      signals.off('SIGTERM', onTerm);
      signals.off('SIGINT', onInt);
      resolve(name);
    };
    signals.once('SIGTERM', onTerm);
    signals.once('SIGINT', onInt);
  });
  if (signal === 'SIGTERM') {
    stdout.write(
      `rxpeer signaling server: ${signal} received, closing after a drain (again: at once)\n`,
    );
    await drainOnSignal(server, signals);
  } else {
    stdout.write(`rxpeer signaling server: ${signal} received, closing\n`);
    await server.close();
  }
  stdout.write('rxpeer signaling server: closed\n');
  return 0;
}
