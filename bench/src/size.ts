/**
 * §8: client size. scripts/bundle-browser.cjs builds the browser bundles
 * (minified) and reports their sizes: the full ESM bundle of `rxpeer`
 * (rxpeer + rxjs + socket.io-client) and the `.lean` one (rxpeer alone).
 * Two more builds here, each with one of the two dependencies left out,
 * tell how much of the full bundle is rxjs and how much socket.io-client.
 */
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

interface Bundle {
  file: string;
  min: number;
  gzip: number;
}

export interface SizeResult {
  full: Bundle;
  lean: Bundle;
  withRxjs: Bundle;
  withSocketIo: Bundle;
  bridgeIife: Bundle;
}

export function clientSize(root: string): SizeResult {
  const load = createRequire(join(root, 'package.json'));
  const { results } = load('./scripts/bundle-browser.cjs') as { results: Bundle[] };
  const pick = (suffix: string): Bundle => {
    const found = results.find((r) => r.file.endsWith(suffix));
    if (found === undefined) throw new Error(`bundle-browser.cjs reported no ${suffix}`);
    return found;
  };
  const esbuild = load('esbuild') as typeof import('esbuild');
  const dir = mkdtempSync(join(tmpdir(), 'rxpeer-bench-size-'));
  try {
    const variant = (external: string[], name: string): Bundle => {
      const file = join(dir, `${name}.js`);
      // The same settings as bundle-browser.cjs's ESM bundles.
      esbuild.buildSync({
        entryPoints: [join(root, 'src/index.ts')],
        outfile: file,
        bundle: true,
        minify: true,
        format: 'esm',
        platform: 'browser',
        target: ['es2020'],
        external,
        logLevel: 'warning',
      });
      const bytes = readFileSync(file);
      return { file: name, min: bytes.length, gzip: gzipSync(bytes).length };
    };
    return {
      full: pick('/rxpeer.esm.js'),
      lean: pick('/rxpeer.esm.lean.js'),
      withRxjs: variant(['socket.io-client'], 'rxpeer+rxjs'),
      withSocketIo: variant(['rxjs'], 'rxpeer+socket.io-client'),
      bridgeIife: pick('/rxpeer-bridge.iife.js'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
