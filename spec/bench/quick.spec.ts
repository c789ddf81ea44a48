/**
 * The benchmark's smoke run (`npm run bench -- --quick`), once per `npm test`,
 * so that the bench cannot rot. It asserts that the run completes and that
 * every figure it reports is a finite number; never how fast anything is.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const LIMIT_MS = 240_000;
jest.setTimeout(LIMIT_MS + 10_000);

interface Row {
  id: string;
  median: unknown;
  p95?: unknown;
  p99?: unknown;
  n?: unknown;
}

function run(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'bench', 'run.cjs'), ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`bench --quick did not finish within ${LIMIT_MS} ms:\n${output}`));
    }, LIMIT_MS);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('npm run bench -- --quick', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rxpeer-bench-spec-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('completes, and every figure of every section is a finite number', async () => {
    const out = join(dir, 'quick.json');
    const { code, output } = await run(['--quick', '--out', out]);
    if (code !== 0) throw new Error(`bench --quick exited with ${String(code)}:\n${output}`);
    const result = JSON.parse(readFileSync(out, 'utf8')) as {
      meta: { cores: unknown; node: unknown };
      rows: Row[];
    };
    expect(typeof result.meta.cores).toBe('number');
    expect(result.meta.node).toBe(process.version);
    const sections = new Set(result.rows.map((r) => r.id.split('.')[0]));
    expect([...sections].sort()).toEqual([
      'join',
      'mesh',
      'ops',
      'relay',
      'server',
      'size',
      'stun',
      'transfer',
    ]);
    const notFinite = result.rows.flatMap((r) =>
      (['median', 'p95', 'p99', 'n'] as const)
        .filter((key) => key in r && !(typeof r[key] === 'number' && Number.isFinite(r[key])))
        .map((key) => `${r.id}.${key} = ${JSON.stringify(r[key])}`),
    );
    expect(notFinite).toEqual([]);
  });
});
