/**
 * Issue 12: many sockets of one address against groups and names. Joins
 * from 120 sockets into one honest host (defect 9: the host's own replies
 * must never get it cut off), 1,000 hosts squatted from one address, 1,000
 * sockets held from one address. Per-socket limits multiplied by sockets
 * need per-address twins: each attack must meet one, and honest users must
 * keep joining within twice their idle time. Attackers connect from
 * 127.0.0.2 (their own process), honest users from 127.0.0.1.
 */
import { closeArena, openArena, type Arena } from './arena';
import { joinFlood, MANY_SOCKETS, squatting } from './attacks';
import { runAttack, summaryLine } from './scenario';
import { cleanupBuild } from './serverProcess';

jest.setTimeout(120_000);

describe('many sockets of one address', () => {
  let arena: Arena | undefined;
  beforeEach(async () => {
    arena = await openArena();
  });
  afterEach(async () => {
    await closeArena(arena);
    arena = undefined;
  });
  afterAll(() => cleanupBuild());

  it('never cuts off an honest host that answers 120 joins, and keeps admitting honest joins', async () => {
    const result = await runAttack(arena!, joinFlood(120));
    // eslint-disable-next-line no-console
    console.log(summaryLine(result));
    expect(result.failures).toEqual([]);
  });

  it('caps the hosts one address holds (1,000 asked), and honest hosts and joins go on', async () => {
    const result = await runAttack(arena!, squatting(1_000));
    // eslint-disable-next-line no-console
    console.log(summaryLine(result));
    const created = result.observed.hostsCreated ?? 0;
    expect([
      ...result.failures,
      ...(created < 1_000 ? [] : ['one address held 1,000 hosts: no per-address cap']),
    ]).toEqual([]);
  });

  it('caps the sockets one address holds (1,000 asked), and honest joins go on', async () => {
    const result = await runAttack(arena!, MANY_SOCKETS);
    // eslint-disable-next-line no-console
    console.log(summaryLine(result));
    const refused = (result.observed.refused ?? 0) + (result.observed.closedByServer ?? 0);
    expect([
      ...result.failures,
      ...(refused > 0 ? [] : ['one address held 1,000 sockets: no per-address cap']),
    ]).toEqual([]);
  });
});
