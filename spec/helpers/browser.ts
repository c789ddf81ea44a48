/**
 * Real Chromium for the browser specs: Debian's /usr/bin/chromium driven by
 * playwright-core, with the flags this machine needs (ENV-NOTES.md), and the
 * pages those specs load, built with esbuild inside the spec so a fresh clone
 * needs no prior build.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Headless, no sandbox (root in a container), and quiet: without the last four Chromium keeps dialling Google. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Chromium hides its host candidates behind mDNS names (`<uuid>.local`) by
 * default; this flag makes it put its real addresses in its candidates.
 */
export const NO_MDNS_FLAG = '--disable-features=WebRtcHideLocalIpsWithMdns';

const ROOT = join(__dirname, '..', '..');

/** Launches Debian's Chromium; fails, never skips, when it is not installed. */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `The browser specs need Chromium at ${CHROMIUM_PATH}, and it is missing. ` +
        '`npm test` installs it in its pretest step when run as root; otherwise run as root: ' +
        'apt-get update && apt-get install -y --no-install-recommends chromium',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/** A fresh temporary directory under the OS temp dir; `remove()` deletes it. */
export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `rxpeer-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * Writes the browser test page into `dir`: `index.html` loading `harness.js`,
 * an IIFE bundle of spec/browser/page/harness.ts (PeerClient plus a chat
 * channel, exposed as `window.harness`).
 */
export function buildTestPage(dir: string): void {
  mkdirSync(dir, { recursive: true });
  buildSync({
    entryPoints: [join(ROOT, 'spec', 'browser', 'page', 'harness.ts')],
    outfile: join(dir, 'harness.js'),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2020'],
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html><html><head><meta charset="utf-8"><title>rxpeer browser spec</title>' +
      '<link rel="icon" href="data:,">' +
      '<script src="harness.js"></script></head><body></body></html>\n',
  );
}

/** Builds the demo (scripts/build-demo.cjs) into `outDir`. */
export function buildDemo(outDir: string): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { buildDemo: build } = require(join(ROOT, 'scripts', 'build-demo.cjs')) as {
    buildDemo(options: { outDir: string; quiet?: boolean }): void;
  };
  build({ outDir, quiet: true });
}

/** Polls `condition` until it holds; fails after `ms` with what it last saw. */
export async function until(
  condition: () => Promise<boolean> | boolean,
  ms: number,
  what: () => string | Promise<string>,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${await what()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Forwards a page's console errors and uncaught exceptions to `sink` (specs assert it stays empty). */
export function watchPageErrors(page: Page, label: string, sink: string[]): void {
  page.on('pageerror', (error) => sink.push(`${label}: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') sink.push(`${label}: console.error ${message.text()}`);
  });
}

/**
 * The candidate type (`host`, `prflx`, `srflx`, `relay`) of the remote end of
 * the pair `pc` selected, from its stats; undefined until one is selected.
 */
export async function selectedRemoteCandidateType(
  pc: RTCPeerConnection,
): Promise<string | undefined> {
  const reports = new Map<string, Record<string, unknown>>();
  (await pc.getStats()).forEach((report: Record<string, unknown>) =>
    reports.set(String(report.id), report),
  );
  const all = [...reports.values()];
  const transport = all.find(
    (r) => r.type === 'transport' && typeof r.selectedCandidatePairId === 'string',
  );
  const pair =
    (transport === undefined
      ? undefined
      : reports.get(String(transport.selectedCandidatePairId))) ??
    all.find((r) => r.type === 'candidate-pair' && r.nominated === true && r.state === 'succeeded');
  const remote = pair === undefined ? undefined : reports.get(String(pair.remoteCandidateId));
  return remote === undefined ? undefined : String(remote.candidateType);
}
