/**
 * Limits shared by the sockets of one client address or one group
 * (docs/limits.md): per-socket limits are multiplied by opening sockets, so
 * each has a twin here. All of them live on one node; in a cluster each node
 * keeps its own (the group-size cap alone is enforced in the shared state).
 */

import { TokenBucket, type Clock } from './rateLimit.js';
import type { SignalingLimits } from './limits.js';

/**
 * The key one address's sockets share: an IPv4 address as it is (an
 * IPv4-mapped IPv6 address as its IPv4 form), an IPv6 address by its /64
 * prefix (one subscriber usually holds a whole /64).
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped !== null) return mapped[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.split('%')[0]!.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::')
    ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => (g === '' ? '0' : g.toLowerCase().replace(/^0+(?=.)/, '')))
    .join(':')}::/64`;
}


/** One {@link TokenBucket} per key, made on first use; full ones are forgotten now and then. */
export class KeyedBudgets {
  private readonly budgets = new Map<string, TokenBucket>();
  private sweepAt = 1024;

  constructor(
    private readonly capacity: number,
    private readonly ratePerSecond: number,
    private readonly clock: Clock,
  ) {}

  take(key: string, amount = 1): boolean {
    let budget = this.budgets.get(key);
    if (budget === undefined) {
      if (this.budgets.size >= this.sweepAt) this.sweep();
      budget = new TokenBucket(this.capacity, this.ratePerSecond, this.clock);
      this.budgets.set(key, budget);
    }
    return budget.take(amount);
  }

  delete(key: string): void {
    this.budgets.delete(key);
  }

  get size(): number {
    return this.budgets.size;
  }

  /** Drops every full budget; the map then holds only keys that spent recently. */
  private sweep(): void {
    for (const [key, budget] of this.budgets) if (budget.full()) this.budgets.delete(key);
    this.sweepAt = Math.max(1024, this.budgets.size * 2);
  }
}

/**
 * One {@link TokenBucket} per recipient and sender address. Unlike a
 * {@link KeyedBudgets} keyed by both, everything kept for a recipient goes
 * when it leaves ({@link forget}); what is left of recipients this node never
 * hears leave (sockets of other nodes, a message racing a disconnect) is
 * dropped by the same sweep of full budgets.
 */
export class InboundBudgets {
  private readonly byRecipient = new Map<string, Map<string, TokenBucket>>();
  private count = 0;
  private sweepAt = 1024;

  constructor(
    private readonly capacity: number,
    private readonly ratePerSecond: number,
    private readonly clock: Clock,
  ) {}

  take(recipient: string, address: string, amount = 1): boolean {
    let senders = this.byRecipient.get(recipient);
    let budget = senders?.get(address);
    if (budget === undefined) {
      if (this.count >= this.sweepAt) {
        this.sweep();
        senders = this.byRecipient.get(recipient);
      }
      if (senders === undefined) {
        senders = new Map();
        this.byRecipient.set(recipient, senders);
      }
      budget = new TokenBucket(this.capacity, this.ratePerSecond, this.clock);
      senders.set(address, budget);
      this.count += 1;
    }
    return budget.take(amount);
  }

  /** Drops every budget kept for `recipient` (it left). */
  forget(recipient: string): void {
    const senders = this.byRecipient.get(recipient);
    if (senders === undefined) return;
    this.count -= senders.size;
    this.byRecipient.delete(recipient);
  }

  /** Budgets held, over all recipients. */
  get size(): number {
    return this.count;
  }

  /** Recipients with at least one budget. */
  get recipients(): number {
    return this.byRecipient.size;
  }

  private sweep(): void {
    for (const [recipient, senders] of this.byRecipient) {
      for (const [address, budget] of senders) {
        if (!budget.full()) continue;
        senders.delete(address);
        this.count -= 1;
      }
      if (senders.size === 0) this.byRecipient.delete(recipient);
    }
    this.sweepAt = Math.max(1024, this.count * 2);
  }
}

/** How the per-connection handler reaches another connection of this node. */
export interface LocalPeer {
  /** Gives `tokens` `message` tokens beyond its bucket (a host replying to an admitted join). */
  credit(tokens: number): void;
}

/** Every per-address and per-group limit of one node. */
export class Quotas {
  readonly listBytes: KeyedBudgets;
  readonly joinsByAddress: KeyedBudgets;
  readonly joinsByGroup: KeyedBudgets;
  readonly messagesByAddress: KeyedBudgets;
  /** Per recipient id and sender address; a recipient's budgets go when it leaves. */
  readonly inbound: InboundBudgets;
  private readonly hostsByAddress = new Map<string, number>();
  /** `group\naddress` → members of that address in that group. */
  private readonly membersByAddress = new Map<string, number>();
  private readonly peers = new Map<string, LocalPeer>();

  constructor(
    private readonly limits: SignalingLimits,
    clock: Clock,
  ) {
    this.listBytes = new KeyedBudgets(
      limits.listBytesPerAddressBurst,
      limits.listBytesPerAddressRate,
      clock,
    );
    this.joinsByAddress = new KeyedBudgets(
      limits.joinBurstPerAddress,
      limits.joinRatePerAddress,
      clock,
    );
    this.joinsByGroup = new KeyedBudgets(limits.joinBurstPerGroup, limits.joinRatePerGroup, clock);
    this.messagesByAddress = new KeyedBudgets(
      limits.messageBurstPerAddress,
      limits.messageRatePerAddress,
      clock,
    );
    this.inbound = new InboundBudgets(
      limits.inboundBurstPerAddress,
      limits.inboundRatePerAddress,
      clock,
    );
  }

  /** Reserves a host slot for `address`; `false` when it holds `maxHostsPerAddress` already. */
  reserveHost(address: string): boolean {
    const held = this.hostsByAddress.get(address) ?? 0;
    if (held >= this.limits.maxHostsPerAddress) return false;
    this.hostsByAddress.set(address, held + 1);
    return true;
  }

  releaseHost(address: string): void {
    const held = (this.hostsByAddress.get(address) ?? 0) - 1;
    if (held > 0) this.hostsByAddress.set(address, held);
    else this.hostsByAddress.delete(address);
  }

  /** Counts a member of `address` into `group`; `false` when it has `maxGroupMembersPerAddress` there already. */
  reserveMember(group: string, address: string): boolean {
    const key = `${group}\n${address}`;
    const held = this.membersByAddress.get(key) ?? 0;
    if (held >= this.limits.maxGroupMembersPerAddress) return false;
    this.membersByAddress.set(key, held + 1);
    return true;
  }

  releaseMember(group: string, address: string): void {
    const key = `${group}\n${address}`;
    const held = (this.membersByAddress.get(key) ?? 0) - 1;
    if (held > 0) this.membersByAddress.set(key, held);
    else this.membersByAddress.delete(key);
  }

  hostsHeld(address: string): number {
    return this.hostsByAddress.get(address) ?? 0;
  }

  register(id: string, peer: LocalPeer): void {
    this.peers.set(id, peer);
  }

  /** `id` left: forgets it as a peer and every inbound budget kept for it. */
  unregister(id: string): void {
    this.peers.delete(id);
    this.inbound.forget(id);
  }

  /** A socket of this node, when it is one. */
  peer(id: string): LocalPeer | undefined {
    return this.peers.get(id);
  }
}
