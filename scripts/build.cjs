#!/usr/bin/env node
// Builds the two packages of this repository from src/:
//
//   rxpeer            (the repository root)       dist/{esm,cjs}: the client and the
//                     Unity bridge, each file transpiled by esbuild, with declarations
//                     from tsc; dist/browser: the IIFE and ESM bundles; bridge/package.json
//                     (for TypeScript's node10 resolution, which ignores `exports`).
//   rxpeer-signaling  (packages/rxpeer-signaling) dist/{esm,cjs}: src/server and what it
//                     imports (src/errors, src/protocol), the same way.
//
//   node scripts/build.cjs [client|signaling|all] [--js-only] [--quiet]
//
// --js-only skips the declarations (tsc) and the browser bundles: what `npm start`
// needs to run the server, in about a second. Source maps carry their sources
// (sourcesContent), since src/ is not shipped.
'use strict';
const { buildSync } = require('esbuild');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const src = path.join(root, 'src');
const signalingDir = path.join(root, 'packages', 'rxpeer-signaling');
const FORMATS = [
  ['esm', 'module'],
  ['cjs', 'commonjs'],
];

/** Every .ts file under `dir`, recursively. */
function tsFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** The files of src/ that the given entry points import, directly or not. */
function closure(entryPoints) {
  const result = buildSync({
    entryPoints,
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    packages: 'external',
    outdir: path.join(root, '.closure'),
    logLevel: 'silent',
  });
  return Object.keys(result.metafile.inputs)
    .map((input) => path.join(root, input))
    .filter((file) => file.startsWith(src + path.sep));
}

/** Transpiles `files` (one output per input, paths kept relative to src/) into outDir/{esm,cjs}. */
function transpile(files, outDir) {
  for (const [dir, type] of FORMATS) {
    const out = path.join(outDir, dir);
    buildSync({
      entryPoints: files,
      outdir: out,
      outbase: src,
      bundle: false,
      format: dir,
      platform: 'node',
      target: ['es2022'],
      sourcemap: true,
      sourcesContent: true,
      logLevel: 'warning',
    });
    fs.writeFileSync(path.join(out, 'package.json'), `${JSON.stringify({ type })}\n`);
  }
}

let declarations;
/** Declarations of all of src/ (one tsc run), into a temporary directory. */
function declare() {
  if (declarations) return declarations;
  declarations = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'rxpeer-types-'));
  const tsc = require.resolve('typescript/bin/tsc');
  execFileSync(
    process.execPath,
    [
      tsc,
      '-p',
      'tsconfig.build.json',
      '--emitDeclarationOnly',
      '--sourceMap',
      'false',
      '--outDir',
      declarations,
    ],
    { cwd: root, stdio: 'inherit' },
  );
  return declarations;
}

/** Copies the declarations of `files` next to their JavaScript in outDir/{esm,cjs}. */
function copyDeclarations(files, outDir) {
  const from = declare();
  for (const file of files) {
    const rel = path.relative(src, file).replace(/\.ts$/, '.d.ts');
    const dts = path.join(from, rel);
    if (!fs.existsSync(dts)) continue;
    for (const [dir] of FORMATS) {
      const to = path.join(outDir, dir, rel);
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.copyFileSync(dts, to);
    }
  }
}

function buildClient({ jsOnly }) {
  const dist = path.join(root, 'dist');
  fs.rmSync(dist, { recursive: true, force: true });
  const serverDir = path.join(src, 'server') + path.sep;
  const files = tsFiles(src).filter((file) => !file.startsWith(serverDir));
  transpile(files, dist);
  if (jsOnly) return;
  copyDeclarations(files, dist);
  // TypeScript's node10 resolution (and old bundlers) ignore `exports`: a folder per subpath.
  fs.mkdirSync(path.join(root, 'bridge'), { recursive: true });
  fs.writeFileSync(
    path.join(root, 'bridge', 'package.json'),
    `${JSON.stringify(
      {
        main: '../dist/cjs/bridge/index.js',
        module: '../dist/esm/bridge/index.js',
        types: '../dist/cjs/bridge/index.d.ts',
        sideEffects: false,
      },
      null,
      2,
    )}\n`,
  );
  // Browser bundles (dist/browser): scripts/bundle-browser.cjs builds them when loaded.
  require('./bundle-browser.cjs');
  // The .esm.js bundles are ES modules; the .iife.js ones are plain <script>s.
  fs.writeFileSync(
    path.join(dist, 'browser', 'package.json'),
    `${JSON.stringify({ type: 'module' })}\n`,
  );
}

function buildSignaling({ jsOnly }) {
  const dist = path.join(signalingDir, 'dist');
  fs.rmSync(dist, { recursive: true, force: true });
  const files = closure([path.join(src, 'server', 'index.ts'), path.join(src, 'server', 'cli.ts')]);
  transpile(files, dist);
  if (jsOnly) return;
  copyDeclarations(files, dist);
}

/**
 * Compiles the shipped declarations on their own, library checks on: a declaration
 * that lost an import (`@internal` on a file's first comment strips the import it
 * sits on) or names something unexported fails here rather than in a user's project.
 */
function checkDeclarations(which) {
  const entries = [];
  for (const dir of ['esm', 'cjs']) {
    if (which !== 'signaling')
      entries.push(`dist/${dir}/index.d.ts`, `dist/${dir}/bridge/index.d.ts`);
    if (which !== 'client') entries.push(`packages/rxpeer-signaling/dist/${dir}/server/index.d.ts`);
  }
  const tsc = require.resolve('typescript/bin/tsc');
  const hint = () =>
    process.stderr.write(
      'rxpeer: the shipped declarations do not compile on their own (above). "Cannot find name" in a .d.ts\n' +
        "  usually means an import was stripped: `@internal` in a file's header comment (the JSDoc right\n" +
        '  above its first import) removes that import from the declarations; put `@internal` on the\n' +
        '  declarations instead.\n',
    );
  try {
    execFileSync(
      process.execPath,
      [
        tsc,
        '--noEmit',
        '--skipLibCheck',
        'false',
        '--strict',
        '--target',
        'es2022',
        '--lib',
        'es2022,dom',
        '--module',
        'node16',
        '--moduleResolution',
        'node16',
        '--types',
        'node',
        ...entries,
      ],
      { cwd: root, stdio: 'inherit' },
    );
  } catch (error) {
    hint();
    throw error;
  }
}

function main(argv) {
  const which = argv.find((a) => !a.startsWith('--')) ?? 'all';
  const jsOnly = argv.includes('--js-only');
  const quiet = argv.includes('--quiet');
  if (!['all', 'client', 'signaling'].includes(which)) {
    process.stderr.write(
      'usage: node scripts/build.cjs [client|signaling|all] [--js-only] [--quiet]\n',
    );
    return 2;
  }
  const step = (name, fn) => {
    const started = Date.now();
    fn();
    if (!quiet)
      process.stdout.write(
        `rxpeer: built ${name} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      );
  };
  try {
    if (which !== 'signaling') step('rxpeer (dist/)', () => buildClient({ jsOnly }));
    if (which !== 'client')
      step('rxpeer-signaling (packages/rxpeer-signaling/dist/)', () => buildSignaling({ jsOnly }));
    if (!jsOnly) step('a check of the declarations', () => checkDeclarations(which));
  } finally {
    if (declarations) fs.rmSync(declarations, { recursive: true, force: true });
  }
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    // tsc and esbuild have printed their errors.
    if (error && error.status === undefined)
      process.stderr.write(`rxpeer: build failed: ${error.message}\n`);
    process.exitCode = 1;
  }
}

module.exports = { main };
