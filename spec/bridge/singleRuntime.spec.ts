/**
 * One bridge runtime per page (issue 13, items 6 and 7), in Node: two copies
 * of rxpeer's bridge code loaded side by side (as the shipped IIFE and an app
 * bundle with its own copy are in a page) share the registry on `globalThis`,
 * whatever was loaded or called first; `PeerAdapter.adapt()` alone installs
 * the Web.Common binding, as importing the Extreal package does.
 *
 * The same layouts run in real Chromium in spec/browser/unity-bridge.spec.ts.
 */
import type * as BridgeModule from '../../src/bridge/index';
import {
  BRIDGE_REGISTRY_KEY,
  UnityBridgeRuntime,
  defaultUnityBridgeRuntime,
} from '../../src/bridge/webCommon';
import type { LogSink } from '../../src/logger';
import { CSHARP_NAMES, FakeUnity, FakeWebGLPeerClient } from '../helpers/fakeEmscripten';
import { FakeHub } from '../helpers/fakeSignaling';
import { FakeNetwork } from '../helpers/fakePeerConnection';
import { settle } from '../helpers/clientHarness';

type Bridge = typeof BridgeModule;

/** A fresh copy of src/bridge (its own module instances: classes, default runtime, helper). */
function loadCopy(): Bridge {
  let copy: Bridge | undefined;
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    copy = require('../../src/bridge/index') as Bridge;
  });
  return copy as Bridge;
}

const GLOBALS = ['__getNop', '__getMethod'] as const;
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  defaultUnityBridgeRuntime.reset();
  for (const key of GLOBALS) Reflect.deleteProperty(globalThis, key);
});

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i += 1) await settle(2);
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

/** Adapts a PeerAdapter of `copy` with fake signaling and peers, disposed after the test. */
function adapt(
  copy: Bridge,
  hub: FakeHub,
  net: FakeNetwork,
  logSink: LogSink = () => undefined,
): BridgeModule.PeerAdapter {
  const adapter = new copy.PeerAdapter(undefined, {
    deps: { createSocket: () => hub.createSocket(), createPeerConnection: net.factory },
    logSink,
  });
  adapter.adapt();
  cleanups.push(() => adapter.dispose());
  return adapter;
}

/** C#: a WebGLPeerClient on a player started on this page; it hosts a room and reads its id. */
async function hostThroughCSharp(hub: FakeHub): Promise<FakeWebGLPeerClient> {
  const unity = new FakeUnity();
  unity.init();
  const csharp = new FakeWebGLPeerClient(unity, { url: 'http://127.0.0.1:3010' });
  csharp.startHost('room');
  await until(
    () => csharp.calls('WebGLPeerClient#HandleOnStarted').length === 1,
    'HandleOnStarted',
  );
  expect(
    csharp.calls('WebGLPeerClient#ReceiveStartHostResponse').map((r) => JSON.parse(r) as unknown),
  ).toEqual([{ status: 200, message: 'Host have been created' }]);
  expect(csharp.clientId()).toBe(hub.hosts.get('room'));
  expect(unity.liveAllocations()).toEqual([]);
  return csharp;
}

