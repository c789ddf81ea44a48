/**
 * Issue 12 defect 14 / CHECKLIST row 50: host names that render blank are
 * refused, look-alikes of a listed name are the same name (409), and line
 * separators are refused (docs/host-names.md). The Redis backend keeps the
 * same rule: spec/cluster/redisProtocol.spec.ts.
 */

import { hostNameKey, validateHostName } from '../../src/server/hostName.js';
import { Harness, type ClientSocket } from './helpers.js';

describe('the host-name rule', () => {
  it.each([
    ['a Hangul filler', '\u3164'],
    ['Hangul choseong filler', '\u115F\u115F'],
    ['a blank Braille pattern', '\u2800\u2800'],
    ['halfwidth Hangul filler', '\uFFA0'],
    ['variation selectors and spaces', ' \uFE0F \uFE0F '],
    ['a combining grapheme joiner', '\u034F'],
    ['ideographic spaces and a Hangul filler', '\u3000\u3164\u3000'],
  ])('refuses a name that renders blank: %s', (_label, name) => {
    expect(validateHostName(name, 64)).toEqual({
      ok: false,
      message: expect.stringContaining('visible character'),
    });
  });

  it.each([
    ['a line separator', 'Room\u2028Two'],
    ['a paragraph separator', 'Room\u2029'],
  ])('refuses %s inside a name', (_label, name) => {
    expect(validateHostName(name, 64)).toEqual({
      ok: false,
      message: expect.stringContaining('line/paragraph separator'),
    });
  });

  it.each([
    ['an invisible variation selector added', 'Lobby', 'Lobby\uFE0F'],
    ['a combining grapheme joiner added', 'Lobby', 'Lob\u034Fby'],
    ['Cyrillic letters', 'Lobby', 'Lоbby'],
    ['all-Cyrillic look-alike', 'Pacex', 'Расех'],
    ['Greek letters', 'Kappa', 'Κappa'],
    ['fullwidth forms', 'Lobby 1', 'Ｌｏｂｂｙ １'],
    ['mathematical letters', 'Lobby', '𝐋𝐨𝐛𝐛𝐲'],
    ['case', 'Lobby', 'LOBBY'],
    ['l, I and 1', 'Hall 1', 'HaII l'],
    ['0 and O', 'Room 10', 'Room 1O'],
    ['rn and m', 'modern', 'rnodern'],
    ['extra and edge whitespace', 'My Room', '  My   Room '],
    ['a zero-width joiner', 'Lobby', 'Lob\u200Dby'],
    ['NFD and NFC', 'Café', 'Cafe\u0301'],
  ])('gives look-alikes one key: %s', (_label, a, b) => {
    const first = validateHostName(a, 64);
    const second = validateHostName(b, 64);
    expect(first.ok && second.ok).toBe(true);
    if (first.ok && second.ok) expect(second.key).toBe(first.key);
  });

  it.each([
    ['Room 1', 'Room 2'],
    ['Lobby', 'Lobbies'],
    ['Café', 'Cafe'],
    ['ルーム', 'ルーム 2'],
    ['😀 party', '😃 party'],
  ])('keeps different names apart: %s / %s', (a, b) => {
    expect(hostNameKey(a)).not.toBe(hostNameKey(b));
  });

  it('keeps emoji with a variation selector and ZWJ sequences valid, listed as sent', () => {
    expect(validateHostName('❤\uFE0F room', 64)).toMatchObject({ ok: true, name: '❤\uFE0F room' });
    expect(validateHostName('👨‍👩‍👧 family', 64)).toMatchObject({ ok: true, name: '👨‍👩‍👧 family' });
  });
});

describe('look-alike names on the server (in memory)', () => {
  let h: Harness;
  let first: ClientSocket;

  beforeEach(async () => {
    h = await Harness.start();
    first = await h.connect();
    expect((await h.createHost(first, 'Lobby')).status).toBe(200);
  });

  afterEach(async () => {
    await h.close();
  });

  it.each([
    ['an added U+FE0F', 'Lobby\uFE0F'],
    ['an added U+034F', 'Lob\u034Fby'],
    ['a Cyrillic о', 'Lоbby'],
    ['fullwidth forms', 'Ｌｏｂｂｙ'],
    ['another case', 'lobby'],
  ])('answers 409 to a look-alike of a listed name: %s', async (_label, name) => {
    const other = await h.connect();
    expect(await h.createHost(other, name)).toMatchObject({ status: 409, reason: 'name-taken' });
    expect(await h.listHosts(other)).toEqual([{ id: first.id, name: 'Lobby' }]);
  });

  it('frees the look-alikes when the host leaves', async () => {
    const other = await h.connect();
    await h.leave(first);
    expect((await h.createHost(other, 'LOBBY')).status).toBe(200);
    expect(await h.listHosts(other)).toEqual([{ id: other.id, name: 'LOBBY' }]);
  });

  it('answers 400 to blank-rendering names and U+2028', async () => {
    const other = await h.connect();
    for (const name of ['\u3164', '\u115F', '\u2800', 'Lobby\u2028Two'])
      expect(await h.createHost(other, name)).toMatchObject({ status: 400, reason: 'bad-name' });
  });
});
