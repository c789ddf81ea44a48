/**
 * Quick start, side 2: a guest that finds the host "room", joins it and
 * says hello on the "chat" channel.
 */
import wrtc from '@roamhq/wrtc';
import { filter, firstValueFrom } from 'rxjs';
import { PeerClient } from 'rxpeer';

const client = new PeerClient(
  { url: 'http://127.0.0.1:3010' },
  { createPeerConnection: (config) => new wrtc.RTCPeerConnection(config) },
);
const chat = client.channel('chat');

const host = (await client.listHosts()).find((h) => h.name === 'room');
if (host === undefined) throw new Error('no host named "room"');
await client.startClient(host.id);

// The channel opens with the host just after the start; then talk.
await firstValueFrom(chat.open$.pipe(filter((open) => open.has(host.id))));
const reply = firstValueFrom(chat.messages$);
await chat.send(host.id, 'hello');
console.log(`host says: ${String((await reply).data)}`);

await client.dispose();
