/**
 * CHECKLIST rows 1–7: bad `message` payloads are dropped and counted, never
 * relayed to a room or to many sockets, never crash the server; relay stays
 * inside a group.
 */

import { Harness, disconnected, emitAck, waitFor, type ClientSocket } from './helpers.js';

describe('message payloads', () => {
  let h: Harness;
  let host: ClientSocket;
  let member: ClientSocket;
  let other: ClientSocket;
  let loner: ClientSocket;
  let everyone: ClientSocket[];

  beforeEach(async () => {
    h = await Harness.start();
    const room = await h.group('Room', 2);
    host = room.host;
    member = room.members[0]!;
    other = room.members[1]!;
    loner = await h.connect();
    const elsewhere = await h.group('Elsewhere', 1);
    everyone = [host, member, other, loner, elsewhere.host, elsewhere.members[0]!];
  });

  afterEach(async () => {
    await h.close();
  });

  /** Messages received since the group was formed (the joins are left out). */
  const relayedTo = (socket: ClientSocket): Record<string, unknown>[] =>
    h.of(socket).messages.filter((m) => m.type !== 'join');

  async function expectNobodyReceived(sender: ClientSocket): Promise<void> {
    await h.barrier(sender, ...everyone);
    for (const socket of everyone) expect(relayedTo(socket)).toEqual([]);
  }

  it.each([
    ['null', null],
    ['a string', 'offer'],
    ['a number', 42],
    ['an empty array', []],
    ['an array of messages', [{ type: 'offer', to: 'x' }]],
    ['an empty object', {}],
    ['a boolean', true],
  ])('drops a payload that is %s, counts it, and keeps the socket', async (_label, payload) => {
    member.emit('message', payload);
    await expectNobodyReceived(member);
    expect(h.server.stats().dropped.malformed).toBe(1);
    expect(member.connected).toBe(true);
  });

  it('drops a message event with no payload at all', async () => {
    member.emit('message');
    await expectNobodyReceived(member);
    expect(h.server.stats().dropped.malformed).toBe(1);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['a number', 7],
    ['an object', { id: 'x' }],
    ['null', null],
  ])('drops a message whose "to" is %s', async (_label, to) => {
    member.emit('message', { type: 'offer', sdp: 'v=0', to });
    await expectNobodyReceived(member);
    expect(h.server.stats().dropped.malformed).toBe(1);
  });

  it('never fans out a message whose "to" is an array of ids', async () => {
    member.emit('message', { type: 'offer', sdp: 'v=0', to: [host.id, other.id] });
    member.emit('message', { type: 'join', to: [host.id] });
    await expectNobodyReceived(member);
    expect(h.server.stats().dropped.malformed).toBe(2);
  });

  it('never broadcasts to a room: "to" equal to a host name reaches nobody', async () => {
    member.emit('message', { type: 'offer', sdp: 'v=0', to: 'Room' });
    loner.emit('message', { type: 'offer', sdp: 'v=0', to: 'Elsewhere' });
    await expectNobodyReceived(member);
    await expectNobodyReceived(loner);
    expect(h.server.stats().dropped['not-in-group']).toBe(2);
  });

  it('drops messages to a socket of another group and to one in no group', async () => {
    const [elsewhereHost, elsewhereMember] = [everyone[4]!, everyone[5]!];
    member.emit('message', { type: 'offer', sdp: 'v=0', to: elsewhereHost.id });
    member.emit('message', { type: 'offer', sdp: 'v=0', to: elsewhereMember.id });
    member.emit('message', { type: 'offer', sdp: 'v=0', to: loner.id });
    loner.emit('message', { type: 'offer', sdp: 'v=0', to: host.id });
    loner.emit('message', { type: 'call me', me: loner.id, to: member.id });
    await expectNobodyReceived(member);
    await expectNobodyReceived(loner);
    expect(h.server.stats().dropped['not-in-group']).toBe(5);
  });

  it('drops messages to oneself, to an unknown id and to a stale id', async () => {
    const gone = await h.connect();
    gone.emit('message', { type: 'join', to: host.id });
    await h.barrier(gone, host);
    const goneId = gone.id as string;
    await h.leave(gone);
    member.emit('message', { type: 'offer', sdp: 'v=0', to: member.id });
    member.emit('message', { type: 'offer', sdp: 'v=0', to: 'AAAAAAAAAAAAAAAAAAAA' });
    member.emit('message', { type: 'offer', sdp: 'v=0', to: goneId });
    await expectNobodyReceived(member);
    expect(h.server.stats().dropped.self).toBe(1);
    expect(h.server.stats().dropped['not-in-group']).toBe(2);
  });

  it('drops a join to something that is not a host, and a join from a host', async () => {
    loner.emit('message', { type: 'join', to: member.id });
    loner.emit('message', { type: 'join', to: 'Room' });
    host.emit('message', { type: 'join', to: everyone[4]!.id });
    await expectNobodyReceived(loner);
    await expectNobodyReceived(host);
    expect(h.server.stats().dropped['join-refused']).toBe(3);
    expect(await h.server.state.groupOf(loner.id as string)).toBeUndefined();
  });

  it('drops payloads with __proto__ or constructor keys whole, without polluting prototypes', async () => {
    const polluting = JSON.parse(
      `{"type":"offer","sdp":"v=0","to":"${host.id}","__proto__":{"polluted":true}}`,
    ) as Record<string, unknown>;
    const withConstructor = {
      type: 'offer',
      sdp: 'v=0',
      to: host.id,
      constructor: { prototype: { polluted: true } },
    };
    const nested = JSON.parse(
      `{"type":"candidate","to":"${host.id}","candidate":{"candidate":"c","__proto__":{"polluted":true}}}`,
    ) as Record<string, unknown>;
    member.emit('message', polluting);
    member.emit('message', withConstructor);
    member.emit('message', nested);
    await expectNobodyReceived(member);
    expect(h.server.stats().dropped.malformed).toBe(3);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it.each([
    ['sdp is a number', { sdp: 5 }],
    ['sdp is an object', { sdp: { sdp: 'v=0' } }],
    ['me is a number', { me: 1 }],
    ['me is an array', { me: ['x'] }],
    ['from is a number', { from: 3 }],
    ['type is missing', { type: undefined }],
    ['type is a number', { type: 1 }],
    ['type is empty', { type: '' }],
    ['caps is a string', { caps: 'trickle' }],
    ['caps holds a number', { caps: ['trickle', 1] }],
    ['candidate is a string', { candidate: 'candidate:1' }],
    ['candidate has no candidate string', { candidate: { sdpMid: '0' } }],
    [
      'candidate has a negative sdpMLineIndex',
      { candidate: { candidate: 'c', sdpMLineIndex: -1 } },
    ],
    ['to is over the length limit', { to: 'x'.repeat(300) }],
  ])('drops a message whose %s', async (_label, fields) => {
    member.emit('message', { type: 'offer', to: host.id, sdp: 'v=0', ...fields });
    await expectNobodyReceived(member);
    expect(h.server.stats().dropped.malformed).toBe(1);
  });

  it('cuts a socket off after repeated violations, and only that socket', async () => {
    const { maxStrikes } = h.server.limits;
    const cut = disconnected(loner);
    for (let i = 0; i <= maxStrikes; i += 1) loner.emit('message', null);
    expect(await cut).toBe('io server disconnect');
    expect(h.server.stats().cutOff).toBe(1);
    expect(h.server.stats().dropped.malformed).toBe(maxStrikes + 1);
    // Everyone else goes on.
    member.emit('message', { type: 'offer', sdp: 'v=0', to: host.id });
    await h.barrier(member, host);
    expect(relayedTo(host)).toEqual([{ type: 'offer', sdp: 'v=0', to: host.id, from: member.id }]);
  });

  it('acknowledges a message sent with an ack (an rxpeer extension) with why it was or was not relayed', async () => {
    expect(await emitAck(member, 'message', { type: 'offer', sdp: 'v=0', to: host.id })).toEqual({
      status: 200,
      message: 'Relayed.',
    });
    expect((await emitAck(member, 'message', null)).status).toBe(400);
    expect((await emitAck(member, 'message', { type: 'offer', to: member.id })).status).toBe(400);
    expect((await emitAck(member, 'message', { type: 'offer', to: loner.id })).status).toBe(403);
    expect((await emitAck(member, 'message', { type: 'join', to: loner.id })).status).toBe(403);
    expect(
      (await emitAck(member, 'message', { type: 'offer', to: host.id, sdp: 'a'.repeat(70_000) }))
        .status,
    ).toBe(413);
    expect((await emitAck(member, 'message')).status).toBe(400);
  });

  it('counts events outside the protocol and ignores them', async () => {
    member.emit('create room', 'x');
    member.emit('join', host.id);
    await expectNobodyReceived(member);
    expect(h.server.stats().unknownEvents).toBe(2);
    expect(member.connected).toBe(true);
  });

  it('refuses client events named "error" (null, nothing or an object) before dispatch, and serves everyone else (fuzz finding F1)', async () => {
    const gone = disconnected(member);
    member.emit('error', null);
    member.emit('error');
    member.emit('error', { message: { toString: 42 } });
    member.emit('error', 'text', 1, [2]);
    // The first one closes that connection (refused before Socket.IO dispatched it).
    await gone;
    await waitFor(() => h.server.stats().transport.refusedPackets['reserved-event'] >= 1);
    // The server still serves everyone else.
    expect(await emitAck(other, 'message', { type: 'offer', sdp: 'v=0', to: host.id })).toEqual({
      status: 200,
      message: 'Relayed.',
    });
  });
});
