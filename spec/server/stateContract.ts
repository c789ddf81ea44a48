/**
 * The contract every {@link SignalingState} backend must keep. Run it for a
 * backend with `describeSignalingState(name, factory)`; the in-memory one
 * runs it in state.spec.ts, a Redis one can run the very same cases.
 */

import type { SignalingState } from '../../src/server/index.js';

export function describeSignalingState(name: string, create: () => Promise<SignalingState>): void {
  describe(`${name} (SignalingState contract)`, () => {
    let state: SignalingState;

    beforeEach(async () => {
      state = await create();
    });

    afterEach(async () => {
      await state.close();
    });

    it('claims a name once; a repeat by its host is idempotent; another socket is refused', async () => {
      expect(await state.claimHost('h1', 'Room')).toEqual({ kind: 'claimed', name: 'Room' });
      expect(await state.claimHost('h1', 'Room')).toEqual({ kind: 'already-yours', name: 'Room' });
      expect(await state.claimHost('h2', 'Room')).toEqual({ kind: 'taken', name: 'Room' });
      expect(await state.claimHost('h1', 'Other')).toEqual({
        kind: 'hosting-other',
        name: 'Other',
        current: 'Room',
      });
      expect(await state.lookupHost('Room')).toBe('h1');
      expect(await state.hostNameOf('h1')).toBe('Room');
      expect(await state.listHosts()).toEqual([{ id: 'h1', name: 'Room' }]);
    });

    it('gives exactly one claim to concurrent claimers of one name', async () => {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => state.claimHost(`s${i}`, 'Contested')),
      );
      expect(results.filter((r) => r.kind === 'claimed')).toHaveLength(1);
      expect(results.filter((r) => r.kind === 'taken')).toHaveLength(49);
    });

    it('joins a member to a host group, and only to a host', async () => {
      await state.claimHost('h1', 'Room');
      expect(await state.joinGroup('m1', 'h1')).toEqual({ kind: 'joined' });
      expect(await state.joinGroup('m1', 'h1')).toEqual({ kind: 'already-member' });
      expect(await state.joinGroup('m2', 'm1')).toEqual({ kind: 'not-a-host' });
      expect(await state.joinGroup('m2', 'nobody')).toEqual({ kind: 'not-a-host' });
      expect(await state.joinGroup('h1', 'h1')).toEqual({ kind: 'is-host' });
      expect(await state.groupOf('h1')).toBe('h1');
      expect(await state.groupOf('m1')).toBe('h1');
      expect(await state.groupOf('m2')).toBeUndefined();
      expect(await state.groupMembers('h1')).toEqual(['h1', 'm1']);
      expect(await state.groupMembers('m1')).toEqual([]);
    });

    it('moves a member that joins another group, telling whom it left', async () => {
      await state.claimHost('a', 'A');
      await state.claimHost('b', 'B');
      await state.joinGroup('m1', 'a');
      await state.joinGroup('m2', 'a');
      expect(await state.joinGroup('m1', 'b')).toEqual({
        kind: 'joined',
        left: { hostId: 'a', remaining: ['a', 'm2'] },
      });
      expect(await state.groupMembers('a')).toEqual(['a', 'm2']);
      expect(await state.groupOf('m1')).toBe('b');
    });

    it('does not let a member claim a host name', async () => {
      await state.claimHost('h1', 'Room');
      await state.joinGroup('m1', 'h1');
      expect(await state.claimHost('m1', 'Mine')).toEqual({
        kind: 'member',
        name: 'Mine',
        hostId: 'h1',
      });
    });

    it('frees the name when the host is removed; its members stay a group nobody can join', async () => {
      await state.claimHost('h1', 'Room');
      await state.joinGroup('m1', 'h1');
      await state.joinGroup('m2', 'h1');
      expect(await state.removeSocket('h1')).toEqual({
        kind: 'host',
        name: 'Room',
        members: ['m1', 'm2'],
      });
      expect(await state.listHosts()).toEqual([]);
      expect(await state.lookupHost('Room')).toBeUndefined();
      expect(await state.groupOf('m1')).toBe('h1');
      expect(await state.groupOf('m2')).toBe('h1');
      expect(await state.groupOf('h1')).toBeUndefined();
      expect(await state.joinGroup('m3', 'h1')).toEqual({ kind: 'not-a-host' });
      expect(await state.claimHost('h2', 'Room')).toEqual({ kind: 'claimed', name: 'Room' });
      // A member leaving tells the other member only (the host is gone) …
      expect(await state.removeSocket('m1')).toEqual({
        kind: 'member',
        hostId: 'h1',
        remaining: ['m2'],
      });
      // … and the last one takes the group with it.
      expect(await state.removeSocket('m2')).toEqual({
        kind: 'member',
        hostId: 'h1',
        remaining: [],
      });
      expect(await state.groupOf('m2')).toBeUndefined();
      await state.removeSocket('h2');
      expect(await state.size()).toEqual({ hosts: 0, groups: 0, members: 0 });
    });

    it('lets a member of a group whose host left join another host, telling who is left', async () => {
      await state.claimHost('a', 'A');
      await state.claimHost('b', 'B');
      await state.joinGroup('m1', 'a');
      await state.joinGroup('m2', 'a');
      await state.removeSocket('a');
      expect(await state.joinGroup('m1', 'b')).toEqual({
        kind: 'joined',
        left: { hostId: 'a', remaining: ['m2'] },
      });
      expect(await state.removeSocket('m2')).toEqual({
        kind: 'member',
        hostId: 'a',
        remaining: [],
      });
      expect(await state.size()).toEqual({ hosts: 1, groups: 1, members: 1 });
    });

    it('caps a group at maxSize sockets, host included', async () => {
      await state.claimHost('h1', 'Room');
      expect(await state.joinGroup('m1', 'h1', 3)).toEqual({ kind: 'joined' });
      expect(await state.joinGroup('m2', 'h1', 3)).toEqual({ kind: 'joined' });
      expect(await state.joinGroup('m3', 'h1', 3)).toEqual({ kind: 'full' });
      expect(await state.joinGroup('m2', 'h1', 3)).toEqual({ kind: 'already-member' });
      await state.removeSocket('m1');
      expect(await state.joinGroup('m3', 'h1', 3)).toEqual({ kind: 'joined' });
    });

    it('compares names by their key: a second name with a taken key is taken, and is listed as sent', async () => {
      expect(await state.claimHost('h1', 'Room', 'room')).toEqual({
        kind: 'claimed',
        name: 'Room',
      });
      expect(await state.claimHost('h2', 'ROOM', 'room')).toEqual({ kind: 'taken', name: 'ROOM' });
      expect(await state.listHosts()).toEqual([{ id: 'h1', name: 'Room' }]);
      expect(await state.lookupHost('room')).toBe('h1');
      await state.removeSocket('h1');
      expect(await state.claimHost('h2', 'ROOM', 'room')).toEqual({
        kind: 'claimed',
        name: 'ROOM',
      });
    });

    it('removes a member, returning the host and the other members', async () => {
      await state.claimHost('h1', 'Room');
      await state.joinGroup('m1', 'h1');
      await state.joinGroup('m2', 'h1');
      expect(await state.removeSocket('m1')).toEqual({
        kind: 'member',
        hostId: 'h1',
        remaining: ['h1', 'm2'],
      });
      expect(await state.removeSocket('m1')).toEqual({ kind: 'none' });
      expect(await state.removeSocket('stranger')).toEqual({ kind: 'none' });
    });

    it('returns to empty after everyone is removed', async () => {
      await state.claimHost('h1', 'A');
      await state.claimHost('h2', 'B');
      await state.joinGroup('m1', 'h1');
      await state.joinGroup('m2', 'h2');
      expect(await state.size()).toEqual({ hosts: 2, groups: 2, members: 2 });
      for (const id of ['m1', 'h1', 'h2', 'm2']) await state.removeSocket(id);
      expect(await state.size()).toEqual({ hosts: 0, groups: 0, members: 0 });
    });
  });
}
