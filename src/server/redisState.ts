/**
 * {@link SignalingState} in Redis, shared by every node of a cluster.
 *
 * - Each operation is one Lua script (see `redisScripts.ts`), so two nodes
 *   racing for one host name get exactly one `claimed`.
 * - Each node renews a heartbeat key with a TTL every `heartbeatMs`, and in
 *   the same script reaps the sockets of every node whose key expired: a
 *   node that dies leaves the host list within `nodeTtlMs + heartbeatMs`
 *   (plus one round trip).
 * - The node keeps a mirror of its own sockets' roles (who hosts which name,
 *   who is a member of which host). When Redis was unreachable, or came back
 *   empty, the node re-asserts them (`RECONCILE`) and removes what Redis still
 *   lists for sockets that left meanwhile.
 * - Commands fail fast while Redis is away (no offline queue; a timeout per
 *   operation) with {@link StateUnavailableError}. `groupOf` then answers from
 *   the mirror for this node's own sockets, so relay between two sockets of
 *   one node keeps working.
 */

import { InvalidConfigError } from '../errors.js';
import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { HostInfo } from '../protocol/wire.js';
import {
  CLAIM,
  GROUP_MEMBERS,
  GROUP_OF,
  HOST_NAME_OF,
  JOIN,
  LEAVE,
  LIST_HOSTS,
  LOOKUP_HOST,
  RECONCILE,
  REMOVE,
  SIZE,
  TICK,
} from './redisScripts.js';
import {
  StateUnavailableError,
  type BackendStatus,
  type ClaimResult,
  type Departure,
  type JoinResult,
  type SignalingState,
  type SignalingStateListener,
  type StateSize,
} from './state.js';

/** The few calls of a node-redis (`redis` v4+) client this backend uses. */
export interface RedisScriptClient {
  readonly isReady: boolean;
  evalSha(sha: string, options: { arguments: string[] }): Promise<unknown>;
  eval(script: string, options: { arguments: string[] }): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  close(): Promise<void>;
  destroy(): void;
}

export interface RedisStateOptions {
  /** Prefix of every key. Default `rxpeer:`. Nodes of one cluster share it. */
  prefix?: string;
  /** This node's id; default `<hostname>:<pid>:<random>`. */
  nodeId?: string;
  /** How often the node renews its heartbeat and reaps dead nodes. Default 2000 ms. */
  heartbeatMs?: number;
  /** Lifetime of the heartbeat key: a node silent this long is dead. Default 6000 ms (≥ 2 × heartbeatMs). */
  nodeTtlMs?: number;
  /** An operation that takes longer fails with {@link StateUnavailableError}. Default 2000 ms. */
  timeoutMs?: number;
  /**
   * How long a node answers `list hosts` from its cache before it asks
   * Redis again (an O(1) version check; the list itself only when it
   * changed). Its own hosts coming and going refresh it at once. Default 250 ms.
   */
  listRefreshMs?: number;
  /** `close()` also closes the client. Default false. */
  ownsClient?: boolean;
  /** Where to report failures of the background work (heartbeat, re-sync). */
  onError?: (error: unknown, what: string) => void;
  /** Called after each re-sync with what it did (for logs). */
  onResync?: (summary: ResyncSummary) => void;
}

export interface ResyncSummary {
  departed: number;
  conflicts: number;
  pending: number;
  roles: number;
}

type Role = { kind: 'host'; name: string; key: string } | { kind: 'member'; hostId: string };

interface WireDeparture {
  id?: string;
  kind: 'host' | 'member' | 'none';
  name?: string;
  members?: unknown;
  hostId?: string;
  remaining?: unknown;
}

/** cjson encodes an empty Lua table as `{}`. */
const list = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];

function toDeparture(wire: WireDeparture): Departure {
  switch (wire.kind) {
    case 'host':
      return { kind: 'host', name: wire.name ?? '', members: list(wire.members) };
    case 'member':
      return { kind: 'member', hostId: wire.hostId ?? '', remaining: list(wire.remaining) };
    case 'none':
    default:
      return { kind: 'none' };
  }
}

