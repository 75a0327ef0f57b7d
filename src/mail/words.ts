// Words as IMAP's search words split them (mail/search-match.ts): maximal runs of letters, digits and
// marks (Unicode L, N, M), the runs mail/search-text.ts's expression finds for JMAP.

const WORD_CHAR = /^[\p{L}\p{N}\p{M}]$/u;
/** Per BMP code unit: 0 not yet known, 1 a letter, digit or mark, 2 not. */
const wordUnits = new Uint8Array(0x10000);
for (let unit = 0; unit < 0x80; unit++) {
  wordUnits[unit] = /[A-Za-z0-9]/.test(String.fromCharCode(unit)) ? 1 : 2;
}

function isWordCodePoint(codePoint: number): boolean {
  if (codePoint < 0x10000) {
    let known = wordUnits[codePoint];
    if (known === 0) {
      known = WORD_CHAR.test(String.fromCharCode(codePoint)) ? 1 : 2;
      wordUnits[codePoint] = known;
    }
    return known === 1;
  }
  return WORD_CHAR.test(String.fromCodePoint(codePoint));
}

/**
 * Calls `found` with the start and end of each word of `text` in order, exactly the runs
 * /[\p{L}\p{N}\p{M}]+/gu matches: a scan of code units through a table, about half the time of
 * matchAll with that expression over a message's text (the first BODY/TEXT search in a mailbox splits
 * every message).
 */
export function eachWord(text: string, found: (start: number, end: number) => void): void {
  const length = text.length;
  let start = -1;
  for (let at = 0; at < length; at++) {
    const unit = text.charCodeAt(at);
    let word: boolean;
    let width = 1;
    if (unit < 0x80) {
      word = wordUnits[unit] === 1;
    } else if (unit >= 0xd800 && unit <= 0xdbff && at + 1 < length) {
      const low = text.charCodeAt(at + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        word = isWordCodePoint((unit - 0xd800) * 0x400 + (low - 0xdc00) + 0x10000);
        width = 2;
      } else {
        word = isWordCodePoint(unit);
      }
    } else {
      word = isWordCodePoint(unit);
    }
    if (word) {
      if (start < 0) start = at;
    } else if (start >= 0) {
      found(start, at);
      start = -1;
    }
    at += width - 1;
  }
  if (start >= 0) found(start, length);
}
