/**
 * Docs that run: every ```ts block of README.md and docs/*.md is type-checked
 * with the tsconfig the README states for a Node project (its ```json tsconfig
 * block), and executed, unless its fence says otherwise. The convention is in
 * docs/README.md ("Code blocks in these docs"):
 *
 *   ```ts                 complete program: checked and run
 *   ```ts compile         checked only
 *   ```ts fragment        neither
 *   ```ts no-server       run without the signaling server on 127.0.0.1:3010
 *   ```ts group=NAME      run at once with the file's other blocks of that group
 *                         (in document order, each after the previous one printed a line)
 *   ```ts timeout=MS      time limit (default 20000)
 *   ```ts file=PATH[#region]  the block is that file (or region) of the repository, verbatim
 *
 * Each run gets a network namespace of its own with only loopback (when the
 * suite runs in one, as `npm test` does), so the docs' literal port 3010 is
 * free; imports of `rxpeer`, `rxpeer/bridge` and `rxpeer-signaling` resolve
 * to src/. `DOCS=docs/limits.md npm test -- spec/docs.spec.ts` checks one file.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import * as ts from 'typescript';

const ROOT = path.join(__dirname, '..');
const WORK = path.join(ROOT, 'test-output', 'docs', String(process.pid));
const DEFAULT_TIMEOUT = 20_000;
const KNOWN_FLAGS = new Set(['compile', 'fragment', 'no-server']);
const KNOWN_KEYS = new Set(['group', 'timeout', 'file']);
const ALIASES: Record<string, string> = {
  rxpeer: 'src/index.ts',
  'rxpeer/bridge': 'src/bridge/index.ts',
  'rxpeer-signaling': 'src/server/index.ts',
  // The repository's own name for the server's entry point, kept for a transition.
  'rxpeer/server': 'src/server/index.ts',
};

interface Block {
  doc: string; // relative to ROOT
  line: number; // 1-based line of the first code line
  lang: string;
  flags: Set<string>;
  attrs: Map<string, string>;
  code: string;
}

function docFiles(): string[] {
  const only = process.env.DOCS;
  if (only !== undefined && only !== '') return only.split(',').map((f) => f.trim());
  const docsDir = path.join(ROOT, 'docs');
  const docs = fs.existsSync(docsDir)
    ? fs
        .readdirSync(docsDir)
        .filter((f) => f.endsWith('.md'))
        .sort()
        .map((f) => `docs/${f}`)
    : [];
  return ['README.md', ...docs];
}

function parseBlocks(doc: string): Block[] {
  const lines = fs.readFileSync(path.join(ROOT, doc), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)\s*(.*)$/.exec(lines[i]!);
    if (open === null) continue;
    const [, indent, fence, lang, info] = open as unknown as [
      string,
      string,
      string,
      string,
      string,
    ];
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j]!.trimStart().startsWith(fence))
      body.push(lines[j++]!.slice(indent.length));
    const flags = new Set<string>();
    const attrs = new Map<string, string>();
    for (const word of info.split(/\s+/).filter(Boolean)) {
      const eq = word.indexOf('=');
      if (eq > 0) attrs.set(word.slice(0, eq), word.slice(eq + 1));
      else flags.add(word);
    }
    blocks.push({ doc, line: i + 2, lang, flags, attrs, code: body.join('\n') });
    i = j;
  }
  return blocks;
}

/** The text of `file=path[#region]`, without the region markers. */
function included(spec: string): string {
  const [file, region] = spec.split('#') as [string, string | undefined];
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  if (region === undefined) return text;
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === `// #region ${region}`);
  const end = lines.findIndex((l) => l.trim() === `// #endregion ${region}`);
  if (start < 0 || end < start) throw new Error(`${file} has no region "${region}"`);
  return lines.slice(start + 1, end).join('\n');
}

const trimBlank = (text: string): string => text.replace(/^\s*\n/, '').replace(/\s+$/, '');
const where = (b: Block): string => `${b.doc}:${b.line}`;

/** The compiler options a Node project needs, as the README states them (```json tsconfig). */
function statedCompilerOptions(): ts.CompilerOptions {
  const readme = parseBlocks('README.md').find((b) => b.lang === 'json' && b.flags.has('tsconfig'));
  if (readme === undefined)
    throw new Error('README.md states no tsconfig (a ```json tsconfig block)');
  const parsed = ts.parseConfigFileTextToJson('tsconfig.json', readme.code);
  if (parsed.error !== undefined)
    throw new Error(ts.flattenDiagnosticMessageText(parsed.error.messageText, '\n'));
  const converted = ts.convertCompilerOptionsFromJson(
    (parsed.config as { compilerOptions: unknown }).compilerOptions,
    ROOT,
  );
  if (converted.errors.length > 0) {
    throw new Error(
      converted.errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('\n'),
    );
  }
  return converted.options;
}

const blocks = docFiles().flatMap(parseBlocks);
const tsBlocks = blocks.filter((b) => b.lang === 'ts' || b.lang === 'typescript');
const checked = tsBlocks.filter((b) => !b.flags.has('fragment'));
const runnable = checked.filter((b) => !b.flags.has('compile'));
const scratchOf = (b: Block): string =>
  path.join(WORK, `${b.doc.replace(/[/.]/g, '_')}-L${b.line}.ts`);
