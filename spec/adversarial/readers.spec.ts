/**
 * Issue 12: clients that stop reading. A WebSocket that pauses its TCP
 * socket and answers pings blindly, and a polling client that never GETs,
 * each receiving 60 KB offers relayed as fast as the rate limit allows
 * (defect 5); `list hosts` of many long names asked by sockets that never
 * read the answers (defect 3, scaled down). The server must bound what it
 * queues for them (closing them past the bound), stay within its heap
 * bound, and serve honest users meanwhile.
 */
import { closeArena, openArena, type Arena } from './arena';
import { listHostsToNonReaders, nonReaderSink } from './attacks';
import { runAttack, summaryLine } from './scenario';
import { cleanupBuild } from './serverProcess';

jest.setTimeout(120_000);

afterAll(() => cleanupBuild());

describe('clients that stop reading', () => {
  let arena: Arena | undefined;
  beforeEach(async () => {
    arena = await openArena();
  });
  afterEach(async () => {
    await closeArena(arena);
    arena = undefined;
  });

  it('bounds what it queues for a WebSocket client that reads slowly, and serves honest users meanwhile', async () => {
    const result = await runAttack(arena!, nonReaderSink('slow-websocket', 2));
    // eslint-disable-next-line no-console
    console.log(summaryLine(result));
    expect(result.failures).toEqual([]);
  });

  it('keeps list hosts answers to sockets that do not read within its heap bound', async () => {
    const result = await runAttack(arena!, listHostsToNonReaders(1_000, 20));
    // eslint-disable-next-line no-console
    console.log(summaryLine(result));
    expect(result.failures).toEqual([]);
  });
});

/**
 * The documented behaviour (docs/admission.md): over `queueDropBytes` pushed
 * events are dropped; a client still over it `slowReaderTimeoutMs` later is
 * closed. The default timeout (10 s) is longer than an attack here lasts, so
 * this server uses a short one.
 */
const SLOW_READER_TIMEOUT_MS = 1_000;

describe('clients that stop reading, with a short slow-reader timeout', () => {
  let arena: Arena | undefined;
  beforeEach(async () => {
    arena = await openArena({
      flags: ['--slow-reader-timeout-ms', String(SLOW_READER_TIMEOUT_MS)],
    });
  });
  afterEach(async () => {
    await closeArena(arena);
    arena = undefined;
  });

  it.each(['websocket', 'polling'] as const)(
    'closes a %s client that stops reading once its queue passes the bound',
    async (kind) => {
      const attack = nonReaderSink(kind, 2);
      const result = await runAttack(arena!, attack);
      // eslint-disable-next-line no-console
      console.log(summaryLine(result));
      const dropped = result.observed.sinkDropped ?? 0;
      expect([
        ...result.failures,
        ...(dropped >= 2 ? [] : [`the server closed ${dropped} of 2 clients that stopped reading`]),
      ]).toEqual([]);
    },
  );
});
