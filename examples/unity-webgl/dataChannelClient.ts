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
import type { Subscription } from 'rxjs';
import type { Channel } from 'rxpeer';
import { PeerAdapter, webCommonHelper, type PeerClientProvider, type WebCommonHelper } from 'rxpeer/bridge';

/** The app's data channel label. */
export const LABEL = 'sample';

export const NAMES = {
  construct: 'DataChannelClient#DataChannelClient',
  send: 'DataChannelClient#Send',
  onMessage: 'DataChannelClient#HandleOnMessage',
} as const;

/** Passes text between C# and every peer over one rxpeer data channel (`client.channel`). */
export class DataChannelClient {
  private readonly channel: Channel;
  private readonly subscription: Subscription;

  constructor(
    getPeerClient: PeerClientProvider,
    private readonly helper: WebCommonHelper = webCommonHelper,
  ) {
    this.channel = getPeerClient().channel(LABEL);
    this.subscription = this.channel.messages$.subscribe(({ from, data }) => {
      this.helper.callback(NAMES.onMessage, from, typeof data === 'string' ? data : '');
    });
  }

  /** Sends text to every peer whose channel is open; returns how many it was handed to. */
  send(text: string): number {
    const peers = this.channel.openPeers.size;
    // Fire and forget, as the C# action is; a peer that leaves meanwhile is left out.
    this.channel.broadcast(text).catch((error: unknown) => {
      console.warn(`DataChannelClient: ${String(error)}`);
    });
    return peers;
  }

  /** Stops relaying messages to C#. */
  dispose(): void {
    this.subscription.unsubscribe();
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
    dataChannelClient?.dispose();
    dataChannelClient = new DataChannelClient(adapter.getPeerClient, helper);
  });
  helper.addAction(NAMES.send, (text) => {
    if (dataChannelClient === undefined) throw new Error(`Call ${NAMES.construct} first`);
    dataChannelClient.send(text);
  });
  return adapter;
}
