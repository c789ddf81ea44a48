/**
 * The one rule for host names (docs/host-names.md). A name is accepted when,
 * after Unicode NFC normalization, it
 *
 * - is a string of 1 to `maxLength` code points (64 by default);
 * - holds no lone surrogate (it could not cross to UTF-8 and back);
 * - holds no control character (`Cc`), no line or paragraph separator
 *   (U+2028, U+2029) and no format character (`Cf`: zero-width space, BOM,
 *   bidi controls …) except the zero-width joiner and non-joiner (U+200D,
 *   U+200C), which emoji sequences and some scripts need;
 * - holds at least one character that renders visibly: whitespace, default
 *   ignorable code points (variation selectors, the combining grapheme
 *   joiner, Hangul fillers …) and the blank Braille pattern U+2800 do not
 *   count, so names that render blank are refused.
 *
 * The name is kept and listed as sent (in NFC). Uniqueness is decided on its
 * **look-alike key** ({@link hostNameKey}): two names with the same key are
 * one name, and the second `create host` gets 409. The key folds what a
 * reader of a room list cannot tell apart: compatibility forms (fullwidth,
 * mathematical letters), case, invisible code points, runs of whitespace,
 * and a small table of confusable letters and digits from Cyrillic, Greek,
 * Armenian and Latin (`а`→`a`, `ο`→`o`, `1`/`l`/`I`→`i`, `0`→`o`, `rn`→`m` …).
 */

export type HostNameResult =
  { ok: true; name: string; key: string } | { ok: false; message: string };

/**
 * Shape of the ids Socket.IO gives sockets (base64id: 15 random bytes,
 * URL-safe base64).
 * @deprecated Host names of this shape are accepted again: relay goes by
 * socket id inside a group, so a host name captures nothing.
 */
export const SOCKET_ID_SHAPE = /^[A-Za-z0-9_-]{20}$/;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const CONTROL = /[\p{Cc}\u2028\u2029]/u;
const FORMAT_EXCEPT_JOINERS = /(?![\u200C\u200D])\p{Cf}/u;

/**
 * Default-ignorable code points (Unicode `Default_Ignorable_Code_Point`)
 * that the rule above lets through: joiners, variation selectors, the
 * combining grapheme joiner, Hangul fillers, Mongolian selectors, Khmer
 * inherent vowels, shorthand format controls, tags.
 */
const IGNORABLE =
  /[\u00AD\u034F\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\u{1BCA0}-\u{1BCA3}\u{1D173}-\u{1D17A}\u{E0000}-\u{E0FFF}]/gu;
/** Characters that render as nothing visible besides whitespace and the ignorables. */
const BLANK = /[\s\u2800\u3000]/gu;
const VISIBLE = /[\p{L}\p{N}\p{S}\p{P}]/u;

/**
 * Confusables folded after NFKC and lower-casing: letters of other scripts
 * that look like a Latin letter in common fonts, and Latin letters and
 * digits that look like each other. Written for this project from the
 * glyphs; deliberately small (see docs/host-names.md).
 */
// prettier-ignore
const CONFUSABLE: Readonly<Record<string, string>> = {
  // Cyrillic
  а: 'a', в: 'b', г: 'r', е: 'e', з: '3', к: 'k', м: 'm',
  н: 'h', о: 'o', п: 'n', р: 'p', с: 'c', т: 't', у: 'y', х: 'x', ь: 'b', ѕ: 's',
  і: 'i', ї: 'i', ј: 'j', һ: 'h', ԁ: 'd', ԛ: 'q', ԝ: 'w', ү: 'y', ӏ: 'i', ɡ: 'g', ԍ: 'g',
  // Greek
  α: 'a', β: 'b', γ: 'y', ε: 'e', ζ: 'z', η: 'n', ι: 'i', κ: 'k', ν: 'v', ο: 'o', ρ: 'p',
  σ: 'o', ς: 'c', τ: 't', υ: 'u', χ: 'x', ω: 'w', ϲ: 'c', ϳ: 'j',
  // Armenian
  օ: 'o', ս: 'u', ց: 'g', հ: 'h', ո: 'n', ա: 'w', զ: 'q',
  // Latin and digits that pass for each other
  ı: 'i', ɩ: 'i', l: 'i', '1': 'i', '|': 'i', ǀ: 'i', '0': 'o', '5': 's', ß: 'ss',
  ɑ: 'a', ɒ: 'a', ƅ: 'b', ȷ: 'j', ʋ: 'u',
};
/** Letter pairs that render like one letter. */
const DIGRAPHS: readonly (readonly [RegExp, string])[] = [
  [/rn/g, 'm'],
  [/vv/g, 'w'],
  [/cl/g, 'd'],
];

/**
 * The look-alike key of a (valid, NFC) host name: NFKC, lower case, without
 * default-ignorable code points, whitespace runs as one space and trimmed,
 * confusables folded. Two names with one key are one name.
 */
export function hostNameKey(name: string): string {
  let key = name.normalize('NFKC').toLowerCase().replace(IGNORABLE, '');
  // Decompose so that a confusable base with a mark folds too (ё = е + ◌̈).
  key = key.normalize('NFD');
  key = [...key].map((c) => CONFUSABLE[c] ?? c).join('');
  for (const [pattern, replacement] of DIGRAPHS) key = key.replace(pattern, replacement);
  return key.replace(/\s+/gu, ' ').trim().normalize('NFC');
}

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
  if (CONTROL.test(name))
    return {
      ok: false,
      message: 'Host name contains a control character or a line/paragraph separator.',
    };
  if (FORMAT_EXCEPT_JOINERS.test(name)) {
    return {
      ok: false,
      message:
        'Host name contains an invisible format character (zero-width space, BOM, bidi control …).',
    };
  }
  if (!VISIBLE.test(name.replace(IGNORABLE, '').replace(BLANK, '')))
    return {
      ok: false,
      message: 'Host name must contain a visible character (it would render blank).',
    };
  return { ok: true, name, key: hostNameKey(name) };
}
