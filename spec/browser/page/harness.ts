/**
 * The browser test page's script (bundled by spec/helpers/browser.ts): one
 * PeerClient on the page's global RTCPeerConnection, with the same `chat`
 * channel as the Node specs (spec/helpers/chat.ts), exposed as
 * `window.harness` for `page.evaluate`. Every result is plain data.
 */
import { firstValueFrom, take, throwError, timeout, type Observable } from 'rxjs';
import { PeerClient } from '../../../src/index';
import type { PeerState } from '../../../src/index';
import { attachChat, type Chat } from '../../helpers/chat';

export interface Harness {
  /** Starts as host `name` on the page's own origin; resolves with the own id. */
  startHost(name: string): Promise<string>;
  /** Joins `hostId`; resolves with the own id once started. */
  join(hostId: string, ms?: number): Promise<string>;
  openTo(ids: string[], ms?: number): Promise<void>;
  broadcast(text: string): string[];
  received(): { from: string; text: string }[];
  receivedAtLeast(count: number, text?: string, ms?: number): Promise<void>;
  peers(): PeerState[];
  /** Every local ICE candidate line this page gathered. */
  localCandidates(): string[];
  /** Codes of everything on `errors$`. */
  errors(): string[];
  stop(): Promise<void>;
}

declare global {
  interface Window {
    harness: Harness;
  }
}

function next<T>(source: Observable<T>, ms: number, what: string): Promise<T> {
  return firstValueFrom(
    source.pipe(
      take(1),
      timeout({ first: ms, with: () => throwError(() => new Error(`no ${what} within ${ms} ms`)) }),
    ),
  );
}

const client = new PeerClient({ url: location.origin });
const chat: Chat = attachChat(client);
const candidates: string[] = [];
const errors: string[] = [];
let peers: ReadonlyMap<string, PeerState> = new Map();

client.addPcCreateHook((_id, _isOffer, pc) => {
  pc.addEventListener('icecandidate', (e) => {
    if (e.candidate !== null && e.candidate.candidate !== '')
      candidates.push(e.candidate.candidate);
  });
});
client.peers$.subscribe((p) => (peers = p));
client.errors$.subscribe((e) => errors.push(e.code));

window.harness = {
  async startHost(name) {
    const started = next(client.started$, 10_000, 'started$ as host');
    await client.startHost(name);
    return started;
  },
  async join(hostId, ms = 15_000) {
    const started = next(client.started$, ms, 'started$ as client');
    await client.startClient(hostId);
    return started;
  },
  openTo: (ids, ms = 15_000) => chat.openTo(ids, ms),
  broadcast: (text) => chat.broadcast(text),
  received: () => [...chat.received],
  receivedAtLeast: (count, text, ms = 15_000) =>
    chat.receivedAtLeast(count, text === undefined ? undefined : (m) => m.text === text, ms),
  peers: () => [...peers.values()],
  localCandidates: () => [...candidates],
  errors: () => [...errors],
  stop: () => client.stop(),
};
