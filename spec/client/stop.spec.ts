/**
 * Issue 13 #4: stop() closes the socket only after the server acknowledged
 * its byes, and no longer than requestTimeout; a server that acknowledges
 * no message (the reference server) is never waited for.
 */
import type { PeerClient } from '../../src/client/PeerClient';
import type { FakeSocket } from '../helpers/fakeSignaling';
import { harness, next, settle, type Harness } from '../helpers/clientHarness';

describe('stop() and its byes (fakes)', () => {
  let h: Harness;
  beforeEach(() => {
    h = harness();
  });
  afterEach(async () => {
    const held = h.hub.heldAcks ?? [];
    h.hub.heldAcks = undefined;
    for (const answer of held) answer();
    await h.disposeAll();
  });

  async function hostAndTwo(config = {}): Promise<{ host: PeerClient; hostId: string; ids: string[]; socket: FakeSocket }> {
    const host = h.make(config);
    const hs = next(host.started$);
    await host.startHost('room');
    const hostId = await hs;
    const ids: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      const c = h.make();
      const started = next(c.started$);
      await c.startClient(hostId);
      ids.push(await started);
    }
    await next(host.peers$, (m) => m.size === 2);
    return { host, hostId, ids, socket: h.hub.sockets.get(hostId)! };
  }

  it('keeps the socket open until the server acknowledged every bye', async () => {
    const { host, hostId, ids, socket } = await hostAndTwo();
    h.hub.heldAcks = [];
    let stopped = false;
    const stopping = host.stop().then(() => (stopped = true));
    expect(host.isRunning).toBe(false);
    await settle(5);
    expect(h.hub.trace((m) => m.type === 'bye').sort()).toEqual(ids.map((id) => `bye ${hostId}→${id}`).sort());
    expect(h.hub.heldAcks).toHaveLength(2);
    expect(socket.connected).toBe(true);
    h.hub.heldAcks.shift()!();
    await settle(5);
    expect(socket.connected).toBe(true);
    expect(stopped).toBe(false);
    h.hub.heldAcks.shift()!();
    await stopping;
    expect(socket.connected).toBe(false);
  });

  it('closes the socket at requestTimeout when the server stops answering', async () => {
    const { host, socket } = await hostAndTwo({ requestTimeout: 40 });
    h.hub.heldAcks = [];
    const began = Date.now();
    await host.stop();
    expect(Date.now() - began).toBeGreaterThanOrEqual(35);
    expect(socket.connected).toBe(false);
    expect(h.hub.heldAcks).toHaveLength(2);
  });

  it('closes the socket at once when it is not connected any more', async () => {
    const { host, hostId, socket } = await hostAndTwo();
    h.hub.heldAcks = [];
    h.hub.drop(hostId);
    await settle(2);
    await host.stop();
    expect(socket.connected).toBe(false);
    expect(h.hub.heldAcks).toEqual([]);
  });

  it('does not wait on a server that acknowledges no message (the reference server)', async () => {
    h.hub.ackMessages = false;
    const { host, hostId, ids, socket } = await hostAndTwo({ requestTimeout: 60_000 });
    const stopping = host.stop();
    expect(socket.connected).toBe(false);
    await stopping;
    expect(h.hub.trace((m) => m.type === 'bye').sort()).toEqual(ids.map((id) => `bye ${hostId}→${id}`).sort());
  });
});
