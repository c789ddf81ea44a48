/**
 * Three Chromium pages, each in its own browser context (its own WebRTC
 * stack, as separate users), form a mesh through the real signaling server
 * and exchange chat messages over the data channel between every pair.
 *
 * This file runs Chromium with real host candidates (mDNS off): on default
 * flags Chromium announces each `<uuid>.local` name by multicast on the LAN
 * interface, and these specs keep to this machine; the default flags are
 * covered by nodeInterop.spec.ts.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createSignalingServer, type SignalingServer } from '../../src/server';
import {
  NO_MDNS_FLAG,
  buildTestPage,
  launchChromium,
  tempDir,
  until,
  watchPageErrors,
} from '../helpers/browser';

jest.setTimeout(90_000);

describe('a mesh of Chromium pages', () => {
  const site = tempDir('mesh-page');
  let browser: Browser;
  let server: SignalingServer;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    buildTestPage(site.path);
    // Chromium first: when it is missing, nothing else is left running.
    browser = await launchChromium([NO_MDNS_FLAG]);
    server = await createSignalingServer({ port: 0, host: '127.0.0.1', staticDir: site.path });
  });

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
    expect(pageErrors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    site.remove();
  });

  async function openPeer(label: string): Promise<Page> {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    watchPageErrors(page, label, pageErrors);
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => typeof window.harness === 'object');
    return page;
  }

  it('a host and two clients connect to each other and exchange data-channel messages between every pair', async () => {
    const [host, a, b] = await Promise.all([
      openPeer('host'),
      openPeer('client a'),
      openPeer('client b'),
    ]);
    const t0 = Date.now();
    const hostId = await host.evaluate(() => window.harness.startHost('browser-mesh'));
    const aId = await a.evaluate((id) => window.harness.join(id), hostId);
    const bId = await b.evaluate((id) => window.harness.join(id), hostId);
    const members = [
      { page: host, id: hostId },
      { page: a, id: aId },
      { page: b, id: bId },
    ];
    const othersOf = (id: string): string[] =>
      members.map((m) => m.id).filter((other) => other !== id);

    for (const m of members)
      await m.page.evaluate((ids) => window.harness.openTo(ids), othersOf(m.id));
    const meshMs = Date.now() - t0;

    for (const m of members) {
      const sentTo = await m.page.evaluate(
        (id) => window.harness.broadcast(`hello from ${id}`),
        m.id,
      );
      expect(sentTo.sort()).toEqual(othersOf(m.id).sort());
    }
    for (const m of members) {
      for (const other of othersOf(m.id))
        await m.page.evaluate(
          (text) => window.harness.receivedAtLeast(1, text),
          `hello from ${other}`,
        );
      const received = await m.page.evaluate(() => window.harness.received());
      expect(received.map((r) => r.text).sort()).toEqual(
        othersOf(m.id)
          .map((id) => `hello from ${id}`)
          .sort(),
      );
      expect(received.every((r) => r.text === `hello from ${r.from}`)).toBe(true);
    }

    // Every pair is connected, trickled (all rxpeer peers), and measures its RTT on the control channel.
    for (const m of members) {
      await until(
        () =>
          m.page.evaluate(
            () =>
              window.harness
                .peers()
                .filter((p) => p.connectionState === 'connected' && p.rtt !== undefined).length ===
              2,
          ),
        15_000,
        async () =>
          `two connected peers with an RTT on ${m.id}: ${JSON.stringify(await m.page.evaluate(() => window.harness.peers()))}`,
      );
      const peers = await m.page.evaluate(() => window.harness.peers());
      expect(peers.map((p) => p.id).sort()).toEqual(othersOf(m.id).sort());
      expect(peers.map((p) => p.mode)).toEqual(['trickle', 'trickle']);
      expect(await m.page.evaluate(() => window.harness.errors())).toEqual([]);
    }
    process.stdout.write(`browser mesh of 3: every chat channel open in ${meshMs} ms\n`);
  });

  it('a client that leaves is dropped by the others, and the rest keep talking', async () => {
    const [host, a, b] = await Promise.all([
      openPeer('host'),
      openPeer('client a'),
      openPeer('client b'),
    ]);
    const hostId = await host.evaluate(() => window.harness.startHost('browser-leave'));
    const aId = await a.evaluate((id) => window.harness.join(id), hostId);
    const bId = await b.evaluate((id) => window.harness.join(id), hostId);
    await b.evaluate((ids) => window.harness.openTo(ids), [hostId, aId]);

    await a.evaluate(() => window.harness.stop());
    for (const page of [host, b]) {
      await until(
        () => page.evaluate((gone) => !window.harness.peers().some((p) => p.id === gone), aId),
        15_000,
        () => `${aId} to leave the peers of the others`,
      );
    }
    expect(await b.evaluate(() => window.harness.broadcast('still here'))).toEqual([hostId]);
    await host.evaluate(() => window.harness.receivedAtLeast(1, 'still here'));
    expect(
      (await host.evaluate(() => window.harness.received())).find((m) => m.text === 'still here')
        ?.from,
    ).toBe(bId);
  });
});
