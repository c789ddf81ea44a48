/**
 * The demo page (demo/, built by scripts/build-demo.cjs) driven through its
 * UI, as two people in two browser tabs would: one hosts, the other lists
 * the hosts and joins, they chat both ways, watch the peer table and the
 * timeline, and leave. Screenshots go to test-output/.
 *
 * Chromium runs with real host candidates (mDNS off), as in mesh.spec.ts.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { createSignalingServer, type SignalingServer } from '../../src/server';
import {
  NO_MDNS_FLAG,
  buildDemo,
  launchChromium,
  tempDir,
  until,
  watchPageErrors,
} from '../helpers/browser';

jest.setTimeout(90_000);

const OUTPUT = join(__dirname, '..', '..', 'test-output');
/** Connects and UI updates on a loaded two-core machine. */
const WAIT = 15_000;

describe('the demo page in Chromium', () => {
  const site = tempDir('demo');
  let browser: Browser;
  let server: SignalingServer;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    buildDemo(site.path);
    mkdirSync(OUTPUT, { recursive: true });
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

  async function openDemo(label: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1180, height: 820 } });
    context.setDefaultTimeout(WAIT);
    contexts.push(context);
    const page = await context.newPage();
    watchPageErrors(page, label, pageErrors);
    await page.goto(`${server.url}/`);
    return page;
  }

  const status = (page: Page): Locator => page.getByTestId('status');
  const chatLines = (page: Page): Promise<string[]> =>
    page.getByTestId('chat-message').allTextContents();
  const events = (page: Page): Promise<string[]> =>
    page
      .getByTestId('timeline-event')
      .evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset.event ?? ''));

  async function startedAs(page: Page, role: 'host' | 'client'): Promise<string> {
    await page.locator(`[data-testid="status"][data-state="started"]`).waitFor();
    expect(await page.locator('body').getAttribute('data-session')).toBe(role);
    return (await page.getByTestId('self-id').textContent()) ?? '';
  }

  async function hostRoom(page: Page, name: string): Promise<string> {
    await page.getByTestId('host-name').fill(name);
    await page.getByTestId('create-host').click();
    return startedAs(page, 'host');
  }

  async function joinRoom(page: Page, name: string): Promise<string> {
    // The list is fetched on load; refresh until the room shows up.
    const join = page.locator(`[data-testid="join-host"][data-host-name="${name}"]`);
    await until(
      async () => {
        await page.getByTestId('refresh-hosts').click();
        return (await join.count()) === 1;
      },
      WAIT,
      async () =>
        `room ${name} in the host list: ${await page.getByTestId('host-list').innerText()}`,
    );
    await join.click();
    return startedAs(page, 'client');
  }

  async function say(page: Page, text: string): Promise<void> {
    await page.getByTestId('chat-input').fill(text);
    await page.getByTestId('chat-send').click();
  }

  async function sees(page: Page, text: string, from: string): Promise<void> {
    await page
      .locator(`[data-testid="chat-message"][data-from="${from}"]`, { hasText: text })
      .waitFor();
  }

  it('one tab hosts, the other lists and joins, and they chat both ways', async () => {
    const [alice, bob] = await Promise.all([openDemo('host tab'), openDemo('client tab')]);
    // The signaling URL defaults to the page's origin.
    expect(await alice.getByTestId('signaling-url').inputValue()).toBe(server.url);
    expect(await status(alice).textContent()).toBe('not connected');

    const t0 = Date.now();
    const aliceId = await hostRoom(alice, 'demo room');
    const bobId = await joinRoom(bob, 'demo room');

    // Both see each other connected, with a chat channel open, before typing.
    for (const [tab, other] of [
      [alice, bobId],
      [bob, aliceId],
    ] as const) {
      await tab
        .locator(
          `[data-testid="peer-row"][data-peer-id="${other}"][data-connection-state="connected"]`,
        )
        .waitFor();
      await tab.locator('[data-testid="chat-input"]:enabled').waitFor();
    }
    const connectMs = Date.now() - t0;

    await say(alice, 'hi Bob, welcome');
    await sees(bob, 'hi Bob, welcome', aliceId);
    await say(bob, 'hello Alice!');
    await sees(alice, 'hello Alice!', bobId);
    expect(await chatLines(alice)).toEqual([
      'mehi Bob, welcome',
      `${bobId.slice(0, 6)}hello Alice!`,
    ]);
    expect(await chatLines(bob)).toEqual([
      `${aliceId.slice(0, 6)}hi Bob, welcome`,
      'mehello Alice!',
    ]);

    // peers$ in the table: trickle ICE between rxpeer peers, and an RTT once the heartbeat measured one.
    for (const [tab, other] of [
      [alice, bobId],
      [bob, aliceId],
    ] as const) {
      const row = tab.locator(`[data-testid="peer-row"][data-peer-id="${other}"]`);
      expect(await row.getAttribute('data-mode')).toBe('trickle');
      await row
        .getByTestId('peer-rtt')
        .filter({ hasText: /\d ms$/ })
        .waitFor();
    }
    expect(await events(alice)).toEqual(['startHost', 'started', 'userConnecting']);
    expect(await events(bob)).toEqual(['startClient', 'userConnecting', 'started']);

    await alice.screenshot({ path: join(OUTPUT, 'demo-host.png') });
    await bob.screenshot({ path: join(OUTPUT, 'demo-client.png') });

    // Bob leaves: his tab goes idle, Alice's drops him.
    await bob.getByTestId('leave').click();
    await bob.locator('[data-testid="status"][data-state="idle"]').waitFor();
    await alice
      .locator(`[data-testid="peer-row"][data-peer-id="${bobId}"]`)
      .waitFor({ state: 'detached' });
    await alice.locator('[data-testid="timeline-event"][data-event="userDisconnecting"]').waitFor();
    expect(await alice.locator('[data-testid="chat-input"]').isDisabled()).toBe(true);
    expect((await events(bob)).slice(-2)).toEqual(['userDisconnecting', 'stopped']);
    process.stdout.write(`demo: host, list, join and both chat channels open in ${connectMs} ms\n`);
  });

  it('a taken room name shows the rejection on the timeline and leaves the tab idle', async () => {
    const [alice, bob] = await Promise.all([openDemo('host tab'), openDemo('second host tab')]);
    await hostRoom(alice, 'taken');
    await bob.getByTestId('host-name').fill('taken');
    await bob.getByTestId('create-host').click();
    await bob
      .locator('[data-testid="timeline-event"][data-code="HOST_NAME_ALREADY_EXISTS"]')
      .waitFor();
    await bob.locator('[data-testid="status"][data-state="idle"]').waitFor();
    expect(await events(bob)).toEqual(['startHost', 'error', 'stopped']);
    expect(await bob.getByTestId('create-host').isEnabled()).toBe(true);
  });
});