describe('two copies of the bridge code on one page', () => {
  let hub: FakeHub;
  let net: FakeNetwork;
  beforeEach(() => {
    hub = new FakeHub();
    net = new FakeNetwork();
  });

  it('share one registry under Symbol.for("rxpeer.bridge.registry"), versioned', () => {
    const iife = loadCopy();
    const app = loadCopy();
    expect(iife.defaultUnityBridgeRuntime).not.toBe(app.defaultUnityBridgeRuntime);
    expect(iife.UnityBridgeRuntime).not.toBe(app.UnityBridgeRuntime);
    expect(iife.defaultUnityBridgeRuntime.registry).toBe(app.defaultUnityBridgeRuntime.registry);
    expect(Reflect.get(globalThis, Symbol.for('rxpeer.bridge.registry'))).toBe(
      iife.defaultUnityBridgeRuntime.registry,
    );
    expect(iife.defaultUnityBridgeRuntime.registry.version).toBe(1);
    // A private runtime stays private.
    expect(new app.UnityBridgeRuntime().registry).not.toBe(app.defaultUnityBridgeRuntime.registry);
  });

  it('IIFE first (installUnityBinding), then the app bundle adapts: C# reaches the app copy’s actions', async () => {
    const iife = loadCopy();
    const binding = iife.installUnityBinding();
    cleanups.push(() => binding.uninstall());
    const installedByIife = Reflect.get(globalThis, '__getNop') as unknown;
    const app = loadCopy();
    adapt(app, hub, net);
    // adapt() found the IIFE's binding and kept it.
    expect(Reflect.get(globalThis, '__getNop')).toBe(installedByIife);
    expect(app.findUnityBinding()).toEqual({
      kind: 'rxpeer',
      registry: iife.defaultUnityBridgeRuntime.registry,
    });
    await hostThroughCSharp(hub);
  });

  it('app bundle first (adapt() installs), then the IIFE and installUnityBinding(): still one runtime', async () => {
    const app = loadCopy();
    adapt(app, hub, net);
    const installedByAdapt = Reflect.get(globalThis, '__getNop') as unknown;
    expect(typeof installedByAdapt).toBe('function');
    const iife = loadCopy();
    const binding = iife.installUnityBinding();
    cleanups.push(() => binding.uninstall());
    // Installing again is harmless: the binding in place already reaches the same registry.
    expect(Reflect.get(globalThis, '__getNop')).toBe(installedByAdapt);
    binding.uninstall();
    expect(Reflect.get(globalThis, '__getNop')).toBe(installedByAdapt);
    await hostThroughCSharp(hub);
  });

  it('answers C# through whichever copy registered each name (app actions next to the adapter’s)', async () => {
    const iife = loadCopy();
    const app = loadCopy();
    adapt(app, hub, net);
    const said: string[] = [];
    iife.addAction('Sample#Say', (text) => said.push(text));
    iife.addFunction('Sample#Echo', (text) => `echo ${text}`);
    const unity = new FakeUnity();
    unity.init();
    unity.addCallback('Sample#OnEvent');
    unity.callAction('Sample#Say', 'hi');
    expect(said).toEqual(['hi']);
    expect(unity.callFunction('Sample#Echo', 'x')).toBe('echo x');
    app.callback('Sample#OnEvent', 'from the app copy');
    expect(unity.callbackLog.map((c) => c.str1)).toEqual(['from the app copy']);
    expect(unity.liveAllocations()).toEqual([]);
  });
});

