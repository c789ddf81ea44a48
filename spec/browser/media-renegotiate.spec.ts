/**
 * Issue 17, renegotiation without the server, with media: a page in real
 * Chromium adds a fake camera track (`--use-fake-device-for-media-stream`)
 * to a connected rxpeer pair mid-session, the remote side receives it, then
 * the page removes it; with the page as the offering side (host) and as the
 * answering side (member, which asks the host to offer room for it), and
 * between two pages. Every negotiation after connect goes over the
 * rxpeer-control channel, with the signaling server closed by then.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { filter, fromEvent, map } from 'rxjs';
import { PeerClient } from '../../src/client/PeerClient';
import { createSignalingServer, type SignalingServer } from '../../src/server';
import { collect, next } from '../helpers/clientHarness';
import { createPeerConnection, openPeerConnections, resetTracking } from '../helpers/engine';
import { NO_MDNS_FLAG, launchChromium, tempDir, watchPageErrors } from '../helpers/browser';

jest.setTimeout(90_000);

/** The page's script: a PeerClient plus a camera it can add to and remove from a pair. */
const PAGE_SCRIPT = `
import { PeerClient } from '../../src/index';
const client = new PeerClient({ url: location.origin });
const pcs = new Map();
const remote = [];
const phases = [];
const errors = [];
let camera;
client.pcCreate$.subscribe(({ id, pc }) => {
  pcs.set(id, pc);
  pc.addEventListener('track', (e) => remote.push({ from: id, kind: e.track.kind }));
});
client.peerPhase$.subscribe((c) => phases.push(c.phase));
client.errors$.subscribe((e) => errors.push(e.code + ': ' + e.message));
const waitFor = (source, ms) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('nothing within ' + ms + ' ms')), ms);
  const sub = source.subscribe((v) => { clearTimeout(timer); resolve(v); setTimeout(() => sub.unsubscribe()); });
});
const stable = (pc) => new Promise((resolve) => {
  const on = () => { if (pc.signalingState === 'stable') { pc.removeEventListener('signalingstatechange', on); resolve(); } };
  pc.addEventListener('signalingstatechange', on);
});
window.media = {
  async startHost(name) { const s = waitFor(client.started$, 10000); await client.startHost(name); return s; },
  async join(hostId) { const s = waitFor(client.started$, 15000); await client.startClient(hostId); return s; },
  connected: (id) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('not connected with a heartbeat within 15 s')), 15000);
    const sub = client.peers$.subscribe((m) => {
      const p = m.get(id);
      if (p && p.phase === 'connected' && p.rtt !== undefined) { clearTimeout(timer); resolve(); setTimeout(() => sub.unsubscribe()); }
    });
  }),
  async addCamera(id) {
    const stream = await navigator.mediaDevices.getUserMedia({ video: true });
    const track = stream.getVideoTracks()[0];
    const pc = pcs.get(id);
    const renegotiated = stable(pc);
    camera = { pc, track, sender: pc.addTrack(track, stream) };
    await renegotiated;
    return track.label;
  },
  async removeCamera() {
    const { pc, track, sender } = camera;
    const renegotiated = stable(pc);
    pc.removeTrack(sender);
    track.stop();
    await renegotiated;
  },
  remote: () => remote.slice(),
  async receiving(id) {
    const pc = pcs.get(id);
    return pc.getTransceivers().filter((t) => t.currentDirection === 'recvonly' || t.currentDirection === 'sendrecv').map((t) => t.receiver.track.kind);
  },
  phases: () => phases.slice(),
  errors: () => errors.slice(),
  stop: () => client.stop(),
};
`;

