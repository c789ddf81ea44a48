#!/usr/bin/env node
// The packages as users install them (CI runs this after the tests):
//
//  1. builds and packs rxpeer and rxpeer-signaling; checks what each tarball holds
//     (code, declarations, bundles, licence; every source map carries its sources);
//  2. runs arethetypeswrong and publint on both tarballs;
//  3. installs the tarballs into fresh consumer projects: ES modules and CommonJS with
//     `moduleResolution` node16, ES modules with `bundler`, each with the tsconfig the
//     README states, the README's quick start compiled there; a browser-style project
//     with rxpeer alone must have none of the server's packages;
//  4. installs rxpeer from a fresh clone as a folder and as a git URL;
//  5. runs the quick start in each consumer project, against the `rxpeer-signaling`
//     the project installed, inside a network namespace with only loopback.
//
//   node scripts/check-packages.cjs [--keep] [--skip-git]
//
// Needs the npm registry for the consumers' other dependencies (rxjs, the engine,
// TypeScript), or an npm cache that has them.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const rootPkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const args = process.argv.slice(2);
const say = (text) => process.stdout.write(`check-packages: ${text}\n`);
const failures = [];
const fail = (text) => {
  failures.push(text);
  process.stdout.write(`check-packages: FAIL ${text}\n`);
};

function sh(command, argv, cwd, { quiet = true, env = process.env } = {}) {
  const result = spawnSync(command, argv, {
    cwd,
    env,
    encoding: 'utf8',
    stdio: quiet ? 'pipe' : 'inherit',
  });
  if (result.status !== 0) {
    const output = quiet ? `\n${result.stdout ?? ''}${result.stderr ?? ''}` : '';
    throw new Error(
      `${command} ${argv.join(' ')} (in ${cwd}) exited ${result.status ?? result.signal}${output}`,
    );
  }
  return result.stdout ?? '';
}
const npm = (argv, cwd, options) =>
  sh('npm', [...argv, '--no-audit', '--no-fund', '--loglevel=error'], cwd, options);

/** The README's ```json tsconfig block and its two quick-start blocks. */
function readme() {
  const text = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const blocks = [...text.matchAll(/^```(\S+)([^\n]*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    lang: m[1],
    info: m[2].trim().split(/\s+/),
    code: m[3],
  }));
  const tsconfig = blocks.find((b) => b.lang === 'json' && b.info.includes('tsconfig'));
  const quickstart = blocks.filter((b) => b.lang === 'ts' && b.info.includes('group=quickstart'));
  if (tsconfig === undefined || quickstart.length !== 2) {
    throw new Error(
      'README.md needs a ```json tsconfig block and two ```ts group=quickstart blocks',
    );
  }
  return {
    tsconfig: JSON.parse(tsconfig.code),
    host: quickstart[0].code,
    guest: quickstart[1].code,
  };
}

/** CommonJS has no top-level await: the imports stay, the rest goes into an async main. */
function asCommonJs(code) {
  const lines = code.split('\n');
  const imports = lines.filter((l) => l.startsWith('import '));
  const body = lines.filter((l) => !l.startsWith('import '));
  return `${imports.join('\n')}\n\nasync function main(): Promise<void> {\n${body
    .map((l) => (l === '' ? l : `  ${l}`))
    .join(
      '\n',
    )}\n}\n\nmain().catch((error: unknown) => {\n  console.error(error);\n  process.exitCode = 1;\n});\n`;
}

function checkTarball(tgz, expected) {
  const listing = sh('tar', ['tzf', tgz], root).split('\n').filter(Boolean);
  for (const file of expected) {
    if (!listing.includes(`package/${file}`)) fail(`${path.basename(tgz)} lacks ${file}`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rxpeer-tgz-'));
  try {
    sh('tar', ['xzf', tgz, '-C', dir], root);
    for (const map of listing.filter((f) => f.endsWith('.map'))) {
      const parsed = JSON.parse(fs.readFileSync(path.join(dir, map), 'utf8'));
      const embedded = Array.isArray(parsed.sourcesContent) ? parsed.sourcesContent : [];
      if (parsed.sources.some((_s, i) => typeof embedded[i] !== 'string')) {
        fail(`${path.basename(tgz)}: ${map} points to sources it does not carry`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  say(
    `${path.basename(tgz)}: ${listing.length} files, ${(fs.statSync(tgz).size / 1024).toFixed(0)} KiB packed`,
  );
}

const versionOf = (name) => `${name}@${rootPkg.devDependencies[name]}`;

function makeConsumer(dir, { type, compilerOptions, tarballs, extra, files }) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    `${JSON.stringify({ name: path.basename(dir), version: '1.0.0', private: true, type }, null, 2)}\n`,
  );
  if (compilerOptions !== undefined) {
    fs.writeFileSync(
      path.join(dir, 'tsconfig.json'),
      `${JSON.stringify({ compilerOptions, include: ['*.ts'] }, null, 2)}\n`,
    );
  }
  for (const [name, text] of Object.entries(files ?? {}))
    fs.writeFileSync(path.join(dir, name), text);
  npm(['install', ...tarballs, ...extra], dir);
}

/** Starts `command` and resolves once its stdout matches `pattern`. */
function startUntil(command, argv, cwd, pattern, output, name) {
  // Its own process group: npx does not pass SIGTERM on to the server it started.
  const child = spawn(command, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const ready = new Promise((resolve, reject) => {
    let seen = '';
    child.stdout.on('data', (d) => {
      output.push(`[${name}] ${String(d)}`);
      seen += String(d);
      if (pattern.test(seen)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${name} exited ${code} before it was ready`)));
  });
  child.stderr.on('data', (d) => output.push(`[${name}] ${String(d)}`));
  const exit = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  return { child, ready, exit };
}

