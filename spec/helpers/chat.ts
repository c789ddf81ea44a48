/** An app-level data channel added through addPcCreateHook, as an app would: 'chat' on the offering side. */
import type { PeerClient } from '../../src/client/PeerClient';

export interface Chat {
  readonly received: { from: string; text: string }[];
  readonly channels: Map<string, RTCDataChannel>;
  /** Sends to every peer whose channel is open; returns the ids it sent to. */
  broadcast(text: string): string[];
  /** Resolves when a channel to each of `ids` is open. */
  openTo(ids: string[], ms?: number): Promise<void>;
  /** Resolves when `count` messages matching `predicate` have arrived. */
  receivedAtLeast(count: number, predicate?: (m: { from: string; text: string }) => boolean, ms?: number): Promise<void>;
}

export function attachChat(client: PeerClient, label = 'chat'): Chat {
  const received: { from: string; text: string }[] = [];
  const channels = new Map<string, RTCDataChannel>();
  const track = (id: string, channel: RTCDataChannel): void => {
    channels.set(id, channel);
    channel.addEventListener('message', (e) => received.push({ from: id, text: String((e as MessageEvent).data) }));
  };
  client.addPcCreateHook((id, isOffer, pc) => {
    if (isOffer) track(id, pc.createDataChannel(label));
    else
      pc.addEventListener('datachannel', (e) => {
        const channel = (e as RTCDataChannelEvent).channel;
        if (channel.label === label) track(id, channel);
      });
  });
  client.addPcCloseHook((id) => {
    channels.delete(id);
  });
  const poll = async (cond: () => boolean, ms: number, what: () => string): Promise<void> => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what()}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return {
    received,
    channels,
    broadcast(text) {
      const sent: string[] = [];
      for (const [id, channel] of channels) {
        if (channel.readyState === 'open') {
          channel.send(text);
          sent.push(id);
        }
      }
      return sent;
    },
    openTo(ids, ms = 8000) {
      return poll(
        () => ids.every((id) => channels.get(id)?.readyState === 'open'),
        ms,
        () => `open chat channels to ${ids.join(', ')} (have ${[...channels].map(([k, c]) => `${k}:${c.readyState}`).join(', ')})`,
      );
    },
    receivedAtLeast(count, predicate = () => true, ms = 8000) {
      return poll(
        () => received.filter(predicate).length >= count,
        ms,
        () => `${count} messages (have ${JSON.stringify(received)})`,
      );
    },
  };
}
