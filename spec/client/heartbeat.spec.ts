/**
 * CHECKLIST 46: a pong counts only when it answers a ping this side sent.
 */
import { TestScheduler } from 'rxjs/testing';
import { heartbeat$, type ControlMessage } from '../../src/streams/control';
import { FakeDataChannel } from '../helpers/fakePeerConnection';

describe('heartbeat$ (virtual time)', () => {
  const setup = (): { scheduler: TestScheduler; channel: FakeDataChannel; tokens: () => number } => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    const channel = new FakeDataChannel('rxpeer-control');
    channel.open();
    let n = 0;
    return { scheduler, channel, tokens: () => (n += 1) };
  };
  const pong = (at: number): ControlMessage => ({ t: 'pong', at });

  it('measures the RTT from the ping it sent, and ignores forged, replayed and unknown pongs', () => {
    const { scheduler, channel, tokens } = setup();
    scheduler.run(({ hot, expectObservable }) => {
      // Pings with tokens 1, 2, 3 … at 10, 20, 30 …
      const received = hot<ControlMessage>('---------------abc-----d-e', {
        a: pong(1),
        b: pong(-1e308),
        c: pong(1),
        d: pong(99),
        e: pong(2),
      });
      const rtt$ = heartbeat$(channel as unknown as RTCDataChannel, received, 10, scheduler, tokens);
      expectObservable(rtt$, '^-------------------------!').toBe('---------------5---------5', { 5: 5 });
    });
    expect(channel.sent.slice(0, 2)).toEqual([JSON.stringify({ t: 'ping', at: 1 }), JSON.stringify({ t: 'ping', at: 2 })]);
  });

  it('answers a ping with a pong echoing its token', () => {
    const { scheduler, channel, tokens } = setup();
    scheduler.run(({ hot, expectObservable }) => {
      const received = hot<ControlMessage>('--p', { p: { t: 'ping', at: 1234 } });
      expectObservable(heartbeat$(channel as unknown as RTCDataChannel, received, 100, scheduler, tokens), '^----!').toBe('-----');
    });
    expect(channel.sent).toEqual([JSON.stringify({ t: 'pong', at: 1234 })]);
  });

  it('forgets pings past the last 16, so their late pongs do not count', () => {
    const { scheduler, channel, tokens } = setup();
    scheduler.run(({ hot, expectObservable }) => {
      // 20 pings by frame 200; the pong for token 1 comes after it was forgotten, the one for 20 counts.
      const received = hot<ControlMessage>(`${'-'.repeat(205)}ab`, { a: pong(1), b: pong(20) });
      const rtt$ = heartbeat$(channel as unknown as RTCDataChannel, received, 10, scheduler, tokens);
      expectObservable(rtt$, `^${'-'.repeat(207)}!`).toBe(`${'-'.repeat(206)}r`, { r: 6 });
    });
  });

  it('uses unguessable tokens by default', () => {
    const { scheduler, channel } = setup();
    scheduler.run(({ hot, expectObservable }) => {
      expectObservable(heartbeat$(channel as unknown as RTCDataChannel, hot<ControlMessage>('-'), 1, scheduler), '^--!').toBe('---');
    });
    const tokens = channel.sent.map((s) => (JSON.parse(s) as { at: number }).at);
    expect(tokens).toHaveLength(2);
    expect(tokens[0]).not.toBe(tokens[1]);
    expect(tokens.every((t) => Number.isInteger(t) && t >= 0 && t < 2 ** 32)).toBe(true);
  });
});
