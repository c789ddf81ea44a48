/**
 * Unit specs for the per-address and per-recipient quotas (src/server/quotas.ts):
 * what a recipient's inbound budgets hold is gone once it leaves, so a flood of
 * joiners that come and go leaves nothing behind.
 */
import { DEFAULT_LIMITS } from '../../src/server/limits.js';
import { InboundBudgets, Quotas } from '../../src/server/quotas.js';

describe('InboundBudgets', () => {
  it('spends per recipient and sender address, and refuses past the burst', () => {
    const now = 0;
    const budgets = new InboundBudgets(2, 1, () => now);
    expect(budgets.take('host', '127.0.0.2')).toBe(true);
    expect(budgets.take('host', '127.0.0.2')).toBe(true);
    expect(budgets.take('host', '127.0.0.2')).toBe(false);
    // Another address, or another recipient, has a budget of its own.
    expect(budgets.take('host', '127.0.0.1')).toBe(true);
    expect(budgets.take('joiner', '127.0.0.2')).toBe(true);
    expect(budgets.size).toBe(3);
    expect(budgets.recipients).toBe(2);
  });

  it('forgets every budget of a recipient that left, and only those', () => {
    const budgets = new InboundBudgets(2, 1, () => 0);
    budgets.take('host', '127.0.0.1');
    budgets.take('host', '127.0.0.2');
    budgets.take('joiner', '127.0.0.1');
    budgets.forget('host');
    expect(budgets.size).toBe(1);
    expect(budgets.recipients).toBe(1);
    budgets.forget('host');
    budgets.forget('never seen');
    expect(budgets.size).toBe(1);
    // A recipient that comes back starts with a full budget.
    expect(budgets.take('host', '127.0.0.2')).toBe(true);
    expect(budgets.take('host', '127.0.0.2')).toBe(true);
  });

  it('sweeps full budgets of recipients it never saw leave once 1,024 are held', () => {
    let now = 0;
    const budgets = new InboundBudgets(1, 1, () => now);
    for (let i = 0; i < 1024; i++) budgets.take(`remote ${i}`, '127.0.0.1');
    expect(budgets.size).toBe(1024);
    now = 5_000; // every budget refilled
    budgets.take('fresh', '127.0.0.1');
    expect(budgets.size).toBe(1);
    expect(budgets.recipients).toBe(1);
  });
});

describe('Quotas after a join flood', () => {
  it('holds nothing for 120 joiners and a host once they have all left', () => {
    const quotas = new Quotas({ ...DEFAULT_LIMITS }, () => 0);
    const host = 'host-socket';
    const joiners = Array.from({ length: 120 }, (_, i) => `joiner-${i}`);
    quotas.register(host, { credit: () => undefined });
    for (const id of joiners) {
      quotas.register(id, { credit: () => undefined });
      // The joiner's join reaches the host; the host answers with an offer.
      quotas.inbound.take(host, '127.0.0.2');
      quotas.inbound.take(id, '127.0.0.1');
    }
    expect(quotas.inbound.recipients).toBe(121);
    for (const id of joiners) quotas.unregister(id);
    expect(quotas.inbound.size).toBe(1);
    expect(quotas.peer(joiners[0]!)).toBeUndefined();
    quotas.unregister(host);
    expect(quotas.inbound.size).toBe(0);
    expect(quotas.inbound.recipients).toBe(0);
    expect(quotas.peer(host)).toBeUndefined();
  });
});
