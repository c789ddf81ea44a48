/**
 * The example Unity WebGL app's JavaScript side, on rxpeer, written the way
 * an app written for the Extreal package is: only the import path differs.
 * `app.ts` is the page script that runs it.
 *
 * C# side (unchanged): `new WebGLPeerClient(config)`, then the app's own
 * `WebGLHelper.CallAction("DataChannelClient#DataChannelClient")` once the
 * peer client exists, and `"DataChannelClient#Send"` to send text. Received
 * text comes back through the `"DataChannelClient#HandleOnMessage"` callback.
 */
import { PeerAdapter, webCommonHelper, type PeerClientProvider, type WebCommonHelper } from 'rxpeer/bridge';

/** The app's data channel label; rxpeer's own control channel has another and is ignored here. */
export const LABEL = 'sample';

export const NAMES = {
  construct: 'DataChannelClient#DataChannelClient',
  send: 'DataChannelClient#Send',
  onMessage: 'DataChannelClient#HandleOnMessage',
} as const;

/** Opens a data channel with every peer (the offering side makes it) and relays text to C#. */
export class DataChannelClient {
  private readonly channels = new Map<string, RTCDataChannel>();

  constructor(
    getPeerClient: PeerClientProvider,
    private readonly helper: WebCommonHelper = webCommonHelper,
  ) {
    const client = getPeerClient();
    client.addPcCreateHook((id, isOffer, pc) => {
      if (isOffer) {
        this.track(id, pc.createDataChannel(LABEL));
        return;
      }
      pc.addEventListener('datachannel', (event) => {
        if (event.channel.label === LABEL) this.track(id, event.channel);
      });
    });
    client.addPcCloseHook((id) => {
      this.channels.get(id)?.close();
      this.channels.delete(id);
    });
  }

  /** Sends text to every peer whose channel is open; returns how many. */
  send(text: string): number {
    let sent = 0;
    for (const channel of this.channels.values()) {
      if (channel.readyState === 'open') {
        channel.send(text);
        sent += 1;
      }
    }
    return sent;
  }

  private track(id: string, channel: RTCDataChannel): void {
    this.channels.set(id, channel);
    channel.addEventListener('message', (event: MessageEvent) => {
      this.helper.callback(NAMES.onMessage, id, String(event.data));
    });
  }
}

/**
 * Page start-up: adapt the peer client for Unity (which installs rxpeer's
 * Web.Common binding when the page has none yet), and register the app's own
 * actions. Runs before Unity's loader script. The arguments are for specs that
 * run several emulated players in one process; a page uses the defaults.
 */
export function main(helper: WebCommonHelper = webCommonHelper, adapter = new PeerAdapter(helper)): PeerAdapter {
  adapter.adapt();
  let dataChannelClient: DataChannelClient | undefined;
  helper.addAction(NAMES.construct, () => {
    dataChannelClient = new DataChannelClient(adapter.getPeerClient, helper);
  });
  helper.addAction(NAMES.send, (text) => {
    if (dataChannelClient === undefined) throw new Error(`Call ${NAMES.construct} first`);
    dataChannelClient.send(text);
  });
  return adapter;
}
