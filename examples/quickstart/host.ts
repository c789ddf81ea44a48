/**
 * Quick start, side 1: a host that answers every guest on the "chat" channel.
 * Run a signaling server first (`npx rxpeer-signaling`), then this, then guest.ts.
 */
import wrtc from '@roamhq/wrtc';
import { filter, firstValueFrom } from 'rxjs';
import { PeerClient } from 'rxpeer';

const client = new PeerClient(
  { url: 'http://127.0.0.1:3010' },
  { createPeerConnection: (config) => new wrtc.RTCPeerConnection(config) },
);
const chat = client.channel('chat');

await client.startHost('room');
console.log('hosting "room"');

// The first message from any guest; answer it on the same channel.
const { from, data } = await firstValueFrom(chat.messages$);
console.log(`guest says: ${String(data)}`);
await chat.send(from, `welcome! you said "${String(data)}"`);

// Leave once the guest has gone (its channel closes when it stops).
await firstValueFrom(chat.open$.pipe(filter((open) => !open.has(from))));
await client.dispose();
