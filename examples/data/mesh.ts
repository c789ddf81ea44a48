/**
 * A host and two guests in one program: text, binary, broadcast, and a
 * message far larger than a data channel takes (split and reassembled).
 */
import wrtc from '@roamhq/wrtc';
import { filter, firstValueFrom } from 'rxjs';
import { PeerClient } from 'rxpeer';

const url = 'http://127.0.0.1:3010';
const engine = {
  createPeerConnection: (config: RTCConfiguration) => new wrtc.RTCPeerConnection(config),
};
const [host, alice, bob] = [
  new PeerClient({ url }, engine),
  new PeerClient({ url }, engine),
  new PeerClient({ url }, engine),
];

// Declare the label on every peer, before or after starting: same object for the same label.
const files = {
  host: host.channel('files'),
  alice: alice.channel('files'),
  bob: bob.channel('files'),
};

await host.startHost('office');
const hostId = (await firstValueFrom(host.state$)).id!;
await alice.startClient(hostId);
await bob.startClient(hostId);

// open$ replays the peers with whom the label is open: wait for the full mesh.
const aliceId = (await firstValueFrom(alice.state$)).id!;
const bobId = (await firstValueFrom(bob.state$)).id!;
await firstValueFrom(files.host.open$.pipe(filter((open) => open.has(aliceId) && open.has(bobId))));
await firstValueFrom(files.alice.open$.pipe(filter((open) => open.has(bobId))));

// Text to one peer, binary to another; `from` says who sent each message.
const fromHost = firstValueFrom(files.bob.messages$.pipe(filter((m) => m.from === hostId)));
const fromAlice = firstValueFrom(files.bob.messages$.pipe(filter((m) => m.from === aliceId)));
await files.host.send(bobId, 'a report follows');
await files.alice.send(bobId, new Uint8Array([1, 2, 3]));
console.log('host → bob:', (await fromHost).data);
const { data: bytes } = await fromAlice;
console.log('alice → bob:', typeof bytes === 'string' ? bytes : new Uint8Array(bytes));

// 8 MiB in one message: split into frames of the pair's max-message-size, reassembled whole.
const big = new Uint8Array(8 * 1024 * 1024).fill(42);
const atAlice = firstValueFrom(files.alice.messages$);
await files.bob.send(aliceId, big);
const { data } = await atAlice;
console.log(
  'alice got',
  typeof data === 'string' ? data.length : data.byteLength,
  'bytes from bob',
);

// broadcast: to every peer with whom the label is open; resolves with their ids.
const sentTo = await files.host.broadcast('lunch at noon');
console.log('host broadcast to', sentTo.length, 'peers');

await Promise.all([host.dispose(), alice.dispose(), bob.dispose()]);
