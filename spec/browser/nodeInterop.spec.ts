/**
 * A browser peer (Chromium) and a Node peer (@roamhq/wrtc) meet through one
 * signaling server on loopback, in both roles.
 *
 * On default flags (users' Chrome) the browser hides its host candidates
 * behind `<uuid>.local` names that the Node engine cannot resolve; it still
 * works, because the browser has the Node side's real addresses and sends
 * checks to them, and the Node side learns the browser's address from those
 * checks as a peer-reflexive (`prflx`) candidate (verified by hand on this
 * machine, in both roles; see the README). But Chromium then announces each
 * name by mDNS multicast on the LAN interface, and these specs must keep
 * every packet on this machine, so they run with the mDNS hiding turned off:
 * the browser offers its real addresses and the pair is host ↔ host.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createSignalingServer, type SignalingServer } from '../../src/server';
import { PeerClient } from '../../src/client/PeerClient';
import { attachChat, type Chat } from '../helpers/chat';
import { next } from '../helpers/clientHarness';
import { createPeerConnection, openPeerConnections, resetTracking } from '../helpers/engine';
import {
  buildTestPage,
  NO_MDNS_FLAG,
  launchChromium,
  selectedRemoteCandidateType,
  tempDir,
  until,
  watchPageErrors,
} from '../helpers/browser';

jest.setTimeout(90_000);

describe('a Chromium peer and a Node peer', () => {
  const page$ = tempDir('interop-page');
  let browser: Browser;
  let server: SignalingServer;
  let context: BrowserContext | undefined;
  let node: PeerClient | undefined;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    buildTestPage(page$.path);
    // Chromium first: when it is missing, nothing else is left running.
    browser = await launchChromium([NO_MDNS_FLAG]);
    server = await createSignalingServer({ port: 0, host: '127.0.0.1', staticDir: page$.path });
  });

  afterEach(async () => {
    await context?.close();
    context = undefined;
    await node?.dispose();
    node = undefined;
    expect(openPeerConnections()).toEqual([]);
    expect(pageErrors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    page$.remove();
  });

  async function openPage(): Promise<Page> {
    resetTracking();
    context = await browser.newContext();
    const page = await context.newPage();
    watchPageErrors(page, 'browser peer', pageErrors);
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => typeof window.harness === 'object');
    return page;
  }

  function nodePeer(): { client: PeerClient; chat: Chat; pcs: Map<string, RTCPeerConnection> } {
    const client = new PeerClient({ url: server.url }, { createPeerConnection });
    node = client;
    const pcs = new Map<string, RTCPeerConnection>();
    client.pcCreate$.subscribe(({ id, pc }) => pcs.set(id, pc));
    return { client, chat: attachChat(client), pcs };
  }

  /** The selected pair's remote candidate type, once the engine has selected one. */
  async function selectedType(pc: RTCPeerConnection): Promise<string | undefined> {
    let type: string | undefined;
    await until(
      async () => (type = await selectedRemoteCandidateType(pc)) !== undefined,
      10_000,
      () => 'a selected candidate pair',
    );
    return type;
  }

  it('a browser host and a Node client connect and exchange chat messages both ways', async () => {
    const page = await openPage();
    const t0 = Date.now();
    const hostId = await page.evaluate(() => window.harness.startHost('browser-hosts'));

    const { client, chat, pcs } = nodePeer();
    const started = next(client.started$, undefined, 15_000);
    await client.startClient(hostId);
    const clientId = await started;
    await chat.openTo([hostId], 15_000);
    await page.evaluate((id) => window.harness.openTo([id]), clientId);
    const connectMs = Date.now() - t0;

    expect(chat.broadcast('hello browser')).toEqual([hostId]);
    await page.evaluate(() => window.harness.receivedAtLeast(1, 'hello browser'));
    expect(
      await page.evaluate((id) => window.harness.broadcast(`hello node from ${id}`), hostId),
    ).toEqual([clientId]);
    await chat.receivedAtLeast(
      1,
      (m) => m.text === `hello node from ${hostId}` && m.from === hostId,
      15_000,
    );

    // No mDNS names: the browser offered real addresses, and the pair is direct (no STUN,
    // no relay). The Node side may learn the browser's address from its first check
    // before the trickled candidate arrives, which makes it peer-reflexive.
    const browserCandidates = await page.evaluate(() => window.harness.localCandidates());
    expect(browserCandidates.some((c) => /\S+\.local /.test(c))).toBe(false);
    expect(['host', 'prflx']).toContain(await selectedType(pcs.get(hostId)!));
    // Both are rxpeer peers, so they trickled.
    const peers = await next(
      client.peers$,
      (p) => p.get(hostId)?.connectionState === 'connected',
      15_000,
    );
    expect(peers.get(hostId)!.mode).toBe('trickle');
    process.stdout.write(
      `browser host / Node client: connected and chat open in ${connectMs} ms\n`,
    );
  });

  it('a Node host and a browser client connect and exchange chat messages both ways', async () => {
    const page = await openPage();
    const t0 = Date.now();
    const { client, chat, pcs } = nodePeer();
    const hostStarted = next(client.started$, undefined, 10_000);
    await client.startHost('node-hosts');
    const hostId = await hostStarted;

    const clientId = await page.evaluate((id) => window.harness.join(id), hostId);
    await page.evaluate((id) => window.harness.openTo([id]), hostId);
    await chat.openTo([clientId], 15_000);
    const connectMs = Date.now() - t0;

    expect(await page.evaluate(() => window.harness.broadcast('hello node'))).toEqual([hostId]);
    await chat.receivedAtLeast(1, (m) => m.text === 'hello node' && m.from === clientId, 15_000);
    expect(chat.broadcast('hello browser')).toEqual([clientId]);
    await page.evaluate(() => window.harness.receivedAtLeast(1, 'hello browser'));

    const browserCandidates = await page.evaluate(() => window.harness.localCandidates());
    expect(browserCandidates.some((c) => /\S+\.local /.test(c))).toBe(false);
    expect(['host', 'prflx']).toContain(await selectedType(pcs.get(clientId)!));
    process.stdout.write(
      `Node host / browser client: connected and chat open in ${connectMs} ms\n`,
    );
  });
});