/** A reply of Redis itself (ErrorReply) that means a bug in a script rather than an outage. */
const isScriptError = (error: unknown): boolean =>
  error instanceof Error &&
  /user_script|Error running script|Error compiling script|unexpected (claim|join) result/i.test(
    error.message,
  );

function json<T>(reply: unknown): T {
  if (typeof reply !== 'string') throw new Error(`unexpected reply from Redis: ${typeof reply}`);
  return JSON.parse(reply) as T;
}

/** A string reply, or undefined for nil (RESP2) / false (RESP3, Lua's false). */
const optionalString = (reply: unknown): string | undefined =>
  typeof reply === 'string' ? reply : undefined;

const sha1 = (text: string): string => createHash('sha1').update(text).digest('hex');

const PENDING_RETRY_MS = 250;

export class RedisSignalingState implements SignalingState {
  readonly nodeId: string;
  readonly prefix: string;
  readonly heartbeatMs: number;
  readonly nodeTtlMs: number;
  private readonly timeoutMs: number;
  private readonly shas = new Map<string, string>();
  /** Sockets of this node that called claimHost/joinGroup and have not been removed. */
  private readonly live = new Set<string>();
  /** What Redis last said about this node's live sockets. */
  private readonly roles = new Map<string, Role>();
  /** Members whose host was missing at a re-sync, with the deadline to find it again. */
  private readonly pending = new Map<string, { hostId: string; until: number }>();
  private listener: SignalingStateListener | undefined;
  private readonly listRefreshMs: number;
  /** The last host list read, its version in Redis, and when it was read. */
  private hostList: { hosts: HostInfo[]; version: string; at: number } | undefined;
  /** This node changed the hosts since the list was read. */
  private hostListStale = false;
  private hostListLoading: Promise<HostInfo[]> | undefined;
  /** Something may differ between Redis and this node: re-sync at the next tick. */
  private dirty = true;
  /** A re-sync is running. */
  private syncing = false;
  private closed = false;
  private closing = false;
  private closingDone: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private readonly onReady = (): void => {
    this.dirty = true;
    this.schedule(0);
  };

  constructor(
    private readonly client: RedisScriptClient,
    private readonly options: RedisStateOptions = {},
  ) {
    this.prefix = options.prefix ?? 'rxpeer:';
    this.nodeId = options.nodeId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.heartbeatMs = options.heartbeatMs ?? 2_000;
    this.nodeTtlMs = options.nodeTtlMs ?? 6_000;
    this.timeoutMs = options.timeoutMs ?? 2_000;
    this.listRefreshMs = options.listRefreshMs ?? 250;
    if (!(this.heartbeatMs >= 50)) throw new InvalidConfigError('heartbeatMs', 'must be at least 50', this.heartbeatMs);
    if (!(this.nodeTtlMs >= 2 * this.heartbeatMs))
      throw new InvalidConfigError('nodeTtlMs', 'must be at least twice heartbeatMs', this.nodeTtlMs);
    if (!(this.timeoutMs > 0)) throw new InvalidConfigError('timeoutMs', 'must be positive', this.timeoutMs);
    client.on('ready', this.onReady);
  }

  /** Registers the node and starts the heartbeat; resolves after the first one. */
  async start(): Promise<void> {
    await this.tick();
    if (this.dirty) throw new StateUnavailableError('Redis: the first heartbeat failed');
  }

  /** The bound after which a dead node's hosts are gone: its TTL plus one heartbeat of the others. */
  get staleBoundMs(): number {
    return this.nodeTtlMs + this.heartbeatMs;
  }

  setListener(listener: SignalingStateListener | undefined): void {
    this.listener = listener;
  }

  status(): BackendStatus {
    return {
      backend: 'redis',
      status: this.closed
        ? 'closed'
        : !this.client.isReady
          ? 'down'
          : this.dirty || this.syncing || this.pending.size > 0
            ? 'resyncing'
            : 'ready',
      node: this.nodeId,
    };
  }

  // ---------------------------------------------------------------------------
  // Running scripts