/** Resolves once nothing listens on 127.0.0.1:`port` (the server closed); rejects after 10 s. */
async function portClosed(port) {
  const net = require('node:net');
  for (let i = 0; i < 100; i++) {
    const open = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (!open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the server still listens on ${port} 10 s after SIGTERM`);
}

/** The README's way: `npx rxpeer-signaling`, then host.js, then guest.js once the host printed a line. */
async function runQuickStart(dir) {
  const output = [];
  const started = [];
  const timer = setTimeout(() => {
    output.push('[check] timed out after 60 s\n');
    for (const p of started) p.child.kill('SIGKILL');
  }, 60_000);
  try {
    const server = startUntil(
      'npx',
      ['--no-install', 'rxpeer-signaling'],
      dir,
      /listening on/,
      output,
      'server',
    );
    started.push(server);
    await server.ready;
    const host = startUntil(process.execPath, ['host.js'], dir, /\n/, output, 'host');
    started.push(host);
    await host.ready;
    const guest = startUntil(process.execPath, ['guest.js'], dir, /\n/, output, 'guest');
    started.push(guest);
    const codes = await Promise.all([host.exit, guest.exit]);
    process.kill(-server.child.pid, 'SIGTERM');
    await server.exit;
    await portClosed(3010);
    if (codes.some((c) => c !== 0))
      throw new Error(`exit codes: host ${codes[0]}, guest ${codes[1]}`);
  } catch (error) {
    for (const p of started) {
      try {
        process.kill(-p.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    throw new Error(`${error.message}\n${output.join('')}`);
  } finally {
    clearTimeout(timer);
  }
}

const CONSUMERS = [
  { name: 'esm-node16', type: 'module', resolution: 'node16' },
  { name: 'cjs-node16', type: 'commonjs', resolution: 'node16' },
  { name: 'esm-bundler', type: 'module', resolution: 'bundler' },
];

async function runPhase(work) {
  for (const { name } of CONSUMERS) {
    try {
      await runQuickStart(path.join(work, name));
      say(`${name}: the README quick start ran (host and guest exchanged messages)`);
    } catch (error) {
      fail(`${name}: quick start: ${error.message}`);
    }
  }
}

async function main() {
  if (args[0] === '--run') {
    await runPhase(args[1]);
    return;
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rxpeer-packages-'));
  say(`working in ${work}`);
  try {
    // 1. Build and pack.
    say('building both packages');
    sh(process.execPath, [path.join(root, 'scripts', 'build.cjs'), '--quiet'], root, {
      quiet: false,
    });
    const packs = path.join(work, 'packs');
    fs.mkdirSync(packs);
    npm(['pack', '--ignore-scripts', '--pack-destination', packs], root);
    npm(['pack', '--ignore-scripts', '-w', 'rxpeer-signaling', '--pack-destination', packs], root);
    const client = path.join(packs, `rxpeer-${rootPkg.version}.tgz`);
    const server = path.join(packs, `rxpeer-signaling-${rootPkg.version}.tgz`);
    checkTarball(client, [
      'package.json',
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
      'bridge/package.json',
      'dist/esm/index.js',
      'dist/esm/index.d.ts',
      'dist/cjs/index.js',
      'dist/cjs/index.d.ts',
      'dist/esm/bridge/index.js',
      'dist/cjs/bridge/index.d.ts',
      'dist/browser/rxpeer.iife.js',
      'dist/browser/rxpeer.esm.js',
      'dist/browser/rxpeer-bridge.iife.js',
    ]);
    checkTarball(server, [
      'package.json',
      'README.md',
      'LICENSE',
      'bin/rxpeer-signaling.cjs',
      'dist/cjs/server/cli.js',
      'dist/cjs/server/index.js',
      'dist/cjs/server/index.d.ts',
      'dist/esm/server/index.js',
      'dist/esm/server/index.d.ts',
    ]);
    for (const tgz of [client, server]) {
      if (sh('tar', ['tzf', tgz], root).includes('package/src/'))
        fail(`${path.basename(tgz)} ships src/`);
    }

    // 2. arethetypeswrong and publint.
    for (const tgz of [client, server]) {
      for (const [tool, argv] of [
        ['attw', [tgz, '--format', 'ascii']],
        ['publint', ['--strict', tgz]],
      ]) {
        try {
          sh(path.join(root, 'node_modules', '.bin', tool), argv, root);
          say(`${tool} ${path.basename(tgz)}: no problems`);
        } catch (error) {
          fail(`${tool} ${path.basename(tgz)}: ${error.message}`);
        }
      }
    }

    // 3. Consumer projects.
    const { tsconfig, host, guest } = readme();
    const extra = ['rxjs', '@roamhq/wrtc', 'typescript', '@types/node'].map(versionOf);
    for (const { name, type, resolution } of CONSUMERS) {
      const dir = path.join(work, name);
      const compilerOptions = { ...tsconfig.compilerOptions };
      if (resolution === 'bundler')
        Object.assign(compilerOptions, { module: 'preserve', moduleResolution: 'bundler' });
      const wrap = type === 'commonjs' ? asCommonJs : (code) => code;
      try {
        makeConsumer(dir, {
          type,
          compilerOptions,
          tarballs: [client, server],
          extra,
          files: { 'host.ts': wrap(host), 'guest.ts': wrap(guest) },
        });
        sh(
          process.execPath,
          [path.join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'],
          dir,
        );
        say(
          `${name}: installed both tarballs; the quick start compiles (${type}, moduleResolution ${resolution})`,
        );
      } catch (error) {
        fail(`${name}: ${error.message}`);
      }
    }
    // A browser app: rxpeer alone brings none of the server's packages.
    const browser = path.join(work, 'browser-app');
    try {
      makeConsumer(browser, { type: 'module', tarballs: [client], extra: [versionOf('rxjs')] });
      const tree = npm(['ls', '--all', '--omit=dev', '--parseable'], browser);
      const names = new Set(
        tree
          .split('\n')
          .filter(Boolean)
          .map((p) => path.relative(path.join(browser, 'node_modules'), p))
          .map((p) => p.split(`node_modules${path.sep}`).pop()),
      );
      const forbidden = [
        'socket.io',
        'engine.io',
        'redis',
        '@redis/client',
        'pino',
        '@socket.io/redis-streams-adapter',
      ].filter((n) => names.has(n));
      if (forbidden.length > 0) fail(`a project with rxpeer alone has ${forbidden.join(', ')}`);
      else say(`browser-app: rxpeer alone brings ${names.size - 1} packages, none of the server's`);
      sh(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          "const m = await import('rxpeer'); if (typeof m.PeerClient !== 'function') process.exit(1);",
        ],
        browser,
      );
      sh(
        process.execPath,
        ['-e', "if (typeof require('rxpeer').PeerClient !== 'function') process.exit(1);"],
        browser,
      );
      sh(
        process.execPath,
        ['--input-type=module', '-e', "await import('rxpeer/browser/rxpeer.esm.js')"],
        browser,
      );
    } catch (error) {
      fail(`browser-app: ${error.message}`);
    }

    // 4. From a fresh clone: as a folder and as a git URL.
    if (!args.includes('--skip-git')) {
      const clone = path.join(work, 'clone');
      sh('git', ['clone', '--quiet', root, clone], work);
      for (const [name, spec, prepare] of [
        ['from-folder', clone, true],
        ['from-git', `git+file://${clone}`, false],
      ]) {
        const dir = path.join(work, name);
        try {
          // A folder is linked as it is: build it first, as its own `npm install` does.
          if (prepare) npm(['install'], clone);
          makeConsumer(dir, { type: 'module', tarballs: [spec], extra: [versionOf('rxjs')] });
          sh(
            process.execPath,
            [
              '--input-type=module',
              '-e',
              "const m = await import('rxpeer'); if (typeof m.PeerClient !== 'function') process.exit(1);",
            ],
            dir,
          );
          sh(
            process.execPath,
            [
              '-e',
              "if (typeof require('rxpeer/bridge').PeerAdapter !== 'function') process.exit(1);",
            ],
            dir,
          );
          say(`${name}: installed and imported (ESM and CommonJS)`);
        } catch (error) {
          fail(`${name}: ${error.message}`);
        }
      }
    }

    // 5. The quick start, on loopback only.
    say('running the quick start in each consumer project (network namespace with only loopback)');
    const run = spawnSync(
      process.execPath,
      [path.join(root, 'scripts', 'netns.cjs'), process.execPath, __filename, '--run', work],
      {
        stdio: 'inherit',
      },
    );
    if (run.status !== 0) failures.push('quick start runs (see above)');
  } finally {
    if (args.includes('--keep')) say(`kept ${work}`);
    else fs.rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => {
    if (failures.length > 0) {
      say(`${failures.length} problem(s):\n  ${failures.join('\n  ')}`);
      process.exit(1);
    }
    if (args[0] !== '--run') say('all checks passed');
  },
  (error) => {
    process.stderr.write(`check-packages: ${error.stack}\n`);
    process.exit(1);
  },
);
