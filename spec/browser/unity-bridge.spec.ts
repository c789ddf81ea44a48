/**
 * The Unity WebGL recipe (docs/unity.md) in real Chromium, against the real
 * signaling server, with the emulated Unity player of
 * spec/helpers/fakeEmscripten.ts standing in for Unity's `Build/*.loader.js`:
 * its jslib binds `__getNop` / `__getMethod` at start-up and its C# side makes
 * the calls the C# `WebGLPeerClient` makes.
 *
 * Every page gets the files a real one would:
 * - `rxpeer-bridge.iife.js`: the shipped IIFE, as `scripts/bundle-browser.cjs`
 *   builds it into dist/browser;
 * - `app.js`: `examples/unity-webgl/app.ts` as shipped, bundled separately with
 *   esbuild (so it carries its own copy of the bridge code);
 * - `extreal-app.js`: the Extreal sample's app-script shape, `new
 *   PeerAdapter().adapt()` and nothing else, with only its import path changed;
 * - `Build/Build.loader.js`: the emulated player.
 *
 * Layouts: the example's `index.html` unchanged (IIFE, `installUnityBinding()`,
 * app bundle, loader), the same scripts in the other order, the Extreal
 * layout (app bundle, loader; no IIFE, no explicit install), and the IIFE
 * alone with an inline `new rxpeerBridge.PeerAdapter().adapt()` (no bundler).
 *
 * Chromium runs with real host candidates (mDNS off), as in mesh.spec.ts, on
 * loopback (see LOOPBACK_FLAG).
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createSignalingServer, type SignalingServer } from '../../src/server';
import { NO_MDNS_FLAG, launchChromium, tempDir, until, watchPageErrors } from '../helpers/browser';
import { CSHARP_NAMES, webGLPeerConfig, type FakeUnityPage } from '../helpers/fakeEmscripten';

jest.setTimeout(90_000);

declare global {
  interface Window {
    fakeUnity?: FakeUnityPage;
  }
}

const ROOT = join(__dirname, '..', '..');

/**
 * The specs run in a network namespace with only loopback (scripts/netns.cjs),
 * and Chromium gathers no candidate on loopback by default: this flag lets
 * it, once the page may enumerate every interface, which a granted
 * microphone permission allows (the context below). Without both, no
 * candidate at all and no connection.
 */
const LOOPBACK_FLAG = '--allow-loopback-in-peer-connection';
/** Connects on a loaded two-core machine. */
const WAIT = 15_000;

/** The example app's own names (examples/unity-webgl/dataChannelClient.ts), as its C# side spells them. */
const APP = {
  construct: 'DataChannelClient#DataChannelClient',
  send: 'DataChannelClient#Send',
  onMessage: 'DataChannelClient#HandleOnMessage',
} as const;

const CALLBACK = {
  started: 'WebGLPeerClient#HandleOnStarted',
  userConnecting: 'WebGLPeerClient#HandleOnUserConnecting',
  userDisconnecting: 'WebGLPeerClient#HandleOnUserDisconnecting',
  startHostResponse: 'WebGLPeerClient#ReceiveStartHostResponse',
  listHostsResponse: 'WebGLPeerClient#ReceiveListHostsResponse',
} as const;

/** Bundles a page script: IIFE for a plain <script> tag, resolving `rxpeer/bridge` as the repository's tsconfig does. */
function bundle(
  outfile: string,
  entry: { file: string } | { contents: string; name: string },
): void {
  buildSync({
    ...('file' in entry
      ? { entryPoints: [entry.file] }
      : {
          stdin: {
            contents: entry.contents,
            resolveDir: ROOT,
            loader: 'ts',
            sourcefile: entry.name,
          },
        }),
    outfile,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2020'],
    tsconfig: join(ROOT, 'tsconfig.json'),
    logLevel: 'warning',
  });
}

const UNITY_START =
  '<script src="Build/Build.loader.js"></script>\n' +
  "<script>createUnityInstance(document.querySelector('#unity-canvas'), {});</script>\n";

function page(title: string, scripts: string): string {
  return (
    `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title><link rel="icon" href="data:,"></head>\n` +
    `<body><canvas id="unity-canvas"></canvas>\n${scripts}${UNITY_START}</body></html>\n`
  );
}

