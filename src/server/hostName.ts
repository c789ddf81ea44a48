/**
 * The one rule for host names. A name is accepted when, after Unicode NFC
 * normalization, it
 *
 * - is a string of 1 to `maxLength` code points (64 by default);
 * - holds no lone surrogate (it could not cross to UTF-8 and back);
 * - holds no control character (Unicode `Cc`: C0, DEL, C1) and no format
 *   character (`Cf`: zero-width space, BOM, bidi overrides …) except the
 *   zero-width joiner and non-joiner (U+200D, U+200C), which emoji sequences
 *   and some scripts need;
 * - holds at least one visible character (a letter, digit, symbol or
 *   punctuation), so whitespace-only and invisible-only names are refused;
 * - does not look like a Socket.IO socket id (exactly 20 characters from
 *   `A–Z a–z 0–9 _ -`), whether or not such a socket exists, so the answer
 *   never reveals which ids are live.
 *
 * Leading and trailing whitespace is kept as sent (the name round-trips
 * through `list hosts` exactly as its NFC form).
 */

export type HostNameResult = { ok: true; name: string } | { ok: false; message: string };

/** Shape of the ids Socket.IO gives sockets (base64id: 15 random bytes, URL-safe base64). */
export const SOCKET_ID_SHAPE = /^[A-Za-z0-9_-]{20}$/;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const CONTROL = /\p{Cc}/u;
const FORMAT_EXCEPT_JOINERS = /(?![\u200C\u200D])\p{Cf}/u;
const VISIBLE = /[\p{L}\p{N}\p{S}\p{P}]/u;

/** Validates and normalizes a host name; the message names the problem. */
export function validateHostName(raw: unknown, maxLength: number): HostNameResult {
  if (typeof raw !== 'string') {
    return {
      ok: false,
      message: `Host name must be a string, got ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}.`,
    };
  }
  if (raw.length === 0) return { ok: false, message: 'Host name must not be empty.' };
  // A code point takes at most 2 UTF-16 units, and NFC rarely expands a
  // string; refuse anything far over the limit before normalizing it.
  if (raw.length > maxLength * 4) {
    return { ok: false, message: `Host name is longer than ${maxLength} characters.` };
  }
  if (LONE_SURROGATE.test(raw))
    return { ok: false, message: 'Host name contains a lone surrogate (invalid Unicode).' };
  const name = raw.normalize('NFC');
  if ([...name].length > maxLength) {
    return { ok: false, message: `Host name is longer than ${maxLength} characters.` };
  }
  if (CONTROL.test(name)) return { ok: false, message: 'Host name contains a control character.' };
  if (FORMAT_EXCEPT_JOINERS.test(name)) {
    return {
      ok: false,
      message:
        'Host name contains an invisible format character (zero-width space, BOM, bidi control …).',
    };
  }
  if (!VISIBLE.test(name))
    return {
      ok: false,
      message: 'Host name must contain a visible character (not only whitespace).',
    };
  if (SOCKET_ID_SHAPE.test(name)) {
    return {
      ok: false,
      message:
        'Host name must not look like a socket id (20 characters of A-Z, a-z, 0-9, "_" or "-").',
    };
  }
  return { ok: true, name };
}