/** A block that mirrors a whole file is checked and run as that file, where its relative imports work. */
const mirrorsFile = (b: Block): boolean => {
  const file = b.attrs.get('file');
  return file !== undefined && !file.includes('#') && fs.existsSync(path.join(ROOT, file));
};
const fileOf = new Map<Block, string>(
  checked.map((b) => [b, mirrorsFile(b) ? path.join(ROOT, b.attrs.get('file')!) : scratchOf(b)]),
);

/** Runnable blocks, one entry per run: a block alone, or a group in document order. */
function runs(): Block[][] {
  const result: Block[][] = [];
  const groups = new Map<string, Block[]>();
  for (const b of runnable) {
    const group = b.attrs.get('group');
    if (group === undefined) {
      result.push([b]);
      continue;
    }
    const key = `${b.doc}#${group}`;
    const members = groups.get(key);
    if (members === undefined) {
      const fresh = [b];
      groups.set(key, fresh);
      result.push(fresh);
    } else members.push(b);
  }
  return result;
}

// Started in each run's namespace: the signaling server (unless no-server), then
// the blocks, each once the previous one has printed something.
const RUNNER = String.raw`
import { spawn } from 'node:child_process';
const job = JSON.parse(process.argv[2]);
let server;
if (job.server) {
  const { createSignalingServer } = await import(job.server);
  server = await createSignalingServer({ port: 3010, host: '127.0.0.1' });
}
const children = [];
const results = [];
let failed = false;
const timer = setTimeout(() => {
  failed = true;
  process.stdout.write('\n[docs] time limit reached; stopping the blocks\n');
  for (const c of children) c.kill('SIGKILL');
}, job.timeout);
for (const block of job.blocks) {
  const child = spawn(process.execPath, ['--import', job.globals, block.file], { cwd: job.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  const firstLine = new Promise((resolve) => {
    child.stdout.on('data', (d) => { out += d; if (out.includes('\n')) resolve(); });
    child.once('exit', resolve);
  });
  child.stderr.on('data', (d) => { out += d; });
  results.push(new Promise((resolve) => child.once('exit', (code, signal) => {
    process.stdout.write('[docs] --- ' + block.name + ' (exit ' + (signal ?? code) + ') ---\n' + out + '\n');
    if (code !== 0) failed = true;
    resolve();
  })));
  await firstLine;
}
await Promise.all(results);
clearTimeout(timer);
if (server) await server.close();
process.exit(failed ? 1 : 0);
`;

const GLOBALS = String.raw`
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const wrtc = require('@roamhq/wrtc');
// What a browser has and Node has not.
for (const name of ['RTCPeerConnection', 'RTCSessionDescription', 'RTCIceCandidate']) globalThis[name] ??= wrtc[name];
// The engine can crash in Node's teardown at exit: leave once the event loop is empty.
process.once('beforeExit', (code) => process.exit(code));
`;

const resolveToSrc: esbuild.Plugin = {
  name: 'rxpeer-to-src',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const alias = ALIASES[args.path];
      if (alias !== undefined) return { path: path.join(ROOT, alias) };
      if (args.path.startsWith('.') || path.isAbsolute(args.path)) return undefined;
      return { external: true }; // packages resolve as in a user's project
    });
  },
};

async function bundle(entry: string, outfile: string): Promise<void> {
  await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: ['node20'],
    plugins: [resolveToSrc],
    // src/server loads optional packages with require() where it exists.
    banner: {
      js: "import { createRequire as __rxpeerCreateRequire } from 'node:module'; const require = __rxpeerCreateRequire(import.meta.url);",
    },
    logLevel: 'silent',
  });
}

