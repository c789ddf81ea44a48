/**
 * CHECKLIST 43 (issue 17 defects 1 and 2): no identity moves without proof
 * over that peer's own connection. A `join` naming another member is only a
 * hint; a control frame can only move its own sender, and never onto
 * someone else's id.
 */
import type { PeerClient } from '../../src/client/PeerClient';
import { IdentityClaimError, type RxpeerError } from '../../src/errors';
import { collect, harness, next, settle, type Harness } from '../helpers/clientHarness';
import type { FakeDataChannel, FakePeerConnection } from '../helpers/fakePeerConnection';
import type { FakeSocket } from '../helpers/fakeSignaling';

describe('identity takeover (fakes)', () => {
  let h: Harness;
  let extra: FakeSocket[];
  beforeEach(() => {
    h = harness();
    extra = [];
  });
  afterEach(async () => {
    for (const s of extra) s.disconnect();
    await h.disposeAll();
  });

  interface Mesh {
    host: PeerClient;
    hostId: string;
    m: PeerClient;
    mId: string;
    v: PeerClient;
    vId: string;
    a: PeerClient;
    aId: string;
    /** Each client's control channel it opened (offering side), by client and peer. */
    control: (client: PeerClient, peer: string) => FakeDataChannel;
    /** The control channel the peer opened to this client (answering side), opened now. */
    remoteControl: (client: PeerClient, peer: string) => FakeDataChannel;
  }

  /** Host, then members m, v and a (the attacker) joined in that order; all connected. */
  async function mesh(): Promise<Mesh> {
    const pcs = new Map<PeerClient, Map<string, FakePeerConnection>>();
    const make = (): PeerClient => {
      const c = h.make();
      const mine = new Map<string, FakePeerConnection>();
      pcs.set(c, mine);
      c.pcCreate$.subscribe(({ id, pc }) => mine.set(id, pc as unknown as FakePeerConnection));
      return c;
    };
    const host = make();
    const hs = next(host.started$);
    await host.startHost('room');
    const hostId = await hs;
    const join = async (): Promise<{ c: PeerClient; id: string }> => {
      const c = make();
      const started = next(c.started$);
      await c.startClient(hostId);
      return { c, id: await started };
    };
    const { c: m, id: mId } = await join();
    const { c: v, id: vId } = await join();
    const { c: a, id: aId } = await join();
    for (const c of [host, m, v, a]) await next(c.peers$, (p) => p.size === 3 && [...p.values()].every((s) => s.connectionState === 'connected'));
    const control = (client: PeerClient, peer: string): FakeDataChannel => {
      const channel = (pcs.get(client)!.get(peer)!.dataChannels as FakeDataChannel[]).find((d) => d.label === 'rxpeer-control')!;
      if (channel.readyState !== 'open') channel.open();
      return channel;
    };
    const remoteControl = (client: PeerClient, peer: string): FakeDataChannel => {
      const channel = pcs.get(client)!.get(peer)!.remoteChannel('rxpeer-control');
      channel.open();
      return channel;
    };
    return { host, hostId, m, mId, v, vId, a, aId, control, remoteControl };
  }

  /** A control frame as if the peer at the other end of `channel` sent it. */
  const frame = (channel: FakeDataChannel, data: unknown): void => channel.fire('message', { data: JSON.stringify(data) });

  /** A newcomer joins: the host asks every member to offer to it, at the id it knows them by. */
  async function newcomerCallMes(hostId: string): Promise<string[]> {
    const since = h.hub.sent.length;
    const n = h.make();
    const started = next(n.started$);
    await n.startClient(hostId);
    await started;
    await settle(5);
    return h.hub.trace((msg) => msg.type === 'call me', since).map((line) => line.replace(/ me=.*/, ''));
  }

  it('defect 1: a member that sends "join" naming another member does not take its place at the host', async () => {
    const { host, hostId, vId, aId, mId } = await mesh();
    const errors = collect(host.errors$);
    h.hub.inject(hostId, 'message', { type: 'join', from: aId, to: hostId, me: vId });
    await settle(5);
    expect((await next(host.peers$)).size).toBe(3);
    // The host still reaches v at v's socket: a newcomer's `call me` for v goes to v, not to a.
    expect((await newcomerCallMes(hostId)).sort()).toEqual([`call me ${hostId}→${aId}`, `call me ${hostId}→${mId}`, `call me ${hostId}→${vId}`].sort());
    // And a's own messages are still a's: its bye closes a, not v.
    h.hub.inject(hostId, 'message', { type: 'bye', from: aId, to: hostId });
    await next(host.peers$, (p) => !p.has(aId));
    expect((await next(host.peers$)).has(vId)).toBe(true);
    expect(errors.values).toEqual([]);
  });

  it('defect 1, fresh socket: a stranger socket naming a member in "join" moves nothing until that member confirms', async () => {
    const { host, hostId, vId, mId, aId } = await mesh();
    const stranger = h.hub.createSocket();
    extra.push(stranger);
    stranger.connect();
    await settle();
    stranger.emit('message', { type: 'join', to: hostId, me: vId });
    await settle(5);
    expect([...(await next(host.peers$)).keys()].sort()).toEqual([mId, vId, aId].sort());
    expect((await newcomerCallMes(hostId)).filter((l) => l.includes(stranger.id))).toEqual([]);
  });

  it('defect 2: a control frame naming another peer\'s id is refused with a typed error (host and member)', async () => {
    const { host, hostId, m, mId, vId, aId, control } = await mesh();
    const hostErrors = collect(host.errors$);
    const memberErrors = collect(m.errors$);
    // a tells the host, and then member m (which offered to a), that it is now at v's id.
    frame(control(host, aId), { t: 'id', id: vId });
    frame(control(m, aId), { t: 'id', id: vId });
    // … and at the host's or m's own id.
    frame(control(host, aId), { t: 'id', id: hostId });
    frame(control(m, aId), { t: 'id', id: mId });
    await settle(5);
    expect(hostErrors.values.map((e: RxpeerError) => e.constructor)).toEqual([IdentityClaimError, IdentityClaimError]);
    expect(memberErrors.values.map((e: RxpeerError) => e.constructor)).toEqual([IdentityClaimError, IdentityClaimError]);
    expect(hostErrors.values[0]).toMatchObject({ code: 'IDENTITY_REFUSED', peerId: aId, claimedId: vId });
    // v's messages are still v's: its bye closes v at the host and at m, a stays.
    h.hub.inject(hostId, 'message', { type: 'bye', from: vId, to: hostId });
    h.hub.inject(mId, 'message', { type: 'bye', from: vId, to: mId });
    await next(host.peers$, (p) => !p.has(vId));
    await next(m.peers$, (p) => !p.has(vId));
    expect((await next(host.peers$)).has(aId)).toBe(true);
    expect((await next(m.peers$)).has(aId)).toBe(true);
  });

  it("defect 2, a newcomer's id: a peer that claimed it first loses the claim when the host introduces the newcomer", async () => {
    const { host, hostId, m, aId, control } = await mesh();
    const errors = collect(m.errors$);
    // a learns a newcomer's id before m does and claims it over its channel with m.
    const n = h.make();
    const nStarted = next(n.started$);
    const createSocket = h.hub.createSocket;
    let nSocket: FakeSocket | undefined;
    h.hub.createSocket = () => (nSocket = createSocket());
    const starting = n.startClient(hostId);
    const nId = nSocket!.id;
    frame(control(m, aId), { t: 'id', id: nId });
    await starting;
    await nStarted;
    // m still meshes with the newcomer, and a is still a.
    await next(m.peers$, (p) => p.get(nId)?.connectionState === 'connected' && p.get(aId)?.connectionState === 'connected');
    expect(errors.values.map((e) => e.code)).toEqual(['IDENTITY_REFUSED']);
    expect((await next(host.peers$)).size).toBe(4);
  });

  it("a member that claims the host's new id before the host does loses it to the host", async () => {
    const { hostId, m, mId, aId, control, remoteControl } = await mesh();
    const errors = collect(m.errors$);
    const fromHost = remoteControl(m, hostId);
    await settle(2);
    const moved = h.hub.createSocket();
    extra.push(moved);
    moved.connect();
    await settle();
    frame(control(m, aId), { t: 'id', id: moved.id });
    await settle(2);
    frame(fromHost, { t: 'id', id: moved.id });
    await settle(5);
    expect(errors.values).toHaveLength(1);
    expect(errors.values[0]).toMatchObject({ code: 'IDENTITY_REFUSED', peerId: aId, claimedId: moved.id });
    // m rejoins the host at its new id, and reaches a at a's own socket again.
    expect(h.hub.trace((msg) => msg.type === 'join' && msg.to === moved.id)).toEqual([`join ${mId}→${moved.id} me=${mId}`]);
    const since = h.hub.sent.length;
    await m.stop();
    const byes = h.hub.trace((msg) => msg.type === 'bye', since);
    expect(byes).toHaveLength(3);
    expect(byes).toEqual(expect.arrayContaining([`bye ${mId}→${moved.id}`, `bye ${mId}→${aId}`]));
    expect(byes).not.toContain(`bye ${mId}→${hostId}`);
  });

  it('an honest move is taken once both agree, in either order: the claim over its channel and a join from the new id', async () => {
    const { host, hostId, vId, mId, aId, control } = await mesh();
    const errors = collect(host.errors$);
    for (const [who, claimFirst] of [
      [vId, true],
      [mId, false],
    ] as const) {
      const moved = h.hub.createSocket();
      extra.push(moved);
      moved.connect();
      await settle();
      const claim = (): void => frame(control(host, who), { t: 'id', id: moved.id });
      if (claimFirst) claim();
      await settle(2);
      moved.emit('message', { type: 'join', to: hostId, me: who });
      await settle(2);
      if (!claimFirst) claim();
      await settle(5);
    }
    const lines = await newcomerCallMes(hostId);
    expect(lines).toHaveLength(3);
    expect(lines).not.toContain(`call me ${hostId}→${vId}`);
    expect(lines).not.toContain(`call me ${hostId}→${mId}`);
    expect(lines).toContain(`call me ${hostId}→${aId}`);
    expect((await next(host.peers$)).size).toBe(4);
    expect(errors.values).toEqual([]);
  });
});