describe('PeerAdapter.adapt() and the Web.Common binding', () => {
  let hub: FakeHub;
  let net: FakeNetwork;
  beforeEach(() => {
    hub = new FakeHub();
    net = new FakeNetwork();
  });

  it('installs it on a page that has none: the Extreal sample’s app script (only adapt()) works', async () => {
    expect('__getNop' in globalThis).toBe(false);
    const app = loadCopy();
    const adapter = adapt(app, hub, net);
    expect(app.findUnityBinding()).toMatchObject({ kind: 'rxpeer' });
    await hostThroughCSharp(hub);
    // dispose() takes away what adapt() installed.
    await adapter.dispose();
    expect('__getNop' in globalThis).toBe(false);
    expect('__getMethod' in globalThis).toBe(false);
  });

  it('is harmless when called twice and when installUnityBinding() comes after it', async () => {
    const app = loadCopy();
    const adapter = adapt(app, hub, net);
    const first = Reflect.get(globalThis, '__getMethod') as unknown;
    adapter.adapt();
    const binding = app.installUnityBinding();
    expect(Reflect.get(globalThis, '__getMethod')).toBe(first);
    binding.uninstall();
    await hostThroughCSharp(hub);
  });

  it('leaves the page alone with the original Web.Common functions, which bring their own binding', async () => {
    // Stand-in for @extreal-dev/extreal.integration.web.common: importing it defines the globals.
    const original = new UnityBridgeRuntime();
    const page: Record<string, unknown> = {};
    const theirs = {
      __getNop: (...args: Parameters<UnityBridgeRuntime['getNop']>) => original.getNop(...args),
      __getMethod: (name: string) => original.getMethod(name),
    };
    Object.assign(page, theirs);
    const { addAction, addFunction, callback } = original;
    const lines: string[] = [];
    const adapter = new (loadCopy().PeerAdapter)(
      { addAction, addFunction, callback },
      {
        deps: { createSocket: () => hub.createSocket(), createPeerConnection: net.factory },
        logSink: (level, _ns, message) => lines.push(`${level} ${message}`),
        bindingTarget: page,
      },
    );
    cleanups.push(() => adapter.dispose());
    adapter.adapt();
    expect(page).toEqual(theirs);
    expect(lines.filter((l) => l.startsWith('warn'))).toEqual([]);

    const unity = new FakeUnity({ target: page });
    unity.init();
    const csharp = new FakeWebGLPeerClient(unity, { url: 'http://127.0.0.1:3010' });
    csharp.listHosts();
    await until(
      () => csharp.calls('WebGLPeerClient#ReceiveListHostsResponse').length === 1,
      'the host list',
    );
    expect(JSON.parse(csharp.calls('WebGLPeerClient#ReceiveListHostsResponse')[0]!)).toEqual({
      status: 200,
      hosts: [],
    });
  });

  it('warns when C#’s calls would not reach the adapter', () => {
    const lines: string[] = [];
    const logSink: LogSink = (level, _ns, message) => lines.push(`${level} ${message}`);
    const warnings = (): string[] => lines.splice(0).filter((l) => l.startsWith('warn'));
    const deps = { createSocket: () => hub.createSocket(), createPeerConnection: net.factory };
    const { PeerAdapter, installUnityBinding } = loadCopy();

    // A foreign helper and no binding on the page.
    const foreign = new UnityBridgeRuntime();
    const { addAction, addFunction, callback } = foreign;
    const lonely = new PeerAdapter(
      { addAction, addFunction, callback },
      { deps, logSink, bindingTarget: {} },
    );
    lonely.adapt();
    expect(warnings()).toEqual([expect.stringContaining('no Web.Common binding')]);

    // rxpeer's helper, but the page's binding is someone else's.
    const other = new PeerAdapter(undefined, {
      deps,
      logSink,
      bindingTarget: { __getNop: () => 0, __getMethod: () => 0 },
    });
    other.adapt();
    expect(warnings()).toEqual([expect.stringContaining('not rxpeer')]);

    // rxpeer's helper, but the page's binding reaches a private runtime.
    const page = {};
    const binding = installUnityBinding(page, new UnityBridgeRuntime());
    const elsewhere = new PeerAdapter(undefined, { deps, logSink, bindingTarget: page });
    elsewhere.adapt();
    expect(warnings()).toEqual([expect.stringContaining('another rxpeer bridge runtime')]);
    binding.uninstall();
    cleanups.push(
      () => lonely.dispose(),
      () => other.dispose(),
      () => elsewhere.dispose(),
    );
  });
});

describe('the shared registry refuses what it cannot share', () => {
  it('throws a BridgeError naming both versions when the page holds another registry version, and only on use', () => {
    const page: Record<PropertyKey, unknown> = { [BRIDGE_REGISTRY_KEY]: { version: 2 } };
    const runtime = new UnityBridgeRuntime({ shared: true, sharedTarget: page });
    let thrown: unknown;
    try {
      runtime.addAction('a', () => undefined);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'BRIDGE', context: { version: 2, expected: 1 } });
    expect((thrown as Error).message).toMatch(
      /registry version 1, the page's registry is version 2/,
    );
  });

  it('refuses a key that holds something else, and defines its own registry read-only', () => {
    const junk = new UnityBridgeRuntime({
      shared: true,
      sharedTarget: { [BRIDGE_REGISTRY_KEY]: 'junk' },
    });
    expect(() => junk.registry).toThrow(/not an rxpeer bridge registry/);

    const page: Record<PropertyKey, unknown> = {};
    const registry = new UnityBridgeRuntime({ shared: true, sharedTarget: page }).registry;
    expect(new UnityBridgeRuntime({ shared: true, sharedTarget: page }).registry).toBe(registry);
    expect(Object.getOwnPropertyDescriptor(page, BRIDGE_REGISTRY_KEY)).toMatchObject({
      writable: false,
      configurable: false,
      enumerable: false,
    });
    expect(Object.keys(page)).toEqual([]);
  });

  it('keeps the C# names of the protocol (checked against the emulated C# side)', () => {
    const { BRIDGE } = loadCopy();
    expect(BRIDGE.actions).toEqual({
      construct: CSHARP_NAMES.construct,
      startHost: CSHARP_NAMES.startHost,
      listHosts: CSHARP_NAMES.listHosts,
      startClient: CSHARP_NAMES.startClient,
      stop: CSHARP_NAMES.stop,
    });
    expect(BRIDGE.functions.getClientId).toBe(CSHARP_NAMES.getClientId);
    expect(Object.values(BRIDGE.callbacks).sort()).toEqual([...CSHARP_NAMES.callbacks].sort());
  });
});
