/**
 * Game state on an unordered channel without retransmissions (the newest
 * state matters, not every one), next to a reliable chat on the same pair.
 */
import wrtc from '@roamhq/wrtc';
import { filter, firstValueFrom, take, toArray } from 'rxjs';
import { PeerClient, RxpeerError } from 'rxpeer';

const url = 'http://127.0.0.1:3010';
const engine = {
  createPeerConnection: (config: RTCConfiguration) => new wrtc.RTCPeerConnection(config),
};
const host = new PeerClient({ url }, engine);
const player = new PeerClient({ url }, engine);

// Both sides declare the label with the same options.
const options = { ordered: false, maxRetransmits: 0 };
const hostState = host.channel('state', options);
const playerState = player.channel('state', options);

await host.startHost('arena');
const hostId = (await firstValueFrom(host.state$)).id!;
await player.startClient(hostId);
await firstValueFrom(playerState.open$.pipe(filter((open) => open.has(hostId))));

const received = firstValueFrom(hostState.messages$.pipe(take(3), toArray()));
for (let tick = 1; tick <= 3; tick += 1) {
  await playerState.send(hostId, JSON.stringify({ tick, x: tick * 10, y: 5 }));
}
// On loopback nothing is lost, but the order is not promised.
console.log('host got ticks', (await received).map((m) => JSON.parse(String(m.data)).tick).sort());

// A message that would have to be split is refused on such a channel (a split message needs every part).
try {
  await playerState.send(hostId, new Uint8Array(1024 * 1024));
} catch (error) {
  if (error instanceof RxpeerError) console.log('refused:', error.code);
}

await Promise.all([host.dispose(), player.dispose()]);
