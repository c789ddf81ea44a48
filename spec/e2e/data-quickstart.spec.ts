/**
 * The quick start runs as copied: examples/quickstart/host.ts and guest.ts,
 * each in its own Node process (ES modules, `rxpeer` resolved to this
 * working tree), against the real signaling server at http://127.0.0.1:3010.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { createSignalingServer, type SignalingServer } from '../../src/server';

jest.setTimeout(60_000);

const root = join(__dirname, '../..');
// Inside node_modules, so the built scripts resolve @roamhq/wrtc as an app would.
const outdir = join(root, 'node_modules/.cache/rxpeer-quickstart');

const children: ReturnType<typeof spawn>[] = [];

interface Run {
  readonly lines: string[];
  readonly firstLine: Promise<string>;
  readonly exit: Promise<number | null>;
}

function run(script: string): Run {
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines: string[] = [];
  let stderr = '';
  let resolveFirst: (line: string) => void = () => undefined;
  const firstLine = new Promise<string>((resolve) => (resolveFirst = resolve));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    lines.push(...chunk.split('\n').filter((l) => l !== ''));
    if (lines.length > 0) resolveFirst(lines[0]!);
  });
  child.on('exit', () => resolveFirst(`(exited before printing; stderr: ${stderr})`));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      if (code !== 0) process.stderr.write(`${script} exited ${String(code)}:\n${stderr}\n`);
      resolve(code);
    }),
  );
  return { lines, firstLine, exit };
}

describe('the quick start (examples/quickstart)', () => {
  let server: SignalingServer | undefined;

  beforeAll(() => {
    mkdirSync(outdir, { recursive: true });
    buildSync({
      entryPoints: [
        join(root, 'examples/quickstart/host.ts'),
        join(root, 'examples/quickstart/guest.ts'),
      ],
      outdir,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // Packages load from node_modules at run time, as in an app; only `rxpeer` is this tree.
      packages: 'external',
      alias: { rxpeer: join(root, 'src/index.ts') },
      logLevel: 'warning',
    });
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await server?.close();
    rmSync(outdir, { recursive: true, force: true });
  });

  it('a host and a guest, each in its own process, say hello over client.channel("chat") and exit 0', async () => {
    server = await createSignalingServer({ port: 3010, host: '127.0.0.1' });
    const host = run(join(outdir, 'host.mjs'));
    await expect(host.firstLine).resolves.toBe('hosting "room"');
    const guest = run(join(outdir, 'guest.mjs'));
    expect(await guest.exit).toBe(0);
    expect(await host.exit).toBe(0);
    expect(host.lines).toEqual(['hosting "room"', 'guest says: hello']);
    expect(guest.lines).toEqual(['host says: welcome! you said "hello"']);
  });
});
