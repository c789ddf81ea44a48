/**
 * The signaling server's shared state, behind one small interface so that a
 * later backend (Redis, for several nodes) can replace the in-memory one.
 *
 * Every method is asynchronous and each one is a single atomic step of the
 * backend: `claimHost` checks the name, the socket's own host and its
 * membership together; `joinGroup` checks that the host still exists and the
 * group's size while it adds the member; `removeSocket` releases the name and
 * leaves the group at once. A Redis backend does each in one script.
 *
 * Ids are Socket.IO socket ids. A group is named by its host's id; the host
 * is in its own group, and a member is in at most one group. When the host
 * leaves, its name is released at once and nobody can join the group any
 * more, but the members stay a group (they relay to each other and hear each
 * other leave) until the last one leaves (issue 13, case 1).
 *
 * Names are unique by their look-alike key (`hostNameKey`): `claimHost` gets
 * the name to list and the key to compare; a backend compares keys only.
 */

import { RxpeerError } from '../errors.js';
import type { HostInfo } from '../protocol/wire.js';

export type ClaimResult =
  /** The name is now this socket's. */
  | { kind: 'claimed'; name: string }
  /** This socket already hosts this very name (a repeat is idempotent). */
  | { kind: 'already-yours'; name: string }
  /** Another socket hosts the name. */
  | { kind: 'taken'; name: string }
  /** This socket already hosts another name (one host per socket). */
  | { kind: 'hosting-other'; name: string; current: string }
  /** This socket is a member of another host's group. */
  | { kind: 'member'; name: string; hostId: string };

export type JoinResult =
  /** Joined; `left` tells which group it left to do so (its remaining sockets). */
  | { kind: 'joined'; left?: { hostId: string; remaining: string[] } }
  /** Already a member of that group; nothing changed. */
  | { kind: 'already-member' }
  /** The target is not a host (never was, left, or is a member). */
  | { kind: 'not-a-host' }
  /** The group already has `maxSize` sockets (host included). */
  | { kind: 'full' }
  /** The joiner hosts a group itself (a host never joins another group). */
  | { kind: 'is-host' };

export type Departure =
  /** A host left: its name is released; `members` stay a group without it (nobody joins any more). */
  | { kind: 'host'; name: string; members: string[] }
  /** A member left the group of `hostId`; `remaining` is the host (when still there) and the other members. */
  | { kind: 'member'; hostId: string; remaining: string[] }
  /** The socket neither hosted nor joined. */
  | { kind: 'none' };

export interface StateSize {
  hosts: number;
  groups: number;
  members: number;
}

/** The host index: which socket hosts which name. `listHosts` is O(hosts). */
export interface HostIndex {
  /** Claims `name`, unique by `key` (its look-alike key; default: the name itself). */
  claimHost(socketId: string, name: string, key?: string): Promise<ClaimResult>;
  listHosts(): Promise<HostInfo[]>;
  /** The id of the socket hosting the name whose key is `key`. */
  lookupHost(key: string): Promise<string | undefined>;
  /** The name `socketId` hosts. */
  hostNameOf(socketId: string): Promise<string | undefined>;
}

/** Group membership: who may message whom. */
export interface GroupMembership {
  /** Joins `hostId`'s group unless it already holds `maxSize` sockets (default: no cap). */
  joinGroup(memberId: string, hostId: string, maxSize?: number): Promise<JoinResult>;
  /** The id of the group `socketId` is in: its own id for a host, its host's (also a host that left) for a member. */
  groupOf(socketId: string): Promise<string | undefined>;
  /** The host first, then the members; empty when `hostId` hosts nothing. */
  groupMembers(hostId: string): Promise<string[]>;
}

/**
 * What a shared backend tells the server that no request of the server's own
 * caused: sockets of a dead node reaped, memberships that did not survive a
 * re-sync, a host name lost in a re-sync.
 */
export interface SignalingStateListener {
  /** `socketId` left (reaped with its dead node, or dropped in a re-sync); tell its group as for a disconnect. */
  departed(socketId: string, departure: Departure): void;
  /** `socketId`, connected to this node, no longer holds the host name it held (another socket claimed it while the backend was away). */
  lost(socketId: string, name: string): void;
}

/** How a shared backend is doing, for `/healthz`. */
export interface BackendStatus {
  backend: string;
  /** `ready`; `resyncing` (connected, re-asserting this node's sockets); `down` (unreachable: requests get 503); `closed`. */
  status: 'ready' | 'resyncing' | 'down' | 'closed';
  /** This node's id in the cluster. */
  node: string;
}

/**
 * The backend could not be reached in time (Redis down, or too slow). The
 * request that needed it is answered 503; nothing was decided.
 */
export class StateUnavailableError extends RxpeerError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('STATE_UNAVAILABLE', message, options);
  }
}

export interface SignalingState extends HostIndex, GroupMembership {
  /** Forgets a socket that disconnected: releases its host name, or leaves the group it joined. */
  removeSocket(socketId: string): Promise<Departure>;
  size(): Promise<StateSize>;
  /** Releases the backend's resources (connections, timers). */
  close(): Promise<void>;
  /** Shared backends only: where to report changes no request caused. The server sets it once. */
  setListener?(listener: SignalingStateListener | undefined): void;
  /** Shared backends only: the backend's status for `/healthz`. */
  status?(): BackendStatus;
}

