/**
 * The lifecycle as streams: state$ replays, a start is cancelled by
 * unsubscribing (here by RxJS `timeout`), a failed start carries its error,
 * stop() and dispose().
 */
import wrtc from '@roamhq/wrtc';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { PeerClient, RxpeerError } from 'rxpeer';

const url = 'http://127.0.0.1:3010';
const engine = {
  createPeerConnection: (config: RTCConfiguration) => new wrtc.RTCPeerConnection(config),
};

// 1. state$ replays: subscribe whenever, you get the state now.
const host = new PeerClient({ url }, engine);
await host.startHost('lobby');
console.log('host state:', await firstValueFrom(host.state$)); // { status: 'started', role: 'host', id: … }

// 2. Unsubscribing from a start cancels it. `timeout` unsubscribes after 1 s:
//    the join of a host that does not answer is undone, and the client is idle again.
const client = new PeerClient({ url, p2pTimeout: 0 }, engine); // 0: no start timeout of its own
const states: string[] = [];
client.state$.subscribe((state) => states.push(state.status));
try {
  await firstValueFrom(client.startClient$('no-such-host').pipe(timeout(1000)));
} catch (error) {
  console.log('gave up:', (error as Error).name); // TimeoutError, from RxJS
}
await firstValueFrom(client.state$.pipe(filter((state) => state.status === 'idle')));
console.log('client went', states.join(' → ')); // idle → starting → stopping → idle

// A new start works at once.
const hostId = (await firstValueFrom(host.state$)).id!;
await client.startClient(hostId); // resolves once started (done from the host, ICE up)
console.log('client state:', (await firstValueFrom(client.state$)).status);

// 3. A failed start: startClient() rejects with the error, and startFailed$ emits the same one.
const late = new PeerClient({ url, p2pTimeout: 1000 }, engine);
const failure = firstValueFrom(late.startFailed$);
try {
  await late.startClient('no-such-host');
} catch (error) {
  if (error instanceof RxpeerError)
    console.log('start failed:', error.code, (await failure) === error);
}

// 4. stop() ends a start (the client can start again); dispose() also completes every stream.
await client.stop();
console.log('after stop:', (await firstValueFrom(client.state$)).status);
client.state$.subscribe({ complete: () => console.log('state$ completed') });
await Promise.all([client.dispose(), host.dispose(), late.dispose()]);