  /** Runs a script; resolves or rejects with the raw reply of Redis (no timeout). */
  private async raw(source: string, args: string[]): Promise<unknown> {
    if (this.closed) throw new StateUnavailableError('The Redis state is closed.');
    const argv = [this.prefix, this.nodeId, ...args];
    let sha = this.shas.get(source);
    if (sha === undefined) {
      sha = sha1(source);
      this.shas.set(source, sha);
    }
    try {
      return await this.client.evalSha(sha, { arguments: argv });
    } catch (error) {
      // Redis restarted (or flushed its scripts): EVAL loads it again.
      if (error instanceof Error && error.message.startsWith('NOSCRIPT'))
        return this.client.eval(source, { arguments: argv });
      throw error;
    }
  }

  /**
   * Runs a script with the timeout. `apply` sees the reply whenever it comes,
   * even after the caller got a timeout, so the mirror stays right.
   */
  private run<T>(
    what: string,
    source: string,
    args: string[],
    parse: (reply: unknown) => T,
    apply?: (result: T) => void,
  ): Promise<T> {
    const underlying = this.raw(source, args).then((reply) => {
      const result = parse(reply);
      apply?.(result);
      return result;
    });
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.dirty = true;
        reject(
          new StateUnavailableError(`Redis did not answer ${what} within ${this.timeoutMs} ms.`),
        );
      }, this.timeoutMs);
      underlying.then(
        (result) => {
          clearTimeout(timer);
          resolve(result);
        },
        (error: unknown) => {
          clearTimeout(timer);
          if (
            error instanceof StateUnavailableError ||
            (isScriptError(error) && error instanceof Error)
          ) {
            reject(error);
            return;
          }
          this.dirty = true;
          reject(
            new StateUnavailableError(
              `Redis is unavailable (${what}): ${error instanceof Error ? error.message : String(error)}`,
              { cause: error },
            ),
          );
        },
      );
    });
  }

  // ---------------------------------------------------------------------------
  // SignalingState

  claimHost(socketId: string, name: string, key: string = name): Promise<ClaimResult> {
    this.live.add(socketId);
    return this.run(
      'create host',
      CLAIM,
      [socketId, name, key],
      (reply): ClaimResult => {
        const r = json<{ kind: string; current?: string; hostId?: string }>(reply);
        switch (r.kind) {
          case 'claimed':
          case 'already-yours':
          case 'taken':
            return { kind: r.kind, name };
          case 'hosting-other':
            return { kind: 'hosting-other', name, current: r.current ?? '' };
          case 'member':
            return { kind: 'member', name, hostId: r.hostId ?? '' };
          default:
            throw new Error(`unexpected claim result ${r.kind}`);
        }
      },
      (result) => {
        if (result.kind === 'claimed') this.hostListStale = true;
        if (
          (result.kind === 'claimed' || result.kind === 'already-yours') &&
          this.live.has(socketId)
        )
          this.roles.set(socketId, { kind: 'host', name, key });
      },
    );
  }

  /**
   * The host list from a per-node cache: Redis is asked at most once per
   * `listRefreshMs` whatever the number of requests (concurrent requests
   * share one question), and the question is O(1) unless a host came or went
   * (a version counter); the full list is read only then. The array is the
   * same object until it changes; callers must not modify it.
   */
  listHosts(): Promise<HostInfo[]> {
    if (!this.client.isReady)
      return Promise.reject(new StateUnavailableError('Redis is unavailable (list hosts).'));
    const cache = this.hostList;
    if (cache !== undefined && !this.hostListStale && Date.now() - cache.at < this.listRefreshMs)
      return Promise.resolve(cache.hosts);
    this.hostListLoading ??= this.loadHostList().finally(() => {
      this.hostListLoading = undefined;
    });
    return this.hostListLoading;
  }

  private async loadHostList(): Promise<HostInfo[]> {
    const known = this.hostList;
    this.hostListStale = false;
    const at = Date.now();
    const hosts = await this.run('list hosts', LIST_HOSTS, [known?.version ?? ''], (reply) => {
      const [version, flat] = Array.isArray(reply) ? (reply as unknown[]) : [];
      const v = typeof version === 'string' || typeof version === 'number' ? String(version) : '';
      if (flat === undefined && known !== undefined && known.version === v) return known;
      const entries = list(flat);
      const fresh: HostInfo[] = [];
      for (let i = 0; i + 1 < entries.length; i += 2)
        fresh.push({ id: entries[i]!, name: entries[i + 1]! });
      return { hosts: fresh, version: v, at };
    });
    this.hostList = { ...hosts, at };
    return hosts.hosts;
  }

  lookupHost(key: string): Promise<string | undefined> {
    return this.run('lookup host', LOOKUP_HOST, [key], optionalString);
  }

  hostNameOf(socketId: string): Promise<string | undefined> {
    return this.run('host name', HOST_NAME_OF, [socketId], optionalString);
  }

  joinGroup(memberId: string, hostId: string, maxSize = Infinity): Promise<JoinResult> {
    this.live.add(memberId);
    return this.run(
      'join',
      JOIN,
      [memberId, hostId, Number.isFinite(maxSize) ? String(maxSize) : '0'],
      (reply): JoinResult => {
        const r = json<{
          kind: string;
          left?: { hostId?: string; remaining?: unknown };
        }>(reply);
        switch (r.kind) {
          case 'joined':
            return r.left === undefined
              ? { kind: 'joined' }
              : {
                  kind: 'joined',
                  left: { hostId: r.left.hostId ?? '', remaining: list(r.left.remaining) },
                };
          case 'already-member':
          case 'not-a-host':
          case 'is-host':
          case 'full':
            return { kind: r.kind };
          default:
            throw new Error(`unexpected join result ${r.kind}`);
        }
      },
      (result) => {
        if (
          (result.kind === 'joined' || result.kind === 'already-member') &&
          this.live.has(memberId)
        ) {
          this.roles.set(memberId, { kind: 'member', hostId });
          this.pending.delete(memberId);
        }
      },
    );
  }

  async groupOf(socketId: string): Promise<string | undefined> {
    try {
      return await this.run('group', GROUP_OF, [socketId], optionalString);
    } catch (error) {
      // Redis is away: this node still knows the groups of its own sockets.
      const role = this.roles.get(socketId);
      if (error instanceof StateUnavailableError && role !== undefined)
        return role.kind === 'host' ? socketId : role.hostId;
      throw error;
    }
  }

  groupMembers(hostId: string): Promise<string[]> {
    return this.run('group members', GROUP_MEMBERS, [hostId], list);
  }

  removeSocket(socketId: string): Promise<Departure> {
    // A socket that never hosted nor joined through this node has nothing in Redis.
    if (!this.live.delete(socketId)) return Promise.resolve({ kind: 'none' });
    this.roles.delete(socketId);
    this.pending.delete(socketId);
    // If this fails, the next re-sync removes it (it is no longer live).
    return this.run('disconnect', REMOVE, [socketId], (reply) => {
      const departure = toDeparture(json<WireDeparture>(reply));
      if (departure.kind === 'host') this.hostListStale = true;
      return departure;
    });
  }

  size(): Promise<StateSize> {
    return this.run('size', SIZE, [], (reply) => {
      const [hosts, members] = Array.isArray(reply) ? (reply as unknown[]) : [];
      const h = Number(hosts ?? 0);
      return { hosts: h, groups: h, members: Number(members ?? 0) };
    });
  }

  close(): Promise<void> {
    this.closingDone ??= this.shutdown();
    return this.closingDone;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    clearTimeout(this.timer);
    await this.ticking;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.client.off('ready', this.onReady);
    if (this.client.isReady) {
      try {
        await this.run('leave', LEAVE, [], (reply) => reply);
      } catch (error) {
        this.options.onError?.(error, 'leave');
      }
    }
    this.closed = true;
    this.live.clear();
    this.roles.clear();
    this.pending.clear();
    if (this.options.ownsClient === true) {
      try {
        await this.client.close();
      } catch {
        this.client.destroy();
      }
    }
  }

  // ---------------------------------------------------------------------------
  // Heartbeat, reaping, re-sync

  private schedule(ms: number): void {
    if (this.closing) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  /** One heartbeat: renew, reap, and re-sync when needed. Never rejects. */
  private tick(): Promise<void> {
    if (this.ticking !== undefined) return this.ticking;
    const run = this.beat().then(() => {
      this.ticking = undefined;
      this.schedule(this.dirty || this.pending.size > 0 ? PENDING_RETRY_MS : this.heartbeatMs);
    });
    this.ticking = run;
    return run;
  }

  private async beat(): Promise<void> {
    try {
      if (!this.client.isReady) {
        this.dirty = true;
        return;
      }
      const beat = await this.run(
        'heartbeat',
        TICK,
        [String(this.nodeTtlMs)],
        json<{ existed: number; reaped?: unknown }>,
      );
      this.report(beat.reaped);
      // Our key had expired or Redis lost it: re-assert everything.
      if (beat.existed !== 1) this.dirty = true;
      if (this.dirty || this.pending.size > 0) await this.reconcile();
    } catch (error) {
      this.dirty = true;
      this.options.onError?.(error, 'heartbeat');
    }
  }

  private report(departures: unknown): void {
    if (!Array.isArray(departures)) return;
    if (departures.length > 0) this.hostListStale = true;
    for (const wire of departures as WireDeparture[]) {
      if (typeof wire.id !== 'string') continue;
      this.listener?.departed(wire.id, toDeparture(wire));
    }
  }

  private async reconcile(): Promise<void> {
    // Anything that fails from here on marks it dirty again.
    this.dirty = false;
    this.syncing = true;
    try {
      await this.reassert();
    } finally {
      this.syncing = false;
    }
  }

  private async reassert(): Promise<void> {
    const live = [...this.live];
    const hosts: [string, string, string][] = [];
    const members: [string, string][] = [];
    for (const [id, role] of this.roles) {
      if (role.kind === 'host') hosts.push([id, role.name, role.key]);
      else members.push([id, role.hostId]);
    }
    for (const [id, { hostId }] of this.pending) {
      if (!this.roles.has(id)) members.push([id, hostId]);
    }
    const result = await this.run(
      're-sync',
      RECONCILE,
      [String(this.nodeTtlMs), JSON.stringify({ live, hosts, members })],
      json<{
        departed?: unknown;
        conflicts?: unknown;
        pending?: unknown;
        roles?: unknown;
      }>,
    );
    this.report(result.departed);

    const wanted = new Map<string, string>(members);
    const now = Date.now();
    // Adopt what Redis holds now for every socket still live.
    const held = new Set<string>();
    for (const entry of Array.isArray(result.roles) ? (result.roles as unknown[][]) : []) {
      const [id, kind, value, key] = entry as [string, string, string, string | undefined];
      if (!this.live.has(id)) continue;
      held.add(id);
      this.roles.set(
        id,
        kind === 'host'
          ? { kind: 'host', name: value, key: key ?? value }
          : { kind: 'member', hostId: value },
      );
      this.pending.delete(id);
    }
    for (const id of list(result.pending)) {
      const hostId = wanted.get(id);
      if (hostId === undefined || !this.live.has(id)) continue;
      const previous = this.pending.get(id);
      this.pending.set(id, { hostId, until: previous?.until ?? now + this.nodeTtlMs });
    }
    for (const entry of Array.isArray(result.conflicts) ? (result.conflicts as unknown[][]) : []) {
      const [id, name] = entry as [string, string];
      this.roles.delete(id);
      this.listener?.lost(id, name);
    }
    for (const id of [...this.roles.keys()]) {
      if (!held.has(id) && !this.pending.has(id)) this.roles.delete(id);
    }
    // A member whose host never came back: tell it the host left.
    for (const [id, { hostId, until }] of this.pending) {
      if (until > now) continue;
      this.pending.delete(id);
      this.roles.delete(id);
      this.listener?.departed(hostId, { kind: 'host', name: '', members: [id] });
    }
    this.options.onResync?.({
      departed: Array.isArray(result.departed) ? result.departed.length : 0,
      conflicts: Array.isArray(result.conflicts) ? result.conflicts.length : 0,
      pending: this.pending.size,
      roles: held.size,
    });
  }
}
