/**
 * Issue 13 #5: under an Extreal host (whose `call me` carries no caps), two
 * rxpeer members still trickle with each other, on both ends; an Extreal
 * newcomer still gets a complete vanilla offer.
 */
import type { PeerClient } from '../../src/client/PeerClient';
import { attachChat } from '../helpers/chat';
import { next } from '../helpers/clientHarness';
import { ExtrealPeer } from '../helpers/extrealPeer';
import { useRealServer } from '../helpers/realServer';

jest.setTimeout(60_000);

describe('rxpeer members under an Extreal host', () => {
  const real = useRealServer();
  const extrealPeer = (): ExtrealPeer => {
    const peer = new ExtrealPeer({ url: real.server.url });
    real.onCleanup(() => peer.stop());
    return peer;
  };
  const modes = async (client: PeerClient, size: number): Promise<Record<string, string>> => {
    const peers = await next(client.peers$, (m) => m.size === size && [...m.values()].every((p) => p.connectionState === 'connected'), 15_000);
    return Object.fromEntries([...peers].map(([id, p]) => [id, p.mode]));
  };

  it('two rxpeer members trickle with each other on both ends, and vanilla with the host', async () => {
    const host = extrealPeer();
    await expect(host.startHost('old-host')).resolves.toMatchObject({ status: 200 });
    const a = real.client();
    const b = real.client();
    const chatA = attachChat(a);
    const chatB = attachChat(b);
    const { id: aId } = await real.join(host.id, a);
    const { id: bId } = await real.join(host.id, b);
    expect(await modes(a, 2)).toEqual({ [host.id]: 'vanilla', [bId]: 'trickle' });
    expect(await modes(b, 2)).toEqual({ [host.id]: 'vanilla', [aId]: 'trickle' });
    // And the pair works.
    await chatA.openTo([bId]);
    await chatB.openTo([aId]);
    chatA.broadcast('hi b');
    await chatB.receivedAtLeast(1, (m) => m.from === aId && m.text === 'hi b');
    // The Extreal host saw only protocol messages.
    expect(new Set(host.seenTypes)).toEqual(new Set(['join', 'answer']));
  });

  it('an Extreal newcomer under an Extreal host still gets a complete vanilla offer from an rxpeer member', async () => {
    const host = extrealPeer();
    await host.startHost('old-host-2');
    const a = real.client();
    const { id: aId } = await real.join(host.id, a);
    const old = extrealPeer();
    await old.startClient(host.id);
    expect(await modes(a, 2)).toEqual({ [host.id]: 'vanilla', [old.id]: 'vanilla' });
    expect(old.pcs.has(aId)).toBe(true);
    // It was asked for its caps (and ignored the question), and never got a candidate.
    expect(old.seenTypes).toContain('caps query');
    expect(old.seenTypes).not.toContain('candidate');
  });
});
