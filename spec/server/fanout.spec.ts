/**
 * CHECKLIST rows 21–22, scaled from 10k/3,000 sockets down to 300: a leave is
 * told to the leaver's group only, so the work is O(group size), not
 * O(sockets). `stats().userDisconnectedSent` counts deliveries.
 */

import { Harness, type ClientSocket } from './helpers.js';

const GROUPS = 10;
const MEMBERS = 29; // 10 groups × (1 host + 29 members) = 300 sockets

describe('leave notices at scale (300 sockets)', () => {
  let h: Harness;
  let groups: { host: ClientSocket; members: ClientSocket[] }[];

  beforeAll(async () => {
    h = await Harness.start();
    groups = [];
    for (let g = 0; g < GROUPS; g += 1) {
      const host = await h.connect();
      expect((await h.createHost(host, `Group ${g}`)).status).toBe(200);
      const members = await h.connectMany(MEMBERS);
      for (const member of members) member.emit('message', { type: 'join', to: host.id });
      await h.barrier(...members);
      groups.push({ host, members });
    }
    expect(h.server.stats().sockets).toBe(GROUPS * (MEMBERS + 1));
    expect(await h.server.state.size()).toEqual({
      hosts: GROUPS,
      groups: GROUPS,
      members: GROUPS * MEMBERS,
    });
  }, 60_000);

  afterAll(async () => {
    await h.close();
  });

  const everyone = (): ClientSocket[] =>
    groups.flatMap((g) => [g.host, ...g.members]).filter((s) => s.connected);

  it('tells only the group when one member leaves: host and other members, group size − 1 deliveries', async () => {
    const before = h.server.stats().userDisconnectedSent;
    const group = groups[0]!;
    const leaver = group.members[0]!;
    const leaverId = leaver.id as string;
    await h.leave(leaver);
    await h.barrier(...everyone());
    expect(h.server.stats().userDisconnectedSent - before).toBe(MEMBERS); // host + 28 other members
    for (const socket of [group.host, ...group.members.slice(1)])
      expect(h.of(socket).leaves).toEqual([leaverId]);
    for (const other of groups.slice(1))
      for (const socket of [other.host, ...other.members]) expect(h.of(socket).leaves).toEqual([]);
  });

  it('tells every member when a host leaves, and nobody else', async () => {
    const before = h.server.stats().userDisconnectedSent;
    const group = groups[1]!;
    const hostId = group.host.id as string;
    await h.leave(group.host);
    await h.barrier(...everyone());
    expect(h.server.stats().userDisconnectedSent - before).toBe(MEMBERS);
    for (const member of group.members) expect(h.of(member).leaves).toEqual([hostId]);
    for (const other of groups.slice(2))
      for (const socket of [other.host, ...other.members]) expect(h.of(socket).leaves).toEqual([]);
    expect((await h.listHosts(groups[2]!.host)).map((host) => host.name)).not.toContain('Group 1');
  });

  it('keeps the work O(group size) when half the sockets leave at once', async () => {
    const before = h.server.stats().userDisconnectedSent;
    // Half of every remaining group (groups 2…9) leaves at once.
    const leaving = groups
      .slice(2)
      .flatMap((g) => g.members.slice(0, Math.ceil(g.members.length / 2)));
    const leavingIds = new Set(leaving.map((socket) => socket.id as string));
    const started = Date.now();
    await Promise.all(leaving.map((socket) => h.leave(socket)));
    await h.barrier(...everyone());
    const deliveries = h.server.stats().userDisconnectedSent - before;
    // Each leaver is told to at most the rest of its group (30 − 1); the
    // reference server would have made ~ leavers × sockets deliveries.
    expect(deliveries).toBeLessThanOrEqual(leaving.length * MEMBERS);
    expect(leavingIds.size).toBe(leaving.length);
    expect(deliveries).toBeLessThan((leaving.length * 300) / 5);
    expect(Date.now() - started).toBeLessThan(10_000);
    for (const group of groups.slice(2)) {
      const stayed = group.members.slice(Math.ceil(group.members.length / 2));
      const left = group.members.slice(0, Math.ceil(group.members.length / 2));
      for (const socket of [group.host, ...stayed]) {
        // Told of exactly its own group's leavers.
        expect(h.of(socket).leaves).toHaveLength(left.length);
        expect(h.of(socket).leaves.every((id) => leavingIds.has(id))).toBe(true);
      }
    }
  }, 30_000);

  it('empties the host index and groups once everyone is gone', async () => {
    await Promise.all(everyone().map((socket) => h.leave(socket)));
    expect(await h.server.state.size()).toEqual({ hosts: 0, groups: 0, members: 0 });
    expect(h.server.stats().sockets).toBe(0);
  }, 30_000);
});
