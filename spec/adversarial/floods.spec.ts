/**
 * Issue 12: floods of every event a client can send (`create host`,
 * `list hosts`, `message` of each type, unknown events), from 10 sockets of
 * one address that come back when cut off. While each runs, honest joins
 * must succeed within twice their idle time (plus slack, see arena.ts); after
 * it, the server must be alive, quiet on stderr, serving, and back to its
 * baseline heap.
 */
import { closeArena, openArena, type Arena } from './arena';
import { FLOODS } from './attacks';
import { runAttack, summaryLine } from './scenario';
import { cleanupBuild } from './serverProcess';

jest.setTimeout(150_000);

describe('floods of every event from one address', () => {
  let arena: Arena | undefined;
  beforeEach(async () => {
    arena = await openArena();
  });
  afterEach(async () => {
    await closeArena(arena);
    arena = undefined;
  });
  afterAll(() => cleanupBuild());

  it.each(FLOODS.map((attack) => [attack.name, attack] as const))('%s', async (_name, attack) => {
    const result = await runAttack(arena!, attack);
    // eslint-disable-next-line no-console
    console.log(summaryLine(result));
    expect(result.failures).toEqual([]);
  });
});
