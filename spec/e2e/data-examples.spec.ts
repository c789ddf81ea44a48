/**
 * The examples run as copied (the quick start, and those docs/data.md and
 * docs/lifecycle.md show): each in its own Node process (ES modules,
 * `rxpeer` resolved to this working tree), against the real signaling
 * server at http://127.0.0.1:3010. One spec file, so nothing else here
 * wants port 3010 at the same time.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { createSignalingServer, type SignalingServer } from '../../src/server';

jest.setTimeout(60_000);

const root = join(__dirname, '../..');
// Inside node_modules, so the built scripts resolve @roamhq/wrtc as an app would.
const outdir = join(root, 'node_modules/.cache/rxpeer-examples');
const EXAMPLES = [
  'quickstart/host',
  'quickstart/guest',
  'data/mesh',
  'data/unreliable',
  'lifecycle/states',
];

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

describe('the examples, run as copied', () => {
  let server: SignalingServer | undefined;

  beforeAll(() => {
    mkdirSync(outdir, { recursive: true });
    buildSync({
      entryPoints: Object.fromEntries(
        EXAMPLES.map((name) => [name, join(root, 'examples', `${name}.ts`)]),
      ),
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
  beforeEach(async () => {
    server = await createSignalingServer({ port: 3010, host: '127.0.0.1' });
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await server?.close();
    rmSync(outdir, { recursive: true, force: true });
  });

  it('quick start: a host and a guest, each in its own process, say hello over client.channel("chat") and exit 0', async () => {
    const host = run(join(outdir, 'quickstart/host.mjs'));
    await expect(host.firstLine).resolves.toBe('hosting "room"');
    const guest = run(join(outdir, 'quickstart/guest.mjs'));
    expect(await guest.exit).toBe(0);
    expect(await host.exit).toBe(0);
    expect(host.lines).toEqual(['hosting "room"', 'guest says: hello']);
    expect(guest.lines).toEqual(['host says: welcome! you said "hello"']);
  });

  it('docs/data.md: a host and two guests exchange text, binary, 8 MiB and a broadcast', async () => {
    const mesh = run(join(outdir, 'data/mesh.mjs'));
    expect(await mesh.exit).toBe(0);
    expect(mesh.lines).toEqual([
      'host → bob: a report follows',
      'alice → bob: Uint8Array(3) [ 1, 2, 3 ]',
      'alice got 8388608 bytes from bob',
      'host broadcast to 2 peers',
    ]);
  });

  it('docs/data.md: an unreliable channel carries game state and refuses what it would have to split', async () => {
    const game = run(join(outdir, 'data/unreliable.mjs'));
    expect(await game.exit).toBe(0);
    expect(game.lines).toEqual(['host got ticks [ 1, 2, 3 ]', 'refused: MESSAGE_TOO_LARGE']);
  });

  it('docs/lifecycle.md: state$, a start cancelled by timeout, a failed start, stop and dispose', async () => {
    const states = run(join(outdir, 'lifecycle/states.mjs'));
    expect(await states.exit).toBe(0);
    expect(states.lines[0]).toMatch(
      /^host state: \{ status: 'started', role: 'host', id: '.+' \}$/,
    );
    expect(states.lines.slice(1)).toEqual([
      'gave up: TimeoutError',
      'client went idle → starting → stopping → idle',
      'client state: started',
      'start failed: START_TIMEOUT true',
      'after stop: idle',
      'state$ completed',
    ]);
  });
});
