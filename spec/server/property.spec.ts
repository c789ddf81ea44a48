/**
 * Property-based: 2,000 random payloads per event (`message`, `create host`,
 * `list hosts`) against a real server. The process stays up, every ack is
 * well-formed, nothing leaves the group or reaches the sender, relayed
 * messages carry only known fields with `from` set by the server, and after
 * everyone disconnects the host index and the groups are empty.
 */

import fc from 'fast-check';
import { RELAYED_FIELDS } from '../../src/server/index.js';
import { Harness, emitAck, waitFor, type ClientSocket } from './helpers.js';

const RUNS = 40;
const PER_RUN = 50; // 40 × 50 = 2,000 payloads per event

/** Anything JSON (and binary) can carry, including hostile shapes. */
const junk = fc.oneof(
  fc.anything({ maxDepth: 2, withNullPrototype: false }),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.uint8Array({ maxLength: 32 }).map((bytes) => Buffer.from(bytes)),
  fc.constant(JSON.parse('{"__proto__":{"polluted":true},"type":"offer","to":"x"}') as unknown),
);

function messageArbitrary(ids: string[]): fc.Arbitrary<unknown> {
  const to = fc.oneof(
    fc.constantFrom(...ids),
    fc.constantFrom('Room', '', 'AAAAAAAAAAAAAAAAAAAA'),
    fc.array(fc.constantFrom(...ids), { maxLength: 3 }),
    junk,
  );
  const type = fc.oneof(
    fc.constantFrom('join', 'call me', 'offer', 'answer', 'done', 'bye', 'candidate', 'unknown'),
    junk,
  );
  const optional = fc.oneof(fc.constant(null), fc.string({ maxLength: 40 }), junk);
  const structured = fc.record(
    {
      type,
      to,
      from: optional,
      sdp: optional,
      me: fc.oneof(fc.constantFrom(...ids), optional),
      caps: fc.oneof(fc.array(fc.string({ maxLength: 10 }), { maxLength: 4 }), junk),
      candidate: fc.oneof(
        fc.constant(null),
        fc.record(
          {
            candidate: fc.string({ maxLength: 40 }),
            sdpMid: fc.oneof(fc.string({ maxLength: 4 }), fc.constant(null)),
            sdpMLineIndex: fc.oneof(fc.integer({ min: -2, max: 3 }), fc.constant(null)),
          },
          { requiredKeys: ['candidate'] },
        ),
        junk,
      ),
      extra: junk,
    },
    { requiredKeys: [] },
  );
  return fc.oneof({ weight: 3, arbitrary: structured }, { weight: 1, arbitrary: junk });
}

/** Arguments of an event: 0–3 random values, sometimes followed by an ack. */
const argsArbitrary = (
  first: fc.Arbitrary<unknown>,
): fc.Arbitrary<{ args: unknown[]; withAck: boolean }> =>
  fc.record({
    args: fc.oneof(fc.tuple(first), fc.array(junk, { maxLength: 3 })),
    withAck: fc.boolean(),
  });

const isStatus = (value: unknown): boolean =>
  typeof value === 'number' && [200, 400, 403, 409, 413, 429].includes(value);

function expectCreateHostAck(response: unknown): void {
  const r = response as { status: number; reason?: unknown };
  expect(response).toEqual({
    status: expect.any(Number),
    message: expect.any(String),
    ...(r.status === 200 ? {} : { reason: expect.any(String) }),
  });
  expect([200, 400, 409]).toContain(r.status);
}

function expectListHostsAck(response: unknown): void {
  const r = response as { status: number; hosts: { id: unknown; name: unknown }[] };
  expect(r.status).toBe(200);
  expect(Array.isArray(r.hosts)).toBe(true);
  for (const host of r.hosts) {
    expect(Object.keys(host).sort()).toEqual(['id', 'name']);
    expect(typeof host.id).toBe('string');
    expect(typeof host.name).toBe('string');
  }
}

