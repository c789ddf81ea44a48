/**
 * Issue 12, framing-level defects, each sent over long-polling and
 * WebSocket: client events named like emitter or Socket.IO internals
 * (defect 1), one event with 70,000+ arguments (defect 2), many Socket.IO
 * CONNECTs in one POST or one TCP write (defect 6), bare polling handshakes
 * that never connect (defect 7). After each: the recovery checks of arena.ts.
 */
import { closeArena, openArena, recoveryFailures, socketsAtMost, type Arena } from './arena';
import { COLLIDING_NAMES, type Input } from './frames';
import { sendSession, type Transport } from './fuzzRunner';
import { honestJoin } from './honest';
import {
  createAgent,
  eventPacket,
  PollingClient,
  RawWebSocket,
  useLocalAddress,
} from './rawClients';
import { cleanupBuild } from './serverProcess';

// Hostile clients connect from 127.0.0.2; honest ones from 127.0.0.1.
useLocalAddress('127.0.0.2');

jest.setTimeout(120_000);

const TRANSPORTS: readonly Transport[] = ['polling', 'websocket'];
const ARGUMENT_VARIANTS: readonly (readonly unknown[])[] = [
  [],
  [null],
  [{}],
  ['text'],
  [0],
  [{ message: null }],
  [null, null],
];

describe('hostile framing', () => {
  let arena: Arena | undefined;
  afterEach(async () => {
    await closeArena(arena);
    arena = undefined;
  });
  afterAll(() => cleanupBuild());

  const expectRecovered = async (a: Arena, extra: string[] = []): Promise<void> => {
    const recovery = await recoveryFailures(a);
    expect([...extra, ...recovery.failures]).toEqual([]);
  };

  const session = (inputs: Input[]): { first: number; inputs: Input[] } => ({
    first: 0,
    inputs: [{ kind: 'connect', frames: ['40'] }, ...inputs],
  });

  it.each(TRANSPORTS)(
    'survives client events named like emitter and Socket.IO internals, with no argument or null (%s)',
    async (transport) => {
      arena = await openArena();
      const agent = createAgent(4);
      const crashedOn: string[] = [];
      try {
        for (const name of COLLIDING_NAMES) {
          for (const args of ARGUMENT_VARIANTS) {
            const frame = eventPacket([name, ...args]);
            await sendSession(
              transport,
              arena.server.port,
              session([{ kind: 'colliding', frames: [frame] }]),
              agent,
            ).catch(() => undefined);
            // /healthz answers after the event's dispatch (a nextTick) has run: a crash is seen here.
            await arena.server.health().catch(() => undefined);
            await Promise.race([arena.server.exited, new Promise((r) => setTimeout(r, 20))]);
            if (arena.server.exit !== undefined) {
              crashedOn.push(frame);
              break;
            }
          }
          if (arena.server.exit !== undefined) break;
        }
      } finally {
        agent.destroy();
      }
      await expectRecovered(
        arena,
        crashedOn.map((f) => `the server died on ${f}`),
      );
    },
  );

  it.each(TRANSPORTS.flatMap((t) => [70_000, 200_000].map((n) => [t, n] as const)))(
    'refuses an event with a huge argument list before dispatch (%s, %i arguments)',
    async (transport, count) => {
      arena = await openArena();
      const deaths: string[] = [];
      for (const name of ['message', 'list hosts', 'any event']) {
        const frame = eventPacket([name, ...new Array<number>(count).fill(0)]);
        await sendSession(
          transport,
          arena.server.port,
          session([{ kind: 'huge', frames: [frame] }]),
        ).catch(() => undefined);
        await Promise.race([arena.server.exited, new Promise((r) => setTimeout(r, 300))]);
        if (arena.server.exit !== undefined) {
          deaths.push(
            `the server died on "${name}" with ${count} arguments (${frame.length} bytes)`,
          );
          break;
        }
      }
      await expectRecovered(arena, deaths);
    },
  );

  it.each(TRANSPORTS)(
    'never holds more Socket.IO sockets than --max-clients when one connection sends 20,000 CONNECTs (%s)',
    async (transport) => {
      arena = await openArena({ flags: ['--max-clients', '10'] });
      const connects = new Array<string>(20_000).fill('40');
      const problems: string[] = [];
      if (transport === 'polling') {
        const client = await PollingClient.open(arena.server.port);
        await client.post(connects).catch(() => undefined);
        const held = await socketsAtMost(arena.server, 10, 3_000);
        if (!(held <= 10))
          problems.push(
            `one polling POST of 20,000 CONNECTs made ${held} sockets (max clients 10)`,
          );
        await client.close();
      } else {
        const ws = await RawWebSocket.open(arena.server.port, { keepAll: true });
        // A CONNECT to a namespace that does not exist, last: its answer (or a close) says all were read.
        const read = Promise.race([
          ws.next((t) => t.startsWith('44/sync,'), 20_000).catch(() => undefined),
          ws.closed,
        ]);
        ws.send([...connects, '40/sync,']);
        await read;
        const held = await socketsAtMost(arena.server, 10, 3_000);
        // Socket.IO closes the connection at the first CONNECT read after one completed; count those it accepted before.
        const accepted = ws.received.filter((t) => t.startsWith('40{')).length;
        if (!(held <= 10) || accepted > 10)
          problems.push(
            `one WebSocket write of 20,000 CONNECTs made ${Math.max(held, accepted)} sockets (max clients 10)`,
          );
        await ws.terminate();
      }
      await expectRecovered(arena, problems);
    },
  );

  it('frees the slots of bare polling handshakes at the connect timeout and counts them in /healthz', async () => {
    arena = await openArena({ flags: ['--max-clients', '10', '--connect-timeout-ms', '1000'] });
    const bare: PollingClient[] = [];
    const problems: string[] = [];
    try {
      // Fill every free slot with handshakes that never send a CONNECT.
      for (let i = 0; i < 20; i++) {
        try {
          bare.push(await PollingClient.open(arena.server.port));
        } catch {
          break;
        }
      }
      if (bare.length === 0) problems.push('no bare handshake was accepted');
      const health = await arena.server.health();
      const counted = Object.values(health.body).some(
        (v) => typeof v === 'number' && v >= bare.length,
      );
      if (!counted)
        problems.push(
          `/healthz does not count the ${bare.length} open handshakes: ${JSON.stringify(health.body)}`,
        );
      // At the connect timeout (1 s) their slots must be free again, without their help.
      const t0 = Date.now();
      let joined = false;
      let last = '';
      while (!joined && Date.now() - t0 < 4_000) {
        try {
          await honestJoin(arena.server.url, 'honest host', 2_000);
          joined = true;
        } catch (error) {
          last = error instanceof Error ? error.message : String(error);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      if (!joined)
        problems.push(
          `an honest join still fails 4 s after the bare handshakes (connect timeout 1 s): ${last}`,
        );
    } finally {
      await Promise.all(bare.map((c) => c.close()));
    }
    await expectRecovered(arena, problems);
  });
});
