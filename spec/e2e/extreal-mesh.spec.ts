/**
 * Issue 13, case 1, on the real server with a real WebRTC engine: a mesh of
 * Extreal-shaped peers (vanilla ICE, no caps, leaves learnt only from
 * `user disconnected`). The host leaves; then a member's signaling drops
 * without a `bye`; the remaining members hear it within 1 s and close their
 * peer connection to it. Nobody new can join the group whose host left.
 * Also rxpeer's own client in such a mesh: it hears the leave too.
 */
import { useRealServer } from '../helpers/realServer';
import { ExtrealPeer } from '../helpers/extrealPeer';
import { attachChat } from '../helpers/chat';
import { next } from '../helpers/clientHarness';

jest.setTimeout(60_000);

const until = async (cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

const openTo = (peer: ExtrealPeer, ids: string[]): boolean =>
  ids.every((id) => peer.channels.get(id)?.readyState === 'open');

describe('a mesh whose host left (Extreal-shaped peers, real engine)', () => {
  const real = useRealServer();
  const extreal = (): ExtrealPeer => {
    const peer = new ExtrealPeer({ url: real.server.url });
    real.onCleanup(() => peer.stop());
    return peer;
  };

  it('the host leaves, then a member drops without a bye: the others hear it within 1 s', async () => {
    const host = extreal();
    expect((await host.startHost('Mesh')).status).toBe(200);
    const members = [extreal(), extreal(), extreal()];
    for (const member of members) {
      await member.startClient(host.id);
      await until(() => member.started, 15_000, 'a member to start');
    }
    const [a, b, c] = members as [ExtrealPeer, ExtrealPeer, ExtrealPeer];
    const ids = { host: host.id, a: a.id, b: b.id, c: c.id };
    await until(
      () =>
        openTo(a, [ids.host, ids.b, ids.c]) &&
        openTo(b, [ids.host, ids.a, ids.c]) &&
        openTo(c, [ids.host, ids.a, ids.b]),
      15_000,
      'the full mesh',
    );

    // The host leaves (its bye may be lost; the server's notice is what counts).
    host.stop();
    await until(
      () => members.every((m) => !m.pcs.has(ids.host)),
      2_000,
      'the members to drop the host',
    );
    // The members are still a mesh.
    expect(a.broadcast('still here')).toBe(2);
    await until(
      () =>
        b.received.some((r) => r.text === 'still here') &&
        c.received.some((r) => r.text === 'still here'),
      5_000,
      'P2P after the host left',
    );

    // c's signaling drops without a bye; its peer connections stay open, so
    // only the server's `user disconnected` can tell a and b.
    const t0 = Date.now();
    c.socket.disconnect();
    await until(() => !a.pcs.has(ids.c) && !b.pcs.has(ids.c), 1_000, 'a and b to hear that c left');
    const heard = Date.now() - t0;
    expect(heard).toBeLessThan(1_000);
    process.stdout.write(
      `extreal mesh: the others heard the member leave in ${heard} ms (host gone)\n`,
    );
    expect(a.events).toContain(`disconnecting ${ids.c}`);
    expect(b.events).toContain(`disconnecting ${ids.c}`);

    // Nobody new joins the group whose host left: a join to the old host id goes nowhere.
    const late = extreal();
    await late.startClient(ids.host);
    await new Promise((r) => setTimeout(r, 300));
    expect(a.pcs.size + b.pcs.size).toBe(2);
    expect(late.pcs.size).toBe(0);
  });

  it('an rxpeer member among Extreal members hears a member leave after the host left', async () => {
    const host = extreal();
    expect((await host.startHost('Mixed')).status).toBe(200);
    const old = extreal();
    await old.startClient(host.id);
    await until(() => old.started, 15_000, 'the Extreal member to start');
    const modern = real.client();
    const chat = attachChat(modern);
    const started = next(modern.started$, undefined, 15_000);
    await modern.startClient(host.id);
    await started;
    await chat.openTo([host.id, old.id]);
    host.stop();
    const oldId = old.id;
    const gone = next(modern.userDisconnecting$, (id) => id === oldId, 1_000);
    const t0 = Date.now();
    old.socket.disconnect();
    await gone;
    expect(Date.now() - t0).toBeLessThan(1_000);
  });
});
