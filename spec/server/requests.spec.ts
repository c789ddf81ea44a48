/**
 * CHECKLIST rows 8–14: `create host` and `list hosts` with bad acks, bad
 * names, unicode, one host per socket, races (sockets announce `status`:
 * exact statuses; the Extreal view is in protocol-extreal-refusals.spec.ts).
 */

import { Harness, disconnected, emitAck, type ClientSocket } from './helpers.js';

describe('create host and list hosts', () => {
  let h: Harness;
  let socket: ClientSocket;

  beforeEach(async () => {
    h = await Harness.start();
    socket = await h.connect();
  });

  afterEach(async () => {
    await h.close();
  });

  it('ignores create host and list hosts without an ack or with an ack that is not a function', async () => {
    socket.emit('create host', 'NoAck');
    socket.emit('create host', 'NotAFunction', 42);
    socket.emit('create host');
    socket.emit('list hosts');
    socket.emit('list hosts', 'not a function');
    expect(await h.listHosts(socket)).toEqual([]);
    expect(h.server.stats().rejected['no-ack']).toBe(5);
    expect(socket.connected).toBe(true);
  });

  it('finds the ack as the last argument, whatever comes between', async () => {
    expect(await emitAck(socket, 'list hosts', 'extra', { junk: true })).toEqual({
      status: 200,
      hosts: [],
    });
    expect((await emitAck(socket, 'create host', 'Room', 'extra')).status).toBe(200);
  });

  it.each([
    ['a number', 42, 'must be a string'],
    ['an object', { name: 'Room' }, 'must be a string'],
    ['an array', ['Room'], 'must be a string'],
    ['null', null, 'must be a string'],
    ['a boolean', true, 'must be a string'],
  ])('answers 400 to a name that is %s', async (_label, name, why) => {
    const response = await h.createHost(socket, name);
    expect(response).toEqual({
      status: 400,
      message: expect.stringContaining(why),
      reason: 'bad-name',
    });
    expect(await h.listHosts(socket)).toEqual([]);
  });

  it('answers 400 when the name is missing', async () => {
    const response = await emitAck(socket, 'create host');
    expect(response).toEqual({
      status: 400,
      message: expect.stringContaining('must be a string'),
      reason: 'bad-name',
    });
  });

  it.each([
    ['empty', '', 'empty'],
    ['whitespace only', '   ', 'visible character'],
    ['tabs and newlines only', '\t\n', 'control character'],
    ['ideographic spaces only', '\u3000\u3000', 'visible character'],
    ['a BEL control character', 'Room\u0007', 'control character'],
    ['a NUL', 'Ro\u0000om', 'control character'],
    ['a C1 control character', 'Room\u0085', 'control character'],
    ['a zero-width space', 'Ro\u200Bom', 'format character'],
    ['a BOM', '\uFEFFRoom', 'format character'],
    ['a bidi override', 'Room\u202E', 'format character'],
    ['only a zero-width joiner', '\u200D', 'visible character'],
    ['a lone high surrogate', 'Room\uD800', 'lone surrogate'],
    ['a lone low surrogate', '\uDC00Room', 'lone surrogate'],
    ['65 characters', 'x'.repeat(65), 'longer than 64'],
    ['65 emoji (code points, not UTF-16 units)', '😀'.repeat(65), 'longer than 64'],
  ])('answers 400 to a name that is %s', async (_label, name, why) => {
    const response = await h.createHost(socket, name);
    expect(response).toEqual({
      status: 400,
      message: expect.stringContaining(why),
      reason: 'bad-name',
    });
  });

  it('answers 400 to a 0.9 MB name, and a frame over maxHttpBufferSize closes only that socket', async () => {
    const other = await h.connect();
    expect((await h.createHost(socket, 'x'.repeat(900_000))).status).toBe(400);
    const closed = disconnected(socket);
    socket.emit('create host', 'x'.repeat(1_100_000), () => undefined);
    await closed;
    expect(other.connected).toBe(true);
    expect((await h.createHost(other, 'Still here')).status).toBe(200);
  });

  it('accepts 64 characters and 64 emoji', async () => {
    const second = await h.connect();
    expect((await h.createHost(socket, 'x'.repeat(64))).status).toBe(200);
    expect((await h.createHost(second, '😀'.repeat(64))).status).toBe(200);
  });

  it('normalizes names to NFC: an NFD name is listed in NFC and collides with its NFC twin', async () => {
    const second = await h.connect();
    const nfd = 'Cafe\u0301';
    const nfc = 'Caf\u00E9';
    expect((await h.createHost(socket, nfd)).status).toBe(200);
    expect(await h.listHosts(socket)).toEqual([{ id: socket.id, name: nfc }]);
    expect((await h.createHost(second, nfc)).status).toBe(409);
    // Repeating the NFD form from the same socket is the same name: idempotent.
    expect((await h.createHost(socket, nfd)).status).toBe(200);
  });

  it('round-trips emoji sequences with zero-width joiners, and non-Latin names', async () => {
    const names = ['👨‍👩‍👧 family', 'خانه', 'ルーム 1', '  spaced  '];
    const sockets = [socket, ...(await Promise.all(names.slice(1).map(() => h.connect())))];
    for (const [i, name] of names.entries())
      expect((await h.createHost(sockets[i]!, name)).status).toBe(200);
    expect((await h.listHosts(socket)).map((host) => host.name)).toEqual(names);
  });

  it('accepts names shaped like socket ids (issue 13 case 2): Room-2024-01-01-ABCD and a live id', async () => {
    const other = await h.connect();
    const third = await h.connect();
    expect((await h.createHost(socket, 'Room-2024-01-01-ABCD')).status).toBe(200);
    expect((await h.createHost(third, other.id)).status).toBe(200);
  });

  it('lets a socket host one name: a repeat is 200, another name 400', async () => {
    expect(await h.createHost(socket, 'Mine')).toEqual({
      status: 200,
      message: expect.any(String),
    });
    expect(await h.createHost(socket, 'Mine')).toEqual({
      status: 200,
      message: expect.any(String),
    });
    const responses = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => h.createHost(socket, `Other ${i}`)),
    );
    expect(
      responses.every((r) => r.status === 400 && r.message.includes('one host per socket')),
    ).toBe(true);
    expect(await h.listHosts(socket)).toEqual([{ id: socket.id, name: 'Mine' }]);
  });

  it('refuses to make a member of a group a host', async () => {
    const { host, members } = await h.group('Room', 1);
    expect(await h.createHost(members[0]!, 'Mine')).toEqual({
      status: 400,
      message: expect.stringContaining('joined a group'),
      reason: 'wrong-role',
    });
    expect(await h.listHosts(host)).toEqual([{ id: host.id, name: 'Room' }]);
  });

  it('gives exactly one 200 when sockets race for one name', async () => {
    const racers = await h.connectMany(20);
    const responses = await Promise.all(racers.map((racer) => h.createHost(racer, 'Contested')));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(1);
    expect(responses.filter((r) => r.status === 409)).toHaveLength(19);
    const winner = racers[responses.findIndex((r) => r.status === 200)]!;
    expect(await h.listHosts(socket)).toEqual([{ id: winner.id, name: 'Contested' }]);
  });
});
