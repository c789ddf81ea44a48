/**
 * The two packages' manifests against the code they ship: every package the
 * shipped code imports is a dependency (or a peer) of the package that ships
 * it, and the client package brings nothing of the server's. Fast and offline;
 * scripts/check-packages.cjs (CI) installs the packed tarballs for real.
 */
import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import { buildSync } from 'esbuild';

const ROOT = path.join(__dirname, '..');
interface Manifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  exports: Record<string, unknown>;
  files?: string[];
  bin?: Record<string, string>;
  engines?: Record<string, string>;
  license?: string;
  repository?: unknown;
}
const read = (file: string): Manifest =>
  JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8')) as Manifest;
const client = read('package.json');
const server = read('packages/rxpeer-signaling/package.json');

/** The packages (by name) that the code reachable from `entries` imports. */
function importedPackages(entries: string[]): Set<string> {
  const result = buildSync({
    entryPoints: entries.map((e) => path.join(ROOT, e)),
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    packages: 'external',
    outdir: path.join(ROOT, 'test-output', 'package-spec'),
    logLevel: 'silent',
  });
  const names = new Set<string>();
  for (const input of Object.values(result.metafile.inputs)) {
    for (const imported of input.imports) {
      if (!imported.external) continue;
      const spec = imported.path.replace(/^node:/, '');
      if (builtinModules.includes(spec) || builtinModules.includes(spec.split('/')[0]!)) continue;
      const parts = spec.split('/');
      names.add(spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!);
    }
  }
  return names;
}

const declared = (m: Manifest): Set<string> =>
  new Set([
    ...Object.keys(m.dependencies ?? {}),
    ...Object.keys(m.peerDependencies ?? {}),
    ...Object.keys(m.optionalDependencies ?? {}),
  ]);

describe('rxpeer (the client package)', () => {
  it('declares every package its code imports', () => {
    const missing = [...importedPackages(['src/index.ts', 'src/bridge/index.ts'])].filter(
      (n) => !declared(client).has(n),
    );
    expect(missing).toEqual([]);
  });

  it('depends on socket.io-client alone, with rxjs 7 as a peer and no WebRTC engine', () => {
    expect(Object.keys(client.dependencies ?? {})).toEqual(['socket.io-client']);
    expect(client.peerDependencies).toEqual({ rxjs: '>=7 <8' });
    expect(client.optionalDependencies).toBeUndefined();
  });

  it('never imports the server or its packages', () => {
    const imported = importedPackages(['src/index.ts', 'src/bridge/index.ts']);
    for (const name of [
      'socket.io',
      'engine.io',
      'pino',
      'redis',
      '@socket.io/redis-streams-adapter',
    ]) {
      expect(imported.has(name)).toBe(false);
    }
  });

  it('exports each entry point with types per format, the bundles, and no server', () => {
    expect(Object.keys(client.exports).sort()).toEqual([
      '.',
      './bridge',
      './browser/*',
      './package.json',
    ]);
    for (const key of ['.', './bridge']) {
      const entry = client.exports[key] as Record<string, Record<string, string>>;
      expect(Object.keys(entry)).toEqual(['import', 'require']);
      for (const format of ['import', 'require'])
        expect(Object.keys(entry[format]!)).toEqual(['types', 'default']);
    }
  });

  it('states its licence, repository, engines and the files it ships', () => {
    expect(client.license).toBe('MIT');
    expect(fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    expect(client.repository).toBeDefined();
    expect(client.engines).toEqual({ node: '>=20' });
    expect(client.files).toEqual(
      expect.arrayContaining(['dist', 'bridge/package.json', 'CHANGELOG.md']),
    );
  });
});

describe('rxpeer-signaling (the server package)', () => {
  it('declares every package its code imports, lazily loaded ones included', () => {
    const imported = importedPackages(['src/server/index.ts', 'src/server/cli.ts']);
    // src/server/redisCluster.ts loads these by name at run time (cluster mode only).
    for (const lazy of ['redis', '@socket.io/redis-streams-adapter']) imported.add(lazy);
    const missing = [...imported].filter((n) => !declared(server).has(n));
    expect(missing).toEqual([]);
  });

  it('asks for the same versions as the repository tests with', () => {
    const rootVersions = { ...client.dependencies, ...client.devDependencies };
    for (const [name, range] of Object.entries(server.dependencies ?? {})) {
      expect(`${name}@${rootVersions[name] ?? 'missing from the root package.json'}`).toBe(
        `${name}@${range}`,
      );
    }
  });

  it('has its bin, licence, engines and one version with rxpeer', () => {
    expect(server.bin).toEqual({ 'rxpeer-signaling': './bin/rxpeer-signaling.cjs' });
    expect(
      fs.existsSync(path.join(ROOT, 'packages', 'rxpeer-signaling', 'bin', 'rxpeer-signaling.cjs')),
    ).toBe(true);
    expect(
      fs.readFileSync(path.join(ROOT, 'packages', 'rxpeer-signaling', 'LICENSE'), 'utf8'),
    ).toBe(fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8'));
    expect(server.engines).toEqual(client.engines);
    expect(server.version).toBe(client.version);
  });
});
