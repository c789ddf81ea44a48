/**
 * The data API end to end: `client.channel(label)` on the real engine
 * (@roamhq/wrtc) and the real signaling server.
 */
import {
  filter,
  firstValueFrom,
  interval,
  map,
  take,
  toArray,
  timeout,
  type Observable,
} from 'rxjs';
import type { PeerClient } from '../../src/client/PeerClient';
import type { Channel, ChannelMessage } from '../../src/client/channel';
import { RxpeerError } from '../../src/errors';
import { useRealServer } from '../helpers/realServer';
import { ExtrealPeer } from '../helpers/extrealPeer';
import { collect, next } from '../helpers/clientHarness';

jest.setTimeout(60_000);

/** Resolves once `channel` is open with every id in `peers`. */
function openWith(channel: Channel, peers: string[], ms = 10_000): Promise<unknown> {
  return next(channel.open$, (open) => peers.every((id) => open.has(id)), ms);
}

/** The next `count` messages on `channel` (subscribe before they are sent). */
function received(channel: Channel, count: number, ms = 15_000): Promise<ChannelMessage[]> {
  const promise = firstValueFrom(channel.messages$.pipe(take(count), toArray(), timeout(ms)));
  promise.catch(() => undefined);
  return promise;
}

const text = (m: ChannelMessage): string =>
  typeof m.data === 'string' ? m.data : `<${m.data.byteLength} bytes>`;

function pattern(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 1) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

function sameBytes(a: ArrayBuffer, b: Uint8Array): boolean {
  const x = new Uint8Array(a);
  if (x.byteLength !== b.byteLength) return false;
  for (let i = 0; i < x.byteLength; i += 1) if (x[i] !== b[i]) return false;
  return true;
}