describe('random payloads (property-based)', () => {
  let h: Harness;
  let host: ClientSocket;
  let sender: ClientSocket;
  let peer: ClientSocket;
  let stranger: ClientSocket;
  let creator: ClientSocket;

  beforeAll(async () => {
    // Violations are the point here: let nobody be cut off or rate-limited. Payloads
    // carry up to a dozen Buffers (binary attachments), which the packet guard would
    // refuse with its default maxEventArgs (transport-framing.spec.ts covers that).
    h = await Harness.start({
      limits: {
        maxStrikes: Infinity,
        messageBurst: Infinity,
        requestBurst: Infinity,
        maxEventArgs: 64,
      },
    });
    const room = await h.group('Room', 2);
    host = room.host;
    sender = room.members[0]!;
    peer = room.members[1]!;
    stranger = await h.connect();
    creator = await h.connect();
  });

  afterAll(async () => {
    await h.close();
  });

  it('relays nothing outside the group, only known fields, with from set by the server', async () => {
    const ids = [host.id, sender.id, peer.id, stranger.id] as string[];
    await fc.assert(
      fc.asyncProperty(
        fc.array(argsArbitrary(messageArbitrary(ids)), { minLength: PER_RUN, maxLength: PER_RUN }),
        async (events) => {
          const acks: Promise<unknown>[] = [];
          for (const { args, withAck } of events) {
            if (withAck) acks.push(emitAck(sender, 'message', ...args));
            else sender.emit('message', ...args);
          }
          for (const ack of await Promise.all(acks)) {
            const { status } = ack as { status: unknown };
            expect(ack).toEqual({
              status: expect.any(Number),
              message: expect.any(String),
              ...(status === 200 ? {} : { reason: expect.any(String) }),
            });
            expect(isStatus((ack as { status: unknown }).status)).toBe(true);
          }
          await h.barrier(sender, host, peer, stranger);
          expect(sender.connected).toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
    expect(h.of(stranger).messages).toEqual([]);
    expect(h.of(sender).messages.filter((m) => m.from === sender.id)).toEqual([]);
    for (const socket of [host, peer]) {
      const fromSender = h.of(socket).messages.filter((m) => m.from === sender.id);
      for (const message of fromSender) {
        for (const key of Object.keys(message)) expect(RELAYED_FIELDS).toContain(key);
        expect(message.to).toBe(socket.id);
      }
    }
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('answers create host with a well-formed ack, or ignores it without one', async () => {
    const name = fc.oneof(
      fc.string({ maxLength: 70 }),
      fc.string({ unit: 'grapheme', maxLength: 10 }),
      fc.constantFrom('Room', 'Other', '  ', 'Cafe\u0301', 'Caf\u00E9'),
      junk,
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(argsArbitrary(name), { minLength: PER_RUN, maxLength: PER_RUN }),
        async (events) => {
          const acks: Promise<unknown>[] = [];
          for (const { args, withAck } of events) {
            const target = acks.length % 2 === 0 ? creator : stranger;
            if (withAck) acks.push(emitAck(target, 'create host', ...args));
            else target.emit('create host', ...args);
          }
          for (const ack of await Promise.all(acks)) expectCreateHostAck(ack);
          expect(creator.connected && stranger.connected).toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('answers list hosts with a well-formed ack, or ignores it without one', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(argsArbitrary(junk), { minLength: PER_RUN, maxLength: PER_RUN }),
        async (events) => {
          const acks: Promise<unknown>[] = [];
          for (const { args, withAck } of events) {
            if (withAck) acks.push(emitAck(stranger, 'list hosts', ...args));
            else stranger.emit('list hosts', ...args);
          }
          for (const ack of await Promise.all(acks)) expectListHostsAck(ack);
          expect(stranger.connected).toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('is empty once everybody has disconnected', async () => {
    for (const socket of h.sockets) socket.disconnect();
    await waitFor(
      async () => (await h.server.state.size()).hosts === 0 && h.server.stats().sockets === 0,
    );
    expect(await h.server.state.size()).toEqual({ hosts: 0, groups: 0, members: 0 });
    expect((await h.server.health()).ok).toBe(true);
  });
});