/** Writes the site: the shipped IIFE, the two app bundles, the emulated loader and the three layouts. */
function buildSite(dir: string): void {
  // The shipped bundle, built by the shipped script (it writes dist/browser, as `npm run build` does).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { results } = require(join(ROOT, 'scripts', 'bundle-browser.cjs')) as {
    results: { file: string }[];
  };
  const iife = results.find((r) =>
    r.file.endsWith(join('dist', 'browser', 'rxpeer-bridge.iife.js')),
  );
  if (iife === undefined)
    throw new Error('scripts/bundle-browser.cjs built no rxpeer-bridge.iife.js');
  copyFileSync(iife.file, join(dir, 'rxpeer-bridge.iife.js'));

  bundle(join(dir, 'app.js'), { file: join(ROOT, 'examples', 'unity-webgl', 'app.ts') });
  bundle(join(dir, 'extreal-app.js'), {
    name: 'extreal-app.ts',
    contents: "import { PeerAdapter } from 'rxpeer/bridge';\n\nnew PeerAdapter().adapt();\n",
  });
  mkdirSync(join(dir, 'Build'));
  bundle(join(dir, 'Build', 'Build.loader.js'), {
    name: 'fake-unity-loader.ts',
    contents:
      "import { installFakeUnityLoader } from './spec/helpers/fakeEmscripten';\n" +
      'installFakeUnityLoader(window as unknown as Record<string, unknown>);\n',
  });

  copyFileSync(join(ROOT, 'examples', 'unity-webgl', 'index.html'), join(dir, 'index.html'));
  // The example page names no icon; Chromium then asks for this one.
  writeFileSync(join(dir, 'favicon.ico'), '');
  writeFileSync(
    join(dir, 'reversed.html'),
    page(
      'app bundle before the IIFE',
      '<script src="app.js"></script>\n<script src="rxpeer-bridge.iife.js"></script>\n' +
        '<script>rxpeerBridge.installUnityBinding();</script>\n',
    ),
  );
  writeFileSync(
    join(dir, 'extreal.html'),
    page('the Extreal layout', '<script src="extreal-app.js"></script>\n'),
  );
  writeFileSync(
    join(dir, 'iife-only.html'),
    page(
      'the IIFE alone, no bundler',
      '<script src="rxpeer-bridge.iife.js"></script>\n' +
        '<script>new rxpeerBridge.PeerAdapter().adapt();</script>\n',
    ),
  );
}

/** One browser tab running a Unity WebGL build, seen from its C# side. */
class UnityTab {
  constructor(
    readonly page: Page,
    readonly label: string,
  ) {}

  /** C#: `new WebGLPeerClient(config)`, and (for the example app) its `DataChannelClient`. */
  async construct(url: string, withApp: boolean): Promise<void> {
    await this.page.evaluate(
      ({ config, app }) => {
        const unity = window.fakeUnity!;
        unity.newPeerClient(config);
        if (app !== undefined) {
          unity.unity.addCallback(app.onMessage);
          unity.unity.callAction(app.construct);
        }
      },
      { config: webGLPeerConfig(url), app: withApp ? APP : undefined },
    );
  }

  action(name: string, str1 = ''): Promise<void> {
    return this.page.evaluate(({ n, s }) => window.fakeUnity!.unity.callAction(n, s), {
      n: name,
      s: str1,
    });
  }

  clientId(): Promise<string> {
    return this.page.evaluate(() => window.fakeUnity!.peerClient!.clientId());
  }

  calls(name: string): Promise<{ str1: string; str2: string }[]> {
    return this.page.evaluate(
      (n) =>
        window
          .fakeUnity!.unity.callbackLog.filter((c) => c.name === n)
          .map(({ str1, str2 }) => ({ str1, str2 })),
      name,
    );
  }

  async until(name: string, count = 1): Promise<{ str1: string; str2: string }[]> {
    await until(
      async () => (await this.calls(name)).length >= count,
      WAIT,
      async () =>
        `${this.label}: ${count} × ${name}; C# got ${JSON.stringify(await this.calls(name))}`,
    );
    return this.calls(name);
  }

  /** Names in the page's one bridge registry, and the heap blocks still allocated. */
  state(): Promise<{ actions: string[]; functions: string[]; live: number }> {
    return this.page.evaluate(() => {
      const registry = (
        window as unknown as Record<
          symbol,
          { actions: Map<string, unknown>; functions: Map<string, unknown> }
        >
      )[Symbol.for('rxpeer.bridge.registry')]!;
      return {
        actions: [...registry.actions.keys()].sort(),
        functions: [...registry.functions.keys()].sort(),
        live: window.fakeUnity!.unity.liveAllocations().length,
      };
    });
  }
}

