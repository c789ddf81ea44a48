/**
 * The `rxpeer-signaling` command (bin/rxpeer-signaling.cjs runs the compiled
 * copy of this file). Exit codes: 0 after a clean SIGTERM/SIGINT shutdown,
 * 1 when the server cannot start (port in use …), 2 for bad flags or settings.
 */

import { parseCli } from './config.js';
import { drainOnSignal } from './drain.js';
import { createSignalingServer } from './signalingServer.js';

export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** Something that delivers process signals (the process itself, or a fake in specs). */
export interface SignalSource {
  once(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
  off(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
}

/** Runs the server until SIGTERM or SIGINT; resolves with the exit code. */
export async function main(
  argv: readonly string[] = process.argv.slice(2),
  env: Readonly<Record<string, string | undefined>> = process.env,
  io: CliIo = { stdout: process.stdout, stderr: process.stderr },
  signals: SignalSource = process,
): Promise<number> {
  const parsed = parseCli(argv, env);
  switch (parsed.kind) {
    case 'help':
      io.stdout.write(parsed.text);
      return 0;
    case 'error':
      io.stderr.write(
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
    io.stderr.write(
      `rxpeer-signaling: cannot start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 1;
  }
  io.stdout.write(`rxpeer signaling server listening on ${server.url}\n`);

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
    io.stdout.write(
      `rxpeer signaling server: ${signal} received, closing after a drain (again: at once)\n`,
    );
    await drainOnSignal(server, signals);
  } else {
    io.stdout.write(`rxpeer signaling server: ${signal} received, closing\n`);
    await server.close();
  }
  io.stdout.write('rxpeer signaling server: closed\n');
  return 0;
}