function run(job: object): Promise<{ code: number | null; output: string }> {
  const runner = path.join(WORK, 'runner.mjs');
  const args = [runner, JSON.stringify(job)];
  // Inside the suite's namespace (npm test), each run gets a fresh one of its own.
  const [command, argv] =
    process.env.RXPEER_NETNS === '1'
      ? [
          'unshare',
          ['-n', 'sh', '-c', 'ip link set lo up && exec "$@"', 'docs', process.execPath, ...args],
        ]
      : [process.execPath, args];
  return new Promise((resolve) => {
    const child = spawn(command, argv as string[], {
      cwd: WORK,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

beforeAll(async () => {
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(WORK, { recursive: true });
  fs.writeFileSync(path.join(WORK, 'package.json'), '{ "type": "module" }\n');
  fs.writeFileSync(path.join(WORK, 'runner.mjs'), RUNNER);
  fs.writeFileSync(path.join(WORK, 'globals.mjs'), GLOBALS);
  for (const [b, file] of fileOf) {
    if (mirrorsFile(b)) continue;
    // A block mirroring a file that is missing still runs as written (the verbatim test fails).
    const mirrored = b.attrs.get('file');
    const code =
      mirrored !== undefined && fs.existsSync(path.join(ROOT, mirrored.split('#')[0]!))
        ? included(mirrored)
        : b.code;
    fs.writeFileSync(file, `${code}\n`);
  }
  await bundle(path.join(ROOT, 'src', 'server', 'index.ts'), path.join(WORK, 'server.mjs'));
}, 60_000);

afterAll(() => {
  fs.rmSync(WORK, { recursive: true, force: true });
});

describe('docs', () => {
  it('has code blocks to check, each fence with known words only', () => {
    expect(tsBlocks.length).toBeGreaterThan(0);
    const unknown = tsBlocks.flatMap((b) => [
      ...[...b.flags]
        .filter((f) => !KNOWN_FLAGS.has(f))
        .map((f) => `${where(b)}: unknown flag "${f}"`),
      ...[...b.attrs.keys()]
        .filter((k) => !KNOWN_KEYS.has(k))
        .map((k) => `${where(b)}: unknown attribute "${k}"`),
      ...(b.attrs.has('timeout') && !/^\d+$/.test(b.attrs.get('timeout')!)
        ? [`${where(b)}: timeout is not a number`]
        : []),
    ]);
    expect(unknown).toEqual([]);
  });

  it('shows files from the repository verbatim where a block says file=', () => {
    const differ = tsBlocks
      .filter((b) => b.attrs.has('file'))
      .map((b) => {
        const file = b.attrs.get('file')!;
        if (!fs.existsSync(path.join(ROOT, file.split('#')[0]!)))
          return `${where(b)}: ${file} does not exist`;
        return trimBlank(included(file)) === trimBlank(b.code)
          ? ''
          : `${where(b)} differs from ${file} (paste the file again)`;
      })
      .filter((problem) => problem !== '');
    expect(differ).toEqual([]);
  });

  it('type-checks every block that is not a fragment with the tsconfig the README states', () => {
    const options: ts.CompilerOptions = {
      ...statedCompilerOptions(),
      noEmit: true,
      types: ['node'],
      typeRoots: [path.join(ROOT, 'node_modules', '@types')],
      paths: Object.fromEntries(
        Object.entries(ALIASES).map(([name, file]) => [name, [path.join(ROOT, file)]]),
      ),
    };
    const program = ts.createProgram([...fileOf.values()], options);
    const blockOf = new Map([...fileOf].map(([b, file]) => [path.resolve(file), b]));
    const errors = ts
      .getPreEmitDiagnostics(program)
      .filter(
        (d) =>
          d.file === undefined ||
          blockOf.has(path.resolve(d.file.fileName)) ||
          !d.file.fileName.includes('node_modules'),
      )
      .map((d) => {
        const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
        if (d.file === undefined || d.start === undefined) return text;
        const { line } = d.file.getLineAndCharacterOfPosition(d.start);
        const b = blockOf.get(path.resolve(d.file.fileName));
        return b === undefined
          ? `${path.relative(ROOT, d.file.fileName)}:${line + 1}: ${text}`
          : `${b.doc}:${b.line + line}: ${text}`;
      });
    expect(errors).toEqual([]);
  }, 120_000);

  it('keeps the README under 10 KB', () => {
    expect(fs.statSync(path.join(ROOT, 'README.md')).size).toBeLessThanOrEqual(10 * 1024);
  });

  it('links only to files that exist', () => {
    const broken = docFiles().flatMap((doc) => {
      const text = fs
        .readFileSync(path.join(ROOT, doc), 'utf8')
        .replace(/^(```|~~~)[\s\S]*?^\1/gm, '');
      return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
        .map((m) => m[1]!)
        .filter((target) => !/^[a-z]+:/i.test(target) && !target.startsWith('#'))
        .filter(
          (target) =>
            !fs.existsSync(path.join(ROOT, path.dirname(doc), decodeURI(target.split('#')[0]!))),
        )
        .map((target) => `${doc}: ${target}`);
    });
    expect(broken).toEqual([]);
  });

  it('has docs/performance.md rendered from bench/results/latest.json', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { render } = require(path.join(ROOT, 'scripts', 'render-performance.cjs')) as {
      render(): string;
    };
    expect(fs.readFileSync(path.join(ROOT, 'docs', 'performance.md'), 'utf8')).toBe(render());
  });

  const planned = runs();
  if (planned.length > 0)
    it.each(planned.map((members) => [members.map(where).join(' + '), members] as const))(
      'runs %s to its end',
      async (_name, members) => {
        const blocksToRun = [];
        for (const b of members) {
          const out = scratchOf(b).replace(/\.ts$/, '.mjs');
          await bundle(fileOf.get(b)!, out);
          blocksToRun.push({ name: where(b), file: out });
        }
        const timeout = Math.max(
          ...members.map((b) => Number(b.attrs.get('timeout') ?? DEFAULT_TIMEOUT)),
        );
        const result = await run({
          server: members.some((b) => b.flags.has('no-server'))
            ? undefined
            : path.join(WORK, 'server.mjs'),
          globals: path.join(WORK, 'globals.mjs'),
          cwd: WORK,
          timeout,
          blocks: blocksToRun,
        });
        if (result.code !== 0) throw new Error(`exit ${String(result.code)}\n${result.output}`);
      },
      120_000,
    );
});
