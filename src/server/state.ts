/**
 * The signaling server's shared state, behind one small interface so that a
 * later backend (Redis, for several nodes) can replace the in-memory one.
 *
 * Every method is asynchronous and each one is a single atomic step of the
 * backend: `claimHost` checks the name, the socket's own host and its
 * membership together; `joinGroup` checks that the host still exists while it
 * adds the member; `removeSocket` releases the name and dissolves or leaves
 * the group at once. A Redis backend does each in one script or transaction.
 *
 * Ids are Socket.IO socket ids. A group is named by its host's id; the host
 * is in its own group, and a member is in at most one group.
 */

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
  /** The joiner hosts a group itself (a host never joins another group). */
  | { kind: 'is-host' };

export type Departure =
  /** A host left: its name is released and its group dissolved; `members` were in it. */
  | { kind: 'host'; name: string; members: string[] }
  /** A member left the group of `hostId`; `remaining` is the host and the other members. */
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
  claimHost(socketId: string, name: string): Promise<ClaimResult>;
  listHosts(): Promise<HostInfo[]>;
  /** The id of the socket hosting `name`. */
  lookupHost(name: string): Promise<string | undefined>;
  /** The name `socketId` hosts. */
  hostNameOf(socketId: string): Promise<string | undefined>;
}

/** Group membership: who may message whom. */
export interface GroupMembership {
  joinGroup(memberId: string, hostId: string): Promise<JoinResult>;
  /** The id of the host whose group `socketId` is in (its own id for a host). */
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
export class StateUnavailableError extends Error {
  readonly code = 'STATE_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StateUnavailableError';
  }
}

export interface SignalingState extends HostIndex, GroupMembership {
  /** Forgets a socket that disconnected: releases its host name and dissolves its group, or leaves the group it joined. */
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
  private readonly hostByName = new Map<string, string>();
  private readonly nameByHost = new Map<string, string>();
  /** host id → ids of its members (the host itself not included). */
  private readonly groups = new Map<string, Set<string>>();
  /** member id → host id. */
  private readonly memberOf = new Map<string, string>();
  /**
   * The last `listHosts` answer, until a host comes or goes: a busy server
   * then answers from one array instead of building (and collecting) a new
   * one per request. Callers must not modify it.
   */
  private hostList: HostInfo[] | undefined;

  claimHost(socketId: string, name: string): Promise<ClaimResult> {
    const current = this.nameByHost.get(socketId);
    if (current !== undefined) {
      return Promise.resolve(
        current === name
          ? { kind: 'already-yours', name }
          : { kind: 'hosting-other', name, current },
      );
    }
    const hostId = this.memberOf.get(socketId);
    if (hostId !== undefined) return Promise.resolve({ kind: 'member', name, hostId });
    if (this.hostByName.has(name)) return Promise.resolve({ kind: 'taken', name });
    this.hostByName.set(name, socketId);
    this.nameByHost.set(socketId, name);
    this.groups.set(socketId, new Set());
    this.hostList = undefined;
    return Promise.resolve({ kind: 'claimed', name });
  }

  listHosts(): Promise<HostInfo[]> {
    this.hostList ??= [...this.nameByHost].map(([id, name]) => ({ id, name }));
    return Promise.resolve(this.hostList);
  }

  lookupHost(name: string): Promise<string | undefined> {
    return Promise.resolve(this.hostByName.get(name));
  }

  hostNameOf(socketId: string): Promise<string | undefined> {
    return Promise.resolve(this.nameByHost.get(socketId));
  }

  joinGroup(memberId: string, hostId: string): Promise<JoinResult> {
    if (this.nameByHost.has(memberId)) return Promise.resolve({ kind: 'is-host' });
    const group = this.groups.get(hostId);
    if (group === undefined) return Promise.resolve({ kind: 'not-a-host' });
    const previous = this.memberOf.get(memberId);
    if (previous === hostId) return Promise.resolve({ kind: 'already-member' });
    let left: { hostId: string; remaining: string[] } | undefined;
    if (previous !== undefined) {
      const old = this.groups.get(previous);
      old?.delete(memberId);
      left = { hostId: previous, remaining: [previous, ...(old ?? [])] };
    }
    group.add(memberId);
    this.memberOf.set(memberId, hostId);
    return Promise.resolve(left === undefined ? { kind: 'joined' } : { kind: 'joined', left });
  }

  groupOf(socketId: string): Promise<string | undefined> {
    return Promise.resolve(this.groups.has(socketId) ? socketId : this.memberOf.get(socketId));
  }

  groupMembers(hostId: string): Promise<string[]> {
    const group = this.groups.get(hostId);
    return Promise.resolve(group === undefined ? [] : [hostId, ...group]);
  }

  removeSocket(socketId: string): Promise<Departure> {
    const name = this.nameByHost.get(socketId);
    if (name !== undefined) {
      const members = [...(this.groups.get(socketId) ?? [])];
      for (const member of members) this.memberOf.delete(member);
      this.groups.delete(socketId);
      this.nameByHost.delete(socketId);
      this.hostByName.delete(name);
      this.hostList = undefined;
      return Promise.resolve({ kind: 'host', name, members });
    }
    const hostId = this.memberOf.get(socketId);
    if (hostId !== undefined) {
      this.memberOf.delete(socketId);
      const group = this.groups.get(hostId);
      group?.delete(socketId);
      return Promise.resolve({ kind: 'member', hostId, remaining: [hostId, ...(group ?? [])] });
    }
    return Promise.resolve({ kind: 'none' });
  }

  size(): Promise<StateSize> {
    return Promise.resolve({
      hosts: this.nameByHost.size,
      groups: this.groups.size,
      members: this.memberOf.size,
    });
  }

  close(): Promise<void> {
    this.hostByName.clear();
    this.nameByHost.clear();
    this.groups.clear();
    this.memberOf.clear();
    this.hostList = undefined;
    return Promise.resolve();
  }
}