describe('client.channel(label) on the real engine', () => {
  const real = useRealServer();

  async function mesh(
    size: number,
    label = 'data',
  ): Promise<{ client: PeerClient; id: string; channel: Channel }[]> {
    const hostClient = real.client();
    const hostChannel = hostClient.channel(label);
    const host = await real.startHost(`mesh-${size}`, hostClient);
    const members = [{ ...host, channel: hostChannel }];
    for (let i = 1; i < size; i += 1) {
      const client = real.client();
      const channel = client.channel(label);
      members.push({ ...(await real.join(host.id, client)), channel });
    }
    const ids = members.map((m) => m.id);
    await Promise.all(
      members.map((m) =>
        openWith(
          m.channel,
          ids.filter((id) => id !== m.id),
        ),
      ),
    );
    return members;
  }

  it.each([2, 4])('%i peers exchange strings and binary in every direction', async (size) => {
    const members = await mesh(size);
    const inbox = members.map((m) => received(m.channel, 2 * (size - 1)));
    for (const m of members) {
      for (const other of members) {
        if (other === m) continue;
        await m.channel.send(other.id, `text ${m.id}→${other.id}`);
        await m.channel.send(other.id, pattern(1000, members.indexOf(m)));
      }
    }
    const got = await Promise.all(inbox);
    members.forEach((m, i) => {
      const messages = got[i]!;
      for (const other of members) {
        if (other === m) continue;
        const fromOther = messages.filter((x) => x.from === other.id);
        expect(fromOther.map(text)).toEqual([`text ${other.id}→${m.id}`, '<1000 bytes>']);
        expect(
          sameBytes(fromOther[1]!.data as ArrayBuffer, pattern(1000, members.indexOf(other))),
        ).toBe(true);
      }
    });
  });

  it('broadcast reaches every peer, and declaring a label twice gives the same channel', async () => {
    const members = await mesh(3);
    expect(members[0]!.client.channel('data')).toBe(members[0]!.channel);
    const inbox = members.slice(1).map((m) => received(m.channel, 1));
    const sent = await members[0]!.channel.broadcast('to all');
    expect(sent.sort()).toEqual(
      members
        .slice(1)
        .map((m) => m.id)
        .sort(),
    );
    for (const messages of await Promise.all(inbox)) expect(messages.map(text)).toEqual(['to all']);
  });

  it('a 20 MiB binary message arrives intact (split and reassembled), and a long string too', async () => {
    const [a, b] = await mesh(2);
    const big = pattern(20 * 1024 * 1024, 7);
    const inbox = received(b!.channel, 2, 30_000);
    const longText = 'ü'.repeat(300_000); // 600 kB of UTF-8
    await a!.channel.send(b!.id, big);
    await a!.channel.send(b!.id, longText);
    const [binary, str] = await inbox;
    expect(binary!.from).toBe(a!.id);
    expect(sameBytes(binary!.data as ArrayBuffer, big)).toBe(true);
    expect(str!.data).toBe(longText);
  });

  it('a channel declared after the mesh formed opens on every pair, whichever side offered', async () => {
    const members = await mesh(3);
    const ids = members.map((m) => m.id);
    // Declared late, in a different order on each side.
    const late = [members[2]!, members[0]!, members[1]!].map((m) => ({
      ...m,
      late: m.client.channel('late'),
    }));
    await Promise.all(
      late.map((m) =>
        openWith(
          m.late,
          ids.filter((id) => id !== m.id),
        ),
      ),
    );
    const inbox = late.map((m) => received(m.late, 2));
    for (const m of late) await m.late.broadcast(`late from ${m.id}`);
    const got = await Promise.all(inbox);
    late.forEach((m, i) => {
      expect(got[i]!.map(text).sort()).toEqual(
        ids
          .filter((id) => id !== m.id)
          .map((id) => `late from ${id}`)
          .sort(),
      );
    });
  });

  it('an unreliable, unordered channel carries messages and refuses one it would have to split', async () => {
    const hostClient = real.client();
    const options = { ordered: false, maxRetransmits: 0 };
    const hostGame = hostClient.channel('game', options);
    const host = await real.startHost('unreliable', hostClient);
    const client = real.client();
    const game = client.channel('game', options);
    const joined = await real.join(host.id, client);
    await openWith(game, [host.id]);
    await openWith(hostGame, [joined.id]);
    const inbox = received(hostGame, 1);
    await game.send(host.id, 'state 1');
    expect((await inbox).map(text)).toEqual(['state 1']);
    await expect(game.send(host.id, new Uint8Array(300 * 1024))).rejects.toMatchObject({
      code: 'MESSAGE_TOO_LARGE',
    });
  });

  it('sends to a peer that is not connected or that leaves are typed errors, never unhandled', async () => {
    const [a, b] = await mesh(2);
    await expect(a!.channel.send('nobody', 'x')).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    // A stream of large sends while b leaves: each settles with success or a typed error.
    const sends = Array.from({ length: 20 }, () => a!.channel.send(b!.id, pattern(512 * 1024, 1)));
    const settled = Promise.allSettled(sends);
    await b!.client.stop();
    const results = await settled;
    for (const r of results) {
      if (r.status === 'rejected') {
        expect(r.reason).toBeInstanceOf(RxpeerError);
        expect(['PEER_GONE', 'CHANNEL_CLOSED', 'NOT_CONNECTED']).toContain(
          (r.reason as RxpeerError).code,
        );
      }
    }
    await next(a!.channel.open$, (open) => !open.has(b!.id), 10_000);
  });

  it("a channel's streams complete on dispose", async () => {
    const [a] = await mesh(2);
    const done = { messages: false, open: false };
    a!.channel.messages$.subscribe({ complete: () => (done.messages = true) });
    a!.channel.open$.subscribe({ complete: () => (done.open = true) });
    await a!.client.dispose();
    expect(done).toEqual({ messages: true, open: true });
  });

  it('an rxpeer peer and an Extreal-shaped peer share a channel (picked up by label, never made twice)', async () => {
    const hostClient = real.client();
    const chat = hostClient.channel('chat');
    const host = await real.startHost('with-extreal', hostClient);
    const errors = collect(hostClient.errors$);
    // The Extreal client offers to nobody; the rxpeer host offers to it and makes the channel.
    const old = new ExtrealPeer({ url: real.server.url, csharpNulls: true });
    real.onCleanup(() => old.stop());
    await old.startClient(host.id);
    await openWith(chat, [old.id]);
    // A client that joins later: the Extreal peer is asked to offer to it, and its app makes 'chat'.
    const modernClient = real.client();
    const modernChat = modernClient.channel('chat');
    const modern = await real.join(host.id, modernClient);
    await openWith(modernChat, [host.id, old.id]);
    await next(
      collectUntil(
        () =>
          old.channels.size === 2 &&
          [...old.channels.values()].every((c) => c.readyState === 'open'),
      ),
      Boolean,
      10_000,
    );

    const hostInbox = received(chat, 1);
    const modernInbox = received(modernChat, 1);
    expect(old.broadcast('from extreal')).toBe(2);
    expect((await hostInbox).map((m) => [m.from, text(m)])).toEqual([[old.id, 'from extreal']]);
    expect((await modernInbox).map((m) => [m.from, text(m)])).toEqual([[old.id, 'from extreal']]);

    await chat.send(old.id, 'hello old');
    await modernChat.send(old.id, 'hello from modern');
    await next(
      collectUntil(() => old.received.length >= 2),
      Boolean,
      5000,
    );
    expect(old.received.map((r) => [r.from, r.text]).sort()).toEqual(
      [
        [host.id, 'hello old'],
        [modern.id, 'hello from modern'],
      ].sort(),
    );
    // Over the pair's max-message-size: refused, never truncated.
    await expect(chat.send(old.id, new Uint8Array(300 * 1024))).rejects.toMatchObject({
      code: 'MESSAGE_TOO_LARGE',
    });
    // Between the two rxpeer peers the same label still splits large messages.
    const big = received(modernChat, 1);
    await chat.send(modern.id, pattern(1024 * 1024, 3));
    expect(sameBytes((await big)[0]!.data as ArrayBuffer, pattern(1024 * 1024, 3))).toBe(true);
    expect(errors.values).toEqual([]);
  });
});

/** A stream that emits `true` once `condition()` holds (polled every 10 ms). */
function collectUntil(condition: () => boolean): Observable<boolean> {
  return interval(10).pipe(map(condition), filter(Boolean), take(1));
}
