/**
 * PROTOCOL.md §2–4, replayed with the exact event sequences the Extreal
 * JavaScript client (socket.io-client, absent fields left out) and the
 * Extreal C# client (every field serialized, absent ones as null) send.
 */

import { Harness, emitAck, fakeSdp } from './helpers.js';

describe('signaling protocol (Extreal clients)', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await Harness.start();
  });

  afterEach(async () => {
    await h.close();
  });

  it('answers create host with 200 and a duplicate name from another socket with 409', async () => {
    const host = await h.connect();
    const other = await h.connect();
    const created = await h.createHost(host, 'Room');
    expect(created).toEqual({ status: 200, message: expect.any(String) });
    const duplicate = await h.createHost(other, 'Room');
    expect(duplicate).toEqual({
      status: 409,
      message: expect.stringContaining('Room'),
      reason: 'name-taken',
    });
  });

  it('lists hosts as { id: socket id, name }, and an empty array when there are none', async () => {
    const host = await h.connect();
    const client = await h.connect();
    expect(await emitAck(client, 'list hosts')).toEqual({ status: 200, hosts: [] });
    await h.createHost(host, 'Room');
    expect(await emitAck(client, 'list hosts')).toEqual({
      status: 200,
      hosts: [{ id: host.id, name: 'Room' }],
    });
  });

  it('runs the JavaScript client sequence: join, offer, answer, done, call me, member offers, bye, leave', async () => {
    const host = await h.connect();
    const first = await h.connect();
    const second = await h.connect();
    const stranger = await h.connect();
    await h.createHost(host, 'Room');
    const [hostId, firstId, secondId] = [host.id, first.id, second.id] as string[];

    // First client joins; host offers, client answers, host says done.
    first.emit('message', { type: 'join', to: hostId });
    await h.barrier(first, host);
    expect(h.of(host).messages).toEqual([{ type: 'join', to: hostId, from: firstId }]);

    host.emit('message', { type: 'offer', sdp: fakeSdp(500), to: firstId });
    await h.barrier(host, first);
    first.emit('message', { type: 'answer', sdp: fakeSdp(400), to: hostId });
    await h.barrier(first, host);
    host.emit('message', { type: 'done', to: firstId });
    await h.barrier(host, first);
    expect(h.of(first).messages).toEqual([
      { type: 'offer', sdp: fakeSdp(500), to: firstId, from: hostId },
      { type: 'done', to: firstId, from: hostId },
    ]);
    expect(h.of(host).messages[1]).toEqual({
      type: 'answer',
      sdp: fakeSdp(400),
      to: hostId,
      from: firstId,
    });

    // Second client joins; the host tells the first member to call it.
    second.emit('message', { type: 'join', to: hostId });
    await h.barrier(second, host);
    host.emit('message', { type: 'offer', sdp: fakeSdp(300), to: secondId });
    host.emit('message', { type: 'call me', me: secondId, to: firstId });
    await h.barrier(host, first, second);
    expect(h.of(first).messages[2]).toEqual({
      type: 'call me',
      me: secondId,
      to: firstId,
      from: hostId,
    });

    // Member to member: the first member offers to the second.
    first.emit('message', { type: 'offer', sdp: fakeSdp(200), to: secondId });
    await h.barrier(first, second);
    second.emit('message', { type: 'answer', sdp: fakeSdp(100), to: firstId });
    await h.barrier(second, first);
    first.emit('message', { type: 'done', to: secondId });
    await h.barrier(first, second);
    expect(h.of(second).messages.map((m) => [m.type, m.from])).toEqual([
      ['offer', hostId],
      ['offer', firstId],
      ['done', firstId],
    ]);
    expect(h.of(first).messages[3]).toEqual({
      type: 'answer',
      sdp: fakeSdp(100),
      to: firstId,
      from: secondId,
    });

    // Stop: bye to every peer, then the socket closes; only the group hears of it.
    first.emit('message', { type: 'bye', to: hostId });
    first.emit('message', { type: 'bye', to: secondId });
    await h.barrier(first);
    await h.leave(first);
    await h.barrier(host, second, stranger);
    expect(h.of(host).messages.at(-1)).toEqual({ type: 'bye', to: hostId, from: firstId });
    expect(h.of(second).messages.at(-1)).toEqual({ type: 'bye', to: secondId, from: firstId });
    expect(h.of(host).leaves).toEqual([firstId]);
    expect(h.of(second).leaves).toEqual([firstId]);
    expect(h.of(stranger).leaves).toEqual([]);
    expect(h.of(stranger).messages).toEqual([]);
  });

  it('accepts the C# client messages, where absent fields are null, and relays the nulls', async () => {
    const host = await h.connect();
    const client = await h.connect();
    await h.createHost(host, 'Unity');
    const [hostId, clientId] = [host.id, client.id] as string[];

    client.emit('message', { type: 'join', from: null, to: hostId, me: null, sdp: null });
    await h.barrier(client, host);
    expect(h.of(host).messages).toEqual([
      { type: 'join', from: clientId, to: hostId, me: null, sdp: null },
    ]);

    host.emit('message', { type: 'offer', from: null, to: clientId, me: null, sdp: fakeSdp(800) });
    await h.barrier(host, client);
    client.emit('message', { type: 'answer', from: null, to: hostId, me: null, sdp: fakeSdp(700) });
    host.emit('message', { type: 'done', from: null, to: clientId, me: null, sdp: null });
    await h.barrier(client, host, client);
    expect(h.of(client).messages).toEqual([
      { type: 'offer', from: hostId, to: clientId, me: null, sdp: fakeSdp(800) },
      { type: 'done', from: hostId, to: clientId, me: null, sdp: null },
    ]);
    expect(h.of(host).messages[1]).toEqual({
      type: 'answer',
      from: clientId,
      to: hostId,
      me: null,
      sdp: fakeSdp(700),
    });
  });

  it('sets from to the sender and relays only the known fields', async () => {
    const { host, members } = await h.group('Room', 1);
    const member = members[0]!;
    member.emit('message', {
      type: 'offer',
      to: host.id,
      from: 'someone-else',
      sdp: 'v=0',
      extra: 'dropped',
      caps: ['trickle', 'future-cap'],
      candidate: {
        candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host',
        sdpMid: '0',
        sdpMLineIndex: 0,
        junk: 1,
      },
    });
    await h.barrier(member, host);
    expect(h.of(host).messages.at(-1)).toEqual({
      type: 'offer',
      to: host.id,
      from: member.id,
      sdp: 'v=0',
      caps: ['trickle', 'future-cap'],
      candidate: {
        candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host',
        sdpMid: '0',
        sdpMLineIndex: 0,
        usernameFragment: null,
      },
    });
  });

  it('relays a candidate of null (end of candidates) and unknown types within the group', async () => {
    const { host, members } = await h.group('Room', 1);
    const member = members[0]!;
    member.emit('message', { type: 'candidate', to: host.id, candidate: null });
    member.emit('message', { type: 'some future type', to: host.id, payload: 'ignored' });
    await h.barrier(member, host);
    expect(h.of(host).messages.slice(-2)).toEqual([
      { type: 'candidate', to: host.id, from: member.id, candidate: null },
      { type: 'some future type', to: host.id, from: member.id },
    ]);
  });

  it('removes a host that leaves from list hosts at once and tells every member', async () => {
    const { host, members } = await h.group('Room', 2);
    const hostId = host.id as string;
    const lister = await h.connect();
    await h.leave(host);
    await h.barrier(...members);
    for (const member of members) expect(h.of(member).leaves).toEqual([hostId]);
    expect(await h.listHosts(lister)).toEqual([]);
    expect(h.of(lister).leaves).toEqual([]);
    // The name is free again.
    expect((await h.createHost(lister, 'Room')).status).toBe(200);
  });

  it('keeps the members a group after the host left (issue 13 case 1): they relay and hear each other leave; nobody joins', async () => {
    const { host, members } = await h.group('Room', 3);
    const hostId = host.id as string;
    const [a, b, c] = members as [typeof host, typeof host, typeof host];
    await h.leave(host);
    // Messages between the remaining members still relay.
    expect(await emitAck(a, 'message', { type: 'offer', sdp: 'v=0', to: b.id })).toEqual({
      status: 200,
      message: 'Relayed.',
    });
    // Nobody new can join the group, not even by the old host's id.
    const late = await h.connect();
    expect(await emitAck(late, 'message', { type: 'join', to: hostId })).toMatchObject({
      status: 403,
    });
    expect(await emitAck(late, 'message', { type: 'offer', sdp: 'v=0', to: a.id })).toMatchObject({
      status: 403,
    });
    // A member that leaves is announced to the others (and only to them).
    const cId = c.id as string;
    await h.leave(c);
    await h.barrier(a, b, late);
    expect(h.of(a).leaves).toEqual([hostId, cId]);
    expect(h.of(b).leaves).toEqual([hostId, cId]);
    expect(h.of(late).leaves).toEqual([]);
    // Until the last one leaves; then the state is empty.
    const aId = a.id as string;
    await h.leave(a);
    await h.barrier(b);
    expect(h.of(b).leaves).toEqual([hostId, cId, aId]);
    await h.leave(b);
    expect(await h.server.state.size()).toEqual({ hosts: 0, groups: 0, members: 0 });
  });

  it('moves a client that joins a second host into that group and tells the first group', async () => {
    const a = await h.group('A', 1);
    const b = await h.group('B', 0);
    const mover = a.members[0]!;
    const moverId = mover.id as string;
    mover.emit('message', { type: 'join', to: b.host.id });
    await h.barrier(mover, a.host, b.host);
    expect(h.of(a.host).leaves).toEqual([moverId]);
    expect(h.of(b.host).messages.at(-1)).toEqual({ type: 'join', to: b.host.id, from: moverId });
    mover.emit('message', { type: 'offer', sdp: 'v=0', to: a.host.id });
    await h.barrier(mover, a.host);
    expect(h.of(a.host).messages.filter((m) => m.type === 'offer')).toEqual([]);
  });
});