/** The single-node backend: plain maps, each operation synchronous inside its promise. */
export class InMemorySignalingState implements SignalingState {
  /** look-alike key → host id. */
  private readonly hostByKey = new Map<string, string>();
  /** host id → its name and key. */
  private readonly nameByHost = new Map<string, { name: string; key: string }>();
  /** group id (its host's id, also after the host left) → ids of its members (the host not included). */
  private readonly groups = new Map<string, Set<string>>();
  /** member id → group id. */
  private readonly memberOf = new Map<string, string>();
  /**
   * The last `listHosts` answer, until a host comes or goes: a busy server
   * then answers from one array instead of building (and collecting) a new
   * one per request. Callers must not modify it.
   */
  private hostList: HostInfo[] | undefined;

  claimHost(socketId: string, name: string, key: string = name): Promise<ClaimResult> {
    const current = this.nameByHost.get(socketId);
    if (current !== undefined) {
      return Promise.resolve(
        current.name === name
          ? { kind: 'already-yours', name }
          : { kind: 'hosting-other', name, current: current.name },
      );
    }
    const hostId = this.memberOf.get(socketId);
    if (hostId !== undefined) return Promise.resolve({ kind: 'member', name, hostId });
    if (this.hostByKey.has(key)) return Promise.resolve({ kind: 'taken', name });
    this.hostByKey.set(key, socketId);
    this.nameByHost.set(socketId, { name, key });
    this.groups.set(socketId, new Set());
    this.hostList = undefined;
    return Promise.resolve({ kind: 'claimed', name });
  }

  listHosts(): Promise<HostInfo[]> {
    this.hostList ??= [...this.nameByHost].map(([id, { name }]) => ({ id, name }));
    return Promise.resolve(this.hostList);
  }

  lookupHost(key: string): Promise<string | undefined> {
    return Promise.resolve(this.hostByKey.get(key));
  }

  hostNameOf(socketId: string): Promise<string | undefined> {
    return Promise.resolve(this.nameByHost.get(socketId)?.name);
  }

  joinGroup(memberId: string, hostId: string, maxSize = Infinity): Promise<JoinResult> {
    if (this.nameByHost.has(memberId)) return Promise.resolve({ kind: 'is-host' });
    const group = this.groups.get(hostId);
    if (group === undefined || !this.nameByHost.has(hostId))
      return Promise.resolve({ kind: 'not-a-host' });
    const previous = this.memberOf.get(memberId);
    if (previous === hostId) return Promise.resolve({ kind: 'already-member' });
    if (group.size + 1 >= maxSize) return Promise.resolve({ kind: 'full' });
    let left: { hostId: string; remaining: string[] } | undefined;
    if (previous !== undefined)
      left = { hostId: previous, remaining: this.leave(memberId, previous) };
    group.add(memberId);
    this.memberOf.set(memberId, hostId);
    return Promise.resolve(left === undefined ? { kind: 'joined' } : { kind: 'joined', left });
  }

  groupOf(socketId: string): Promise<string | undefined> {
    return Promise.resolve(this.nameByHost.has(socketId) ? socketId : this.memberOf.get(socketId));
  }

  groupMembers(hostId: string): Promise<string[]> {
    const group = this.groups.get(hostId);
    return Promise.resolve(
      group === undefined || !this.nameByHost.has(hostId) ? [] : [hostId, ...group],
    );
  }

  removeSocket(socketId: string): Promise<Departure> {
    const hosted = this.nameByHost.get(socketId);
    if (hosted !== undefined) {
      const members = [...(this.groups.get(socketId) ?? [])];
      // The members stay a group without their host until the last one leaves.
      if (members.length === 0) this.groups.delete(socketId);
      this.nameByHost.delete(socketId);
      this.hostByKey.delete(hosted.key);
      this.hostList = undefined;
      return Promise.resolve({ kind: 'host', name: hosted.name, members });
    }
    const hostId = this.memberOf.get(socketId);
    if (hostId !== undefined)
      return Promise.resolve({ kind: 'member', hostId, remaining: this.leave(socketId, hostId) });
    return Promise.resolve({ kind: 'none' });
  }

  /** Takes a member out of its group; returns who is left in it (the host first, when still there). */
  private leave(memberId: string, hostId: string): string[] {
    this.memberOf.delete(memberId);
    const group = this.groups.get(hostId);
    group?.delete(memberId);
    const hostThere = this.nameByHost.has(hostId);
    if (!hostThere && group !== undefined && group.size === 0) this.groups.delete(hostId);
    return [...(hostThere ? [hostId] : []), ...(group ?? [])];
  }

  size(): Promise<StateSize> {
    return Promise.resolve({
      hosts: this.nameByHost.size,
      groups: this.groups.size,
      members: this.memberOf.size,
    });
  }

  close(): Promise<void> {
    this.hostByKey.clear();
    this.nameByHost.clear();
    this.groups.clear();
    this.memberOf.clear();
    this.hostList = undefined;
    return Promise.resolve();
  }
}
