/**
 * Issue 17, tests that cut real links: a host in this process and a member
 * in a network namespace of its own (spec/helpers/netns.ts), joined by a
 * veth pair; the member's every packet (WebRTC and signaling) is dropped
 * both ways for a while, then the link returns. A cut shorter than the
 * grace plus the restarts heals on the same connection: no new connection,
 * nobody sees a leave, no message on the reliable channel is lost.
 */
import { PeerClient } from '../../src/client/PeerClient';
import { createSignalingServer, type SignalingServer } from '../../src/server';
import { createPeerConnection } from '../helpers/engine';
import {
  buildPeerScript,
  createNetnsLink,
  cutOnce,
  lostMessages,
  startHealPair,
  type HealPair,
  type NetnsLink,
} from '../helpers/netns';

jest.setTimeout(120_000);

describe('links cut in network namespaces (real server, real engine, member in its own namespace)', () => {
  let build: { script: string; remove: () => void };
  let link: NetnsLink | undefined;
  let server: SignalingServer | undefined;
  let host: PeerClient | undefined;
  let pair: HealPair | undefined;

  beforeAll(() => {
    build = buildPeerScript();
  });
  afterAll(() => build.remove());

  afterEach(async () => {
    if (process.env.HEAL_DEBUG === '1')
      process.stderr.write(`member events: ${JSON.stringify(pair?.peer.events)}\n`);
    const t = Date.now();
    const lap = (what: string): void => {
      if (process.env.HEAL_DEBUG === '1')
        process.stderr.write(`${what} after ${Date.now() - t} ms\n`);
    };
    await pair?.peer.quit();
    lap('member quit');
    await host?.dispose();
    lap('host disposed');
    // A socket from an address the member no longer has stays half-open; the server would wait for it.
    server?.httpServer.closeAllConnections();
    await server?.close();
    lap('server closed');
    link?.close();
    pair = undefined;
    host = undefined;
    server = undefined;
    link = undefined;
  });

  async function setUp(limits?: {
    pingIntervalMs: number;
    pingTimeoutMs: number;
  }): Promise<HealPair> {
    link = createNetnsLink();
    server = await createSignalingServer({
      port: 0,
      host: link.nearAddress,
      ...(limits === undefined ? {} : { limits }),
    });
    const url = `http://${link.nearAddress}:${String(server.port)}`;
    host = new PeerClient({ url }, { createPeerConnection });
    pair = await startHealPair(link, build.script, url, host);
    return pair;
  }

  it('a 3 s cut: both ends recover on the same connection, nobody leaves, no message is lost', async () => {
    const p = await setUp();
    const result = await cutOnce(p, link!, 3000);
    expect(result.sameConnection).toBe(true);
    expect(result.hostSawLeave).toBe(false);
    expect(result.peerSawLeave).toBe(false);
    expect(result.recoveredMs).toBeLessThan(15_000);
    expect((await lostMessages(p)).lost).toBe(0);
  });

  it('a 10 s cut: the pair goes reconnecting, restarts ICE, and recovers on the same connection with no message lost', async () => {
    const p = await setUp();
    const result = await cutOnce(p, link!, 10_000);
    process.stderr.write(`10 s cut: ${JSON.stringify(result)}\n`);
    expect(result).toMatchObject({
      sameConnection: true,
      hostSawLeave: false,
      peerSawLeave: false,
    });
    expect(result.hostPhases).toEqual(['reconnecting', 'connected']);
    expect(result.restarts).toBeGreaterThanOrEqual(1);
    expect(result.peerPhases.at(-1) ?? 'connected').toBe('connected');
    expect((await lostMessages(p)).lost).toBe(0);
  });

  // Longer than the grace plus every restart (≈ 2 + 3 × 5 s after the link is seen down): the pair
  // is given up and made anew. Soak-only (≈ 1 min): HEAL_SOAK=1 npm test -- spec/e2e/heal-linkcut.spec.ts
  (process.env.HEAL_SOAK === '1' ? it : it.skip)(
    'a 30 s cut: restarts run out; the pair is closed and made anew once the link is back',
    async () => {
      const p = await setUp();
      const result = await cutOnce(p, link!, 30_000, 60_000);
      process.stderr.write(`30 s cut: ${JSON.stringify(result)}\n`);
      expect(result.sameConnection).toBe(false);
      expect(result.hostSawLeave).toBe(true);
      expect(result.restarts).toBeGreaterThanOrEqual(0);
      expect(result.recoveredMs).toBeDefined();
    },
  );

  it("the member's address changes: signaling drops, the host sees it leave, and it comes back on a new connection", async () => {
    // Fast server pings, so that the member's dead socket is noticed in seconds instead of 45 s.
    const p = await setUp({ pingIntervalMs: 1000, pingTimeoutMs: 1000 });
    const left = new Promise<string>((resolve) => {
      const sub = p.host.userDisconnecting$.subscribe((id) => {
        sub.unsubscribe();
        resolve(id);
      });
    });
    const creates = p.receiver.pcCreates;
    const t0 = Date.now();
    const mark = (what: string): void => {
      if (process.env.HEAL_DEBUG === '1')
        process.stderr.write(`${what} at +${Date.now() - t0} ms\n`);
    };
    link!.moveFar();
    expect(await left).toBe(p.peerId);
    mark('host saw the member leave');
    // The member reconnects from its new address, rejoins, and a new connection carries its messages.
    await p.peer.next((e) => e.ev === 'pcCreate', 60_000);
    mark('member made a new connection');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('no message on the new connection within 30 s')),
        30_000,
      );
      const sub = p.receiver.message$.subscribe(() => {
        if (p.receiver.pcCreates <= creates) return;
        clearTimeout(timer);
        sub.unsubscribe();
        resolve();
      });
    });
    mark('messages on the new connection');
    expect(p.receiver.pcCreates).toBe(creates + 1);
  });
});
