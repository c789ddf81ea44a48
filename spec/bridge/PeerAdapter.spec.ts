import { BRIDGE, PeerAdapter } from '../../src/bridge/PeerAdapter';
import { UnityBridgeRuntime, installUnityBinding, type UnityBinding } from '../../src/bridge/webCommon';
import { BridgeError } from '../../src/errors';
import { FakeUnity } from '../helpers/fakeEmscripten';
import { FakeHub } from '../helpers/fakeSignaling';
import { FakeNetwork } from '../helpers/fakePeerConnection';
import { settle } from '../helpers/clientHarness';

const CONFIG = {
  url: 'http://127.0.0.1:3010',
  socketOptions: { connectionTimeout: 5000, reconnection: true, withCredentials: false },
  pcConfig: { iceServers: [{ urls: ['stun:127.0.0.1:3478'], username: '', credential: '' }] },
  vanillaIceTimeout: 5000,
  isDebug: false,
};

/** One emulated Unity player with its own page globals, runtime and adapter. */
class Player {
  readonly target: Record<string, unknown> = {};
  readonly runtime = new UnityBridgeRuntime();
  readonly binding: UnityBinding;
  readonly unity: FakeUnity;
  readonly adapter: PeerAdapter;

  constructor(hub: FakeHub, net: FakeNetwork) {
    this.binding = installUnityBinding(this.target, this.runtime);
    this.adapter = new PeerAdapter(this.runtime, {
      deps: { createSocket: () => hub.createSocket(), createPeerConnection: net.factory },
      logSink: () => undefined,
      bindingTarget: this.target,
    });
    this.adapter.adapt();
    this.unity = new FakeUnity({ target: this.target });
    this.unity.init({ isDebug: false });
  }

  /** What C# `new WebGLPeerClient(config)` does: the constructor action, then every callback. */
  construct(config: object = CONFIG): void {
    this.unity.callAction(BRIDGE.actions.construct, JSON.stringify(config));
    for (const name of Object.values(BRIDGE.callbacks)) this.unity.addCallback(name);
  }

  calls(name: string): string[] {
    return this.unity.callbackLog.filter((c) => c.name === name).map((c) => c.str1);
  }

  async until(name: string, count = 1): Promise<string[]> {
    for (let i = 0; i < 200 && this.calls(name).length < count; i += 1) await settle(2);
    const got = this.calls(name);
    if (got.length < count) throw new Error(`no ${name} callback after 400 ms; log: ${JSON.stringify(this.unity.callbackLog)}`);
    return got;
  }
}

