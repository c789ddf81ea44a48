/**
 * Two emulated Unity WebGL players drive rxpeer through the bridge alone, on
 * the real server and a real engine; the example app script's data channel
 * carries a message from one C# side to the other.
 */
import { BRIDGE, PeerAdapter } from '../../src/bridge/PeerAdapter';
import { UnityBridgeRuntime, installUnityBinding, type UnityBinding } from '../../src/bridge/webCommon';
import { createSignalingServer, type SignalingServer } from '../../src/server';
import { NAMES, main } from '../../examples/unity-webgl/dataChannelClient';
import { FakeUnity } from '../helpers/fakeEmscripten';
import { createPeerConnection, openPeerConnections, resetTracking } from '../helpers/engine';

jest.setTimeout(60_000);

class Player {
  readonly target: Record<string, unknown> = {};
  readonly runtime = new UnityBridgeRuntime();
  readonly binding: UnityBinding = installUnityBinding(this.target, this.runtime);
  readonly adapter: PeerAdapter;
  readonly unity = new FakeUnity({ target: this.target });

  constructor(url: string) {
    // The page script: the example app, with rxpeer's Web.Common runtime.
    this.adapter = main(
      this.runtime,
      new PeerAdapter(this.runtime, { deps: { createPeerConnection }, logSink: () => undefined, bindingTarget: this.target }),
    );
    this.unity.init({ isDebug: false });
    // C#: new WebGLPeerClient(config) — constructor action, then every callback.
    this.unity.callAction(
      BRIDGE.actions.construct,
      JSON.stringify({
        url,
        socketOptions: { connectionTimeout: 5000, reconnection: true, withCredentials: false },
        pcConfig: { iceServers: [] },
        vanillaIceTimeout: 5000,
        isDebug: false,
      }),
    );
    for (const name of Object.values(BRIDGE.callbacks)) this.unity.addCallback(name);
    this.unity.addCallback(NAMES.onMessage);
    // C#: the app's own DataChannelClient, once the peer client exists.
    this.unity.callAction(NAMES.construct);
  }

  calls(name: string): { str1: string; str2: string }[] {
    return this.unity.callbackLog.filter((c) => c.name === name);
  }

  async until(name: string, count = 1, ms = 15_000): Promise<void> {
    const end = Date.now() + ms;
    while (this.calls(name).length < count) {
      if (Date.now() > end) throw new Error(`no ${name} within ${ms} ms: ${JSON.stringify(this.unity.callbackLog)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

describe('Unity WebGL bridge end to end', () => {
  let server: SignalingServer;
  let players: Player[];

  beforeEach(async () => {
    server = await createSignalingServer({ port: 0, host: '127.0.0.1' });
    players = [];
    resetTracking();
  });

  afterEach(async () => {
    for (const p of players) {
      await p.adapter.dispose();
      p.binding.uninstall();
    }
    await server.close();
    expect(openPeerConnections()).toEqual([]);
  });

  it('host and client reach started through the bridge, and the example data channel carries a message', async () => {
    const host = new Player(server.url);
    const client = new Player(server.url);
    players.push(host, client);

    // A name the server refuses: C# fails a start only on 409, so that is what it gets, with the reason.
    host.unity.callAction(BRIDGE.actions.startHost, 'x'.repeat(65));
    await host.until(BRIDGE.callbacks.startHostResponse);
    expect(JSON.parse(host.calls(BRIDGE.callbacks.startHostResponse)[0]!.str1)).toEqual({
      status: 409,
      message: expect.stringMatching(/status 400/) as unknown,
    });
    expect(host.calls(BRIDGE.callbacks.started)).toEqual([]);

    host.unity.callAction(BRIDGE.actions.startHost, 'unity-room');
    await host.until(BRIDGE.callbacks.startHostResponse, 2);
    expect(JSON.parse(host.calls(BRIDGE.callbacks.startHostResponse)[1]!.str1)).toMatchObject({ status: 200 });
    await host.until(BRIDGE.callbacks.started);
    const hostId = host.unity.callFunction(BRIDGE.functions.getClientId);

    client.unity.callAction(BRIDGE.actions.listHosts);
    await client.until(BRIDGE.callbacks.listHostsResponse);
    expect(JSON.parse(client.calls(BRIDGE.callbacks.listHostsResponse)[0]!.str1)).toEqual({
      status: 200,
      hosts: [{ id: hostId, name: 'unity-room' }],
    });

    client.unity.callAction(BRIDGE.actions.startClient, hostId);
    await client.until(BRIDGE.callbacks.started);
    const clientId = client.unity.callFunction(BRIDGE.functions.getClientId);
    expect(client.calls(BRIDGE.callbacks.userConnecting).map((c) => c.str1)).toEqual([hostId]);
    expect(host.calls(BRIDGE.callbacks.userConnecting).map((c) => c.str1)).toEqual([clientId]);

    // C# sends text through the app's action until the channel is open, then the other C# side gets it.
    const end = Date.now() + 10_000;
    while (host.calls(NAMES.onMessage).length === 0 && Date.now() < end) {
      client.unity.callAction(NAMES.send, 'hello from Unity');
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(host.calls(NAMES.onMessage)[0]).toMatchObject({ str1: clientId, str2: 'hello from Unity' });

    client.unity.callAction(BRIDGE.actions.stop);
    await host.until(BRIDGE.callbacks.userDisconnecting);
    expect(host.calls(BRIDGE.callbacks.userDisconnecting).map((c) => c.str1)).toEqual([clientId]);
    expect(host.unity.liveAllocations()).toEqual([]);
    expect(client.unity.liveAllocations()).toEqual([]);
  });
});