describe('the Unity WebGL recipe in Chromium', () => {
  const site = tempDir('unity-bridge');
  let browser: Browser;
  let server: SignalingServer;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    buildSite(site.path);
    // Chromium first: when it is missing, nothing else is left running.
    browser = await launchChromium([NO_MDNS_FLAG, LOOPBACK_FLAG]);
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

  async function open(label: string, path: string): Promise<UnityTab> {
    const context = await browser.newContext({ permissions: ['microphone'] });
    context.setDefaultTimeout(WAIT);
    contexts.push(context);
    const tab = await context.newPage();
    watchPageErrors(tab, label, pageErrors);
    // rxpeer's warnings (a binding that would not reach the adapter) count as failures too.
    tab.on('console', (message) => {
      if (message.type() === 'warning') pageErrors.push(`${label}: console.warn ${message.text()}`);
    });
    await tab.goto(`${server.url}/${path}`);
    await tab.waitForFunction(() => window.fakeUnity !== undefined);
    return new UnityTab(tab, label);
  }

  /** C#: host `room` on `host`, list it and join it from `client`; both started. Returns both ids. */
  async function hostAndJoin(
    host: UnityTab,
    client: UnityTab,
    room: string,
  ): Promise<[string, string]> {
    await host.action(CSHARP_NAMES.startHost, room);
    const [created] = await host.until(CALLBACK.startHostResponse);
    expect(JSON.parse(created!.str1)).toMatchObject({ status: 200 });
    await host.until(CALLBACK.started);
    const hostId = await host.clientId();
    expect(hostId).not.toBe('');

    await client.action(CSHARP_NAMES.listHosts);
    const [listed] = await client.until(CALLBACK.listHostsResponse);
    expect(JSON.parse(listed!.str1)).toEqual({ status: 200, hosts: [{ id: hostId, name: room }] });

    await client.action(CSHARP_NAMES.startClient, hostId);
    await client.until(CALLBACK.started);
    const clientId = await client.clientId();
    expect((await client.calls(CALLBACK.userConnecting)).map((c) => c.str1)).toEqual([hostId]);
    await host.until(CALLBACK.userConnecting);
    expect((await host.calls(CALLBACK.userConnecting)).map((c) => c.str1)).toEqual([clientId]);
    return [hostId, clientId];
  }

  async function stopClient(host: UnityTab, client: UnityTab, clientId: string): Promise<void> {
    await client.action(CSHARP_NAMES.stop);
    await host.until(CALLBACK.userDisconnecting);
    expect((await host.calls(CALLBACK.userDisconnecting)).map((c) => c.str1)).toEqual([clientId]);
    expect(await client.clientId()).toBe('');
  }

  it('the example page as shipped and the same scripts in the other order: one runtime each, C# hosts, joins, sends and stops', async () => {
    const [host, client] = await Promise.all([
      open('example page', 'index.html'),
      open('reversed page', 'reversed.html'),
    ]);
    for (const tab of [host, client]) {
      expect(
        await tab.page.evaluate(
          () => typeof (window as unknown as { rxpeerBridge?: unknown }).rxpeerBridge,
        ),
      ).toBe('object');
      await tab.construct(server.url, true);
      // The IIFE and the app bundle are two copies of the bridge code; their names land in one registry.
      expect(await tab.state()).toEqual({
        actions: [
          APP.construct,
          APP.send,
          ...[
            CSHARP_NAMES.construct,
            CSHARP_NAMES.listHosts,
            CSHARP_NAMES.startClient,
            CSHARP_NAMES.startHost,
            CSHARP_NAMES.stop,
          ],
        ].sort(),
        functions: [CSHARP_NAMES.getClientId],
        live: 0,
      });
    }
    const [, clientId] = await hostAndJoin(host, client, 'unity room');

    // C# sends through the example's DataChannelClient until its channel is open; the other C# side gets the text.
    await until(
      async () => {
        await client.action(APP.send, 'hello from Unity');
        return (await host.calls(APP.onMessage)).length > 0;
      },
      WAIT,
      () => 'the example data channel to carry a message',
    );
    expect((await host.calls(APP.onMessage))[0]).toEqual({
      str1: clientId,
      str2: 'hello from Unity',
    });

    await stopClient(host, client, clientId);
    for (const tab of [host, client]) expect((await tab.state()).live).toBe(0);
  });

  it('the Extreal sample’s app script alone (only adapt(), no IIFE, no installUnityBinding) hosts; the IIFE alone with an inline adapt() joins; C# stops', async () => {
    const [host, client] = await Promise.all([
      open('Extreal layout', 'extreal.html'),
      open('IIFE-only layout', 'iife-only.html'),
    ]);
    const hasIife = (tab: UnityTab): Promise<boolean> =>
      tab.page.evaluate(
        () => typeof (window as unknown as { rxpeerBridge?: unknown }).rxpeerBridge === 'object',
      );
    expect(await hasIife(host)).toBe(false);
    expect(await hasIife(client)).toBe(true);
    for (const tab of [host, client]) await tab.construct(server.url, false);
    const [, clientId] = await hostAndJoin(host, client, 'extreal room');
    await stopClient(host, client, clientId);
    for (const tab of [host, client]) expect((await tab.state()).live).toBe(0);
  });
});
