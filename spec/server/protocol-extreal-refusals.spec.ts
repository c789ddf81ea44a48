/**
 * Issue 13, case 2: a refused `create host` never looks like success to an
 * Extreal client. Those clients treat only 409 as a failure, so a socket that
 * announced no capabilities gets every refusal as 409 with the real reason in
 * `message` (and `reason`); a socket that announced `status` (rxpeer) gets
 * the exact status, so rxpeer's typed errors stay exact. Socket-id-shaped
 * names are accepted, and capture nothing.
 */

import { ServerRejectedError } from '../../src/errors';
import { PeerClient } from '../../src/client/PeerClient';
import { InMemorySignalingState, StateUnavailableError } from '../../src/server/index.js';
import { createPeerConnection } from '../helpers/engine';
import { ExtrealPeer } from '../helpers/extrealPeer';
import { Harness, emitAck, type ClientSocket } from './helpers.js';

type CreateAck = { status: number; message: string; reason?: string };

/** What the Extreal JS and C# clients conclude from a `create host` answer (ExtrealPeer models the same). */
const extrealStarted = (response: CreateAck): boolean => response.status !== 409;

/** A backend that can be switched "down" for `create host`. */
class FlakyState extends InMemorySignalingState {
  down = false;
  override claimHost(socketId: string, name: string, key?: string) {
    if (this.down) return Promise.reject(new StateUnavailableError('switched off by the spec'));
    return super.claimHost(socketId, name, key);
  }
}

describe('create host refusals seen by Extreal clients and by rxpeer clients', () => {
  let h: Harness;
  let state: FlakyState;
  const peers: ExtrealPeer[] = [];

  beforeEach(async () => {
    state = new FlakyState();
    h = await Harness.start({ state, limits: { requestBurst: 3, maxHostsPerAddress: 3 } });
  });

  afterEach(async () => {
    for (const peer of peers.splice(0)) peer.socket.disconnect();
    await h.close();
    await state.close();
  });

  const extreal = (): ExtrealPeer => {
    const peer = new ExtrealPeer({ url: h.server.url });
    peers.push(peer);
    return peer;
  };
  const rxpeer = (): Promise<ClientSocket> => h.connect();

  it.each([
    ['empty', ''],
    ['whitespace only', '   '],
    ['65 code points', 'x'.repeat(65)],
    ['a zero-width space inside', 'Ro\u200Bom'],
    ['only a Hangul filler (renders blank)', '\u3164'],
    ['a line separator inside', 'Ro\u2028om'],
  ])(
    'a name that is %s: Extreal gets 409 with the reason, rxpeer gets 400',
    async (_label, name) => {
      const peer = extreal();
      const onExtreal = await peer.startHost(name);
      expect(peer.started).toBe(false);
      expect(peer.events).toEqual(['start failed']);
      expect(onExtreal).toEqual({
        status: 409,
        message: expect.stringMatching(/^Host name /),
        reason: 'bad-name',
      });
      expect(extrealStarted(onExtreal)).toBe(false);
      const onRxpeer = await h.createHost(await rxpeer(), name);
      expect(onRxpeer).toEqual({ status: 400, message: onExtreal.message, reason: 'bad-name' });
    },
  );

  it('one host per socket: the second name is 409 for Extreal, 400 for rxpeer', async () => {
    const peer = extreal();
    expect(extrealStarted(await peer.startHost('First'))).toBe(true);
    const second = await peer.startHost('Second');
    expect(second).toMatchObject({ status: 409, reason: 'wrong-role' });
    expect(second.message).toContain('one host per socket');
    const socket = await rxpeer();
    expect((await h.createHost(socket, 'Mine')).status).toBe(200);
    expect(await h.createHost(socket, 'Other')).toMatchObject({
      status: 400,
      reason: 'wrong-role',
    });
  });

  it('the request rate limit: 409 for Extreal, 429 for rxpeer', async () => {
    const peer = extreal();
    await peer.connected();
    const answers = await Promise.all(Array.from({ length: 4 }, () => peer.startHost('Mine')));
    expect(answers.slice(0, 3).every(extrealStarted)).toBe(true);
    expect(answers[3]).toMatchObject({ status: 409, reason: 'rate-limited' });
    const socket = await rxpeer();
    const exact = await Promise.all(
      Array.from({ length: 4 }, () => h.createHost(socket, 'Theirs')),
    );
    expect(exact[3]).toMatchObject({ status: 429, reason: 'rate-limited' });
  });

  it('the backend down: 409 for Extreal, 503 for rxpeer', async () => {
    state.down = true;
    const peer = extreal();
    const onExtreal = await peer.startHost('Room');
    expect(peer.events).toEqual(['start failed']);
    expect(onExtreal).toMatchObject({ status: 409, reason: 'unavailable' });
    expect(extrealStarted(onExtreal)).toBe(false);
    expect(await h.createHost(await rxpeer(), 'Room')).toMatchObject({
      status: 503,
      reason: 'unavailable',
    });
  });

  it('the per-address host quota (forbidden): 409 for Extreal, 403 for rxpeer', async () => {
    for (const name of ['A', 'B', 'C'])
      expect((await h.createHost(await rxpeer(), name)).status).toBe(200);
    const onExtreal = await extreal().startHost('D');
    expect(onExtreal).toMatchObject({ status: 409, reason: 'address-quota' });
    expect(await h.createHost(await rxpeer(), 'D')).toMatchObject({
      status: 403,
      reason: 'address-quota',
    });
    expect((await h.listHosts(await rxpeer())).map((host) => host.name)).toEqual(['A', 'B', 'C']);
  });

  it('a true conflict stays 409 for both', async () => {
    expect(extrealStarted(await extreal().startHost('Room'))).toBe(true);
    expect(await extreal().startHost('Room')).toMatchObject({ status: 409, reason: 'name-taken' });
    expect(await h.createHost(await rxpeer(), 'Room')).toMatchObject({
      status: 409,
      reason: 'name-taken',
    });
  });

  it("rxpeer's PeerClient announces the capability: a refused name rejects with ServerRejectedError 400", async () => {
    const client = new PeerClient({ url: h.server.url }, { createPeerConnection });
    try {
      const error = await client.startHost('Ro\u200Bom').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ServerRejectedError);
      expect(error).toMatchObject({ status: 400 });
    } finally {
      await client.dispose();
    }
  });

  it('a host named like another socket id captures nothing', async () => {
    const bystander = await rxpeer();
    const bystanderId = bystander.id as string;
    const host = await rxpeer();
    expect((await h.createHost(host, bystanderId)).status).toBe(200);
    expect((await h.createHost(await rxpeer(), 'Room-2024-01-01-ABCD')).status).toBe(200);
    const member = await rxpeer();
    // A join to the name goes to the bystander's id: not a host, refused.
    expect(await emitAck(member, 'message', { type: 'join', to: bystanderId })).toMatchObject({
      status: 403,
    });
    expect(await emitAck(member, 'message', { type: 'join', to: host.id })).toMatchObject({
      status: 200,
    });
    // A member of the host's group cannot reach the bystander through the name.
    expect(
      await emitAck(member, 'message', { type: 'offer', sdp: 'v=0', to: bystanderId }),
    ).toMatchObject({ status: 403 });
    await h.barrier(member, bystander);
    expect(h.of(bystander).messages).toEqual([]);
  });
});