describe('a fake camera track added and removed mid-session (Chromium)', () => {
  const dir = tempDir('media-page');
  let browser: Browser;
  let server: SignalingServer;
  const contexts: BrowserContext[] = [];
  let node: PeerClient | undefined;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    buildSync({
      stdin: {
        contents: PAGE_SCRIPT,
        resolveDir: __dirname,
        loader: 'ts',
        sourcefile: 'media-page.ts',
      },
      outfile: join(dir.path, 'media.js'),
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: ['es2020'],
      logLevel: 'warning',
    });
    writeFileSync(
      join(dir.path, 'index.html'),
      '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><script src="media.js"></script></head><body></body></html>\n',
    );
    browser = await launchChromium([
      NO_MDNS_FLAG,
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
    ]);
    server = await createSignalingServer({ port: 0, host: '127.0.0.1', staticDir: dir.path });
  });

  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close();
    await node?.dispose();
    node = undefined;
    expect(openPeerConnections()).toEqual([]);
    expect(pageErrors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    dir.remove();
  });

  async function openPage(label: string): Promise<Page> {
    const context = await browser.newContext();
    contexts.push(context);
    await context.grantPermissions(['camera'], { origin: server.url });
    const page = await context.newPage();
    watchPageErrors(page, label, pageErrors);
    await page.goto(`${server.url}/`);
    await page.waitForFunction(
      () => typeof (window as unknown as { media?: unknown }).media === 'object',
    );
    return page;
  }

  type Media = {
    startHost(name: string): Promise<string>;
    join(hostId: string): Promise<string>;
    connected(id: string): Promise<void>;
    addCamera(id: string): Promise<string>;
    removeCamera(): Promise<void>;
    remote(): { from: string; kind: string }[];
    receiving(id: string): Promise<string[]>;
    phases(): string[];
    errors(): string[];
  };
  type W = { media: Media };

  function nodePeer(): { client: PeerClient; pcs: Map<string, RTCPeerConnection> } {
    resetTracking();
    const client = new PeerClient({ url: server.url }, { createPeerConnection });
    node = client;
    const pcs = new Map<string, RTCPeerConnection>();
    client.pcCreate$.subscribe(({ id, pc }) => pcs.set(id, pc));
    return { client, pcs };
  }

  const nodeTrack = (pc: RTCPeerConnection): Promise<string> =>
    next(
      fromEvent(pc, 'track').pipe(map((e) => (e as RTCTrackEvent).track.kind)),
      undefined,
      15_000,
    );

  const receivingVideo = (pc: RTCPeerConnection): boolean =>
    pc
      .getTransceivers()
      .some(
        (t) =>
          t.receiver.track.kind === 'video' &&
          (t.currentDirection === 'recvonly' || t.currentDirection === 'sendrecv'),
      );

  const renegotiatedOn = (pc: RTCPeerConnection): Promise<unknown> =>
    next(
      fromEvent(pc, 'signalingstatechange').pipe(filter(() => pc.signalingState === 'stable')),
      undefined,
      15_000,
    );

  it('a page host adds a camera track for a Node member, which receives it; removing it stops it; the server is closed meanwhile', async () => {
    const page = await openPage('page host');
    const hostId = await page.evaluate(() =>
      (window as unknown as W).media.startHost('camera-host'),
    );
    const { client, pcs } = nodePeer();
    const started = next(client.started$, undefined, 15_000);
    await client.startClient(hostId);
    const nodeId = await started;
    await page.evaluate((id) => (window as unknown as W).media.connected(id), nodeId);
    await next(client.peers$, (m) => m.get(hostId)?.rtt !== undefined, 15_000);
    await server.close();
    const leaving = collect(client.userDisconnecting$);

    const pc = pcs.get(hostId)!;
    const arrived = nodeTrack(pc);
    const answered = renegotiatedOn(pc);
    expect(
      await page.evaluate((id) => (window as unknown as W).media.addCamera(id), nodeId),
    ).toMatch(/fake|video|camera/i);
    expect(await arrived).toBe('video');
    await answered;
    expect(receivingVideo(pc)).toBe(true);

    const removed = renegotiatedOn(pc);
    await page.evaluate(() => (window as unknown as W).media.removeCamera());
    await removed;
    expect(receivingVideo(pc)).toBe(false);
    expect(pcs.size).toBe(1);
    expect(leaving.values).toEqual([]);
    expect(await page.evaluate(() => (window as unknown as W).media.errors())).toEqual([]);
    server = await createSignalingServer({ port: 0, host: '127.0.0.1', staticDir: dir.path });
  });

  it('a page member adds a camera track: it asks the Node host, which offers room for it and receives it; then it is removed', async () => {
    const { client, pcs } = nodePeer();
    const hostStarted = next(client.started$, undefined, 10_000);
    await client.startHost('camera-node-host');
    const hostId = await hostStarted;
    const page = await openPage('page member');
    const pageId = await page.evaluate((id) => (window as unknown as W).media.join(id), hostId);
    await page.evaluate((id) => (window as unknown as W).media.connected(id), hostId);
    await next(client.peers$, (m) => m.get(pageId)?.rtt !== undefined, 15_000);
    const leaving = collect(client.userDisconnecting$);
    const errors = collect(client.errors$);

    const pc = pcs.get(pageId)!;
    const arrived = nodeTrack(pc);
    await page.evaluate((id) => (window as unknown as W).media.addCamera(id), hostId);
    expect(await arrived).toBe('video');
    if (!receivingVideo(pc)) {
      await next(
        fromEvent(pc, 'signalingstatechange').pipe(
          filter(() => pc.signalingState === 'stable' && receivingVideo(pc)),
        ),
        undefined,
        15_000,
      );
    }
    expect(receivingVideo(pc)).toBe(true);

    await page.evaluate(() => (window as unknown as W).media.removeCamera());
    // The page asks again; the host's next offer finds the page no longer sending (it may
    // have been answered already by the time evaluate() returns).
    if (pc.signalingState !== 'stable' || receivingVideo(pc)) {
      await next(
        fromEvent(pc, 'signalingstatechange').pipe(
          filter(() => pc.signalingState === 'stable' && !receivingVideo(pc)),
        ),
        undefined,
        15_000,
      );
    }
    expect(receivingVideo(pc)).toBe(false);
    expect(leaving.values).toEqual([]);
    expect(errors.values).toEqual([]);
    expect(await page.evaluate(() => (window as unknown as W).media.errors())).toEqual([]);
  });

  it('between two pages: the member page receives the host page’s camera', async () => {
    const host = await openPage('host page');
    const member = await openPage('member page');
    const hostId = await host.evaluate(() =>
      (window as unknown as W).media.startHost('camera-pages'),
    );
    const memberId = await member.evaluate((id) => (window as unknown as W).media.join(id), hostId);
    await host.evaluate((id) => (window as unknown as W).media.connected(id), memberId);
    await member.evaluate((id) => (window as unknown as W).media.connected(id), hostId);
    await host.evaluate((id) => (window as unknown as W).media.addCamera(id), memberId);
    await member.waitForFunction(
      () => (window as unknown as W).media.remote().some((t) => t.kind === 'video'),
      undefined,
      { timeout: 15_000 },
    );
    expect(
      await member.evaluate((id) => (window as unknown as W).media.receiving(id), hostId),
    ).toContain('video');
    await host.evaluate(() => (window as unknown as W).media.removeCamera());
    await member.waitForFunction(
      async (id) => !(await (window as unknown as W).media.receiving(id)).includes('video'),
      hostId,
      { timeout: 15_000 },
    );
    expect(await host.evaluate(() => (window as unknown as W).media.errors())).toEqual([]);
    expect(await member.evaluate(() => (window as unknown as W).media.errors())).toEqual([]);
  });
});
