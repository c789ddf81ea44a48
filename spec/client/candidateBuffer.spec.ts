/**
 * CHECKLIST 45: candidates for an existing connection that come before its
 * remote description are held in a bounded buffer; a peer that trickles
 * without end cannot grow it.
 */
import { CandidateBufferFullError, type RxpeerError } from '../../src/errors';
import { MAX_PENDING_CANDIDATES } from '../../src/client/session';
import { collect, harness, next, settle, type Harness } from '../helpers/clientHarness';
import type { FakeSocket } from '../helpers/fakeSignaling';

describe('candidates before the remote description (fakes)', () => {
  let h: Harness;
  let raw: FakeSocket | undefined;
  beforeEach(() => {
    h = harness();
  });
  afterEach(async () => {
    raw?.disconnect();
    raw = undefined;
    await h.disposeAll();
  });

  /** A host, and a raw socket that joined it: the host has offered and waits for an answer. */
  async function hostWithPendingAnswer(): Promise<{ hostId: string; errors: RxpeerError[]; rawId: string }> {
    const host = h.make();
    const started = next(host.started$);
    await host.startHost('room');
    const hostId = await started;
    const errors = collect(host.errors$).values;
    raw = h.hub.createSocket();
    raw.connect();
    await settle();
    raw.emit('message', { type: 'join', to: hostId });
    await next(host.peers$, (m) => m.has(raw!.id));
    await settle(2);
    expect(h.hub.trace((m) => m.type === 'offer')).toEqual([`offer ${hostId}→${raw.id}`]);
    return { hostId, errors, rawId: raw.id };
  }

  const candidate = (n: number): Record<string, unknown> => ({ candidate: `candidate:h${n}`, sdpMid: '0', sdpMLineIndex: 0 });

  it(`holds at most ${MAX_PENDING_CANDIDATES} per connection, refuses the rest with one typed error, and applies the first ones in order`, async () => {
    const { hostId, errors } = await hostWithPendingAnswer();
    for (let n = 0; n < 1000; n += 1) raw!.emit('message', { type: 'candidate', to: hostId, candidate: candidate(n) });
    await settle(5);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(CandidateBufferFullError);
    expect(errors[0]).toMatchObject({ code: 'CANDIDATE_BUFFER_FULL', limit: MAX_PENDING_CANDIDATES, peerId: raw!.id });
    const pc = h.net.all[0]!;
    expect(pc.candidates).toEqual([]);
    raw!.emit('message', { type: 'answer', to: hostId, sdp: 'answer-raw' });
    await settle(5);
    expect(pc.candidates.map((c) => c?.candidate)).toEqual(Array.from({ length: MAX_PENDING_CANDIDATES }, (_, n) => `candidate:h${n}`));
    // Once the description is set, candidates go straight to the engine.
    raw!.emit('message', { type: 'candidate', to: hostId, candidate: null });
    await settle(2);
    expect(pc.candidates).toHaveLength(MAX_PENDING_CANDIDATES + 1);
    expect(errors).toHaveLength(1);
  });

  it('raises no error for a peer that stays within the bound', async () => {
    const { hostId, errors } = await hostWithPendingAnswer();
    for (let n = 0; n < MAX_PENDING_CANDIDATES; n += 1) raw!.emit('message', { type: 'candidate', to: hostId, candidate: candidate(n) });
    await settle(5);
    expect(errors).toEqual([]);
  });
});