describe('PeerAdapter driven by an emulated Unity WebGL player (fake signaling, fake peers)', () => {
  let hub: FakeHub;
  let net: FakeNetwork;
  let players: Player[];
  beforeEach(() => {
    hub = new FakeHub();
    net = new FakeNetwork();
    players = [];
  });
  afterEach(async () => {
    for (const p of players) {
      await p.adapter.dispose();
      p.binding.uninstall();
    }
  });
  const player = (): Player => {
    const p = new Player(hub, net);
    players.push(p);
    return p;
  };

  it('answers every call the C# WebGLPeerClient makes, in its order, with the exact shapes', async () => {
    const a = player();
    const b = player();
    a.construct();
    b.construct();
    expect(a.unity.callbackLog).toEqual([]); // nothing called back inside the constructor action

    a.unity.callAction(BRIDGE.actions.startHost, 'room');
    const [hostResponse] = await a.until(BRIDGE.callbacks.startHostResponse);
    expect(JSON.parse(hostResponse!)).toEqual({ status: 200, message: 'Host have been created' });
    await a.until(BRIDGE.callbacks.started);
    const hostId = a.unity.callFunction(BRIDGE.functions.getClientId);
    expect(hostId).toBe(hub.hosts.get('room'));

    b.unity.callAction(BRIDGE.actions.startHost, 'room');
    const [conflict] = await b.until(BRIDGE.callbacks.startHostResponse);
    expect(JSON.parse(conflict!)).toEqual({ status: 409, message: 'Host already exists. name: room' });

    b.unity.callAction(BRIDGE.actions.listHosts);
    const [list] = await b.until(BRIDGE.callbacks.listHostsResponse);
    expect(JSON.parse(list!)).toEqual({ status: 200, hosts: [{ id: hostId, name: 'room' }] });

    b.unity.callAction(BRIDGE.actions.startClient, hostId);
    await b.until(BRIDGE.callbacks.started);
    const clientId = b.unity.callFunction(BRIDGE.functions.getClientId);
    expect(clientId).toMatch(/^s\d+$/);
    expect(b.calls(BRIDGE.callbacks.userConnecting)).toEqual([hostId]);
    expect(a.calls(BRIDGE.callbacks.userConnecting)).toEqual([clientId]);

    b.unity.callAction(BRIDGE.actions.stop);
    await a.until(BRIDGE.callbacks.userDisconnecting);
    expect(a.calls(BRIDGE.callbacks.userDisconnecting)).toEqual([clientId]);
    expect(b.unity.callFunction(BRIDGE.functions.getClientId)).toBe('');
    // Its own stop is not a disconnection.
    expect(b.calls(BRIDGE.callbacks.disconnected)).toEqual([]);

    // The config reached the peer connections, with C#'s empty credentials left out.
    expect(net.all[0]!.config).toEqual({ iceServers: [{ urls: ['stun:127.0.0.1:3478'] }] });
    // No string leaked in either heap.
    expect(a.unity.liveAllocations()).toEqual([]);
    expect(b.unity.liveAllocations()).toEqual([]);
  });

  it('reports a signaling connection that fails, and answers the pending request', async () => {
    hub.refuseConnections = 'xhr poll error';
    const a = player();
    a.construct();
    a.unity.callAction(BRIDGE.actions.listHosts);
    const [response] = await a.until(BRIDGE.callbacks.listHostsResponse);
    expect(JSON.parse(response!)).toMatchObject({ status: 503, hosts: [] });
    expect(a.calls(BRIDGE.callbacks.connectFailed)).toEqual(['xhr poll error']);
    expect(a.unity.liveAllocations()).toEqual([]);
  });

  it('answers every failed create host with 409, the only status on which C# fails a start, and the real reason', async () => {
    // Refused by rxpeer before it reaches the server.
    const a = player();
    a.construct();
    a.unity.callAction(BRIDGE.actions.startHost, '   ');
    const [blank] = await a.until(BRIDGE.callbacks.startHostResponse);
    expect(JSON.parse(blank!)).toEqual({ status: 409, message: expect.stringMatching(/non-empty/) as unknown });

    // The signaling server cannot be reached.
    hub.refuseConnections = 'xhr poll error';
    const b = player();
    b.construct();
    b.unity.callAction(BRIDGE.actions.startHost, 'room');
    const [down] = await b.until(BRIDGE.callbacks.startHostResponse);
    expect(JSON.parse(down!)).toEqual({ status: 409, message: expect.stringMatching(/xhr poll error/) as unknown });
    expect(a.calls(BRIDGE.callbacks.started)).toEqual([]);
    expect(b.calls(BRIDGE.callbacks.started)).toEqual([]);
  });

  it('tells C# when an established signaling connection drops', async () => {
    const a = player();
    a.construct();
    a.unity.callAction(BRIDGE.actions.startHost, 'room');
    await a.until(BRIDGE.callbacks.started);
    hub.drop(a.unity.callFunction(BRIDGE.functions.getClientId));
    expect(await a.until(BRIDGE.callbacks.disconnected)).toEqual(['transport close']);
  });

  it('gives clear errors: an action before the constructor, a broken config, an unknown name', () => {
    const a = player();
    expect(() => a.adapter.getPeerClient()).toThrow(/has not called WebGLPeerClient#WebGLPeerClient/);
    expect(() => a.unity.callAction(BRIDGE.actions.startHost, 'room')).toThrow(BridgeError);
    expect(() => a.unity.callAction(BRIDGE.actions.construct, '{not json')).toThrow(/config is not JSON/);
    expect(() => a.unity.callAction(BRIDGE.actions.construct, JSON.stringify({ isDebug: true }))).toThrow(/no "url"/);
    expect(() => a.unity.callAction('WebGLPeerClient#DoNothing')).toThrow(/WebGLPeerClient#DoNothing/);
    expect(a.unity.liveAllocations()).toEqual([]);
  });

  it('hands the live client to app code through the provider, with the Extreal hook signatures', async () => {
    const a = player();
    const provider = a.adapter.getPeerClient;
    a.construct();
    const created: string[] = [];
    provider().addPcCreateHook((id, isOffer) => void created.push(`${id}:${String(isOffer)}`));
    const b = player();
    b.construct();
    a.unity.callAction(BRIDGE.actions.startHost, 'room');
    await a.until(BRIDGE.callbacks.started);
    b.unity.callAction(BRIDGE.actions.startClient, a.unity.callFunction(BRIDGE.functions.getClientId));
    await b.until(BRIDGE.callbacks.started);
    expect(created).toEqual([`${b.unity.callFunction(BRIDGE.functions.getClientId)}:true`]);
  });

  it('disposes the previous client when the constructor action runs again', async () => {
    const a = player();
    a.construct();
    const first = a.adapter.getPeerClient();
    a.unity.callAction(BRIDGE.actions.construct, JSON.stringify(CONFIG));
    expect(a.adapter.getPeerClient()).not.toBe(first);
    await settle(2);
    await expect(first.listHosts()).rejects.toMatchObject({ code: 'DISPOSED' });
  });
});
