// JMAP keywords and IMAP flags are one set of facts seen two ways (RFC 8621 §4.1.1): the four system
// flags JMAP has names for map to "$"-keywords, every other IMAP keyword is the same keyword in lower
// case (both protocols compare them case-insensitively), and \Deleted, which JMAP has no word for, is
// kept as "$deleted" so a JMAP client can see and clear it.

const SYSTEM: ReadonlyArray<readonly [flag: string, keyword: string]> = [
  ["\\Seen", "$seen"],
  ["\\Flagged", "$flagged"],
  ["\\Answered", "$answered"],
  ["\\Draft", "$draft"],
  ["\\Deleted", "$deleted"],
];
const KEYWORD_OF = new Map(SYSTEM.map(([flag, keyword]) => [flag.toLowerCase(), keyword]));
const FLAG_OF = new Map(SYSTEM.map(([flag, keyword]) => [keyword, flag]));

/** RFC 8621 §4.1.1: 1–255 characters of %x21–%x7E other than ( ) { ] % * " \ — an IMAP atom. */
const KEYWORD = /^[!#$&'+,\-./0-9:;<=>?@A-Z[^_`a-z|}~]{1,255}$/;

export function isValidKeyword(keyword: string): boolean {
  return KEYWORD.test(keyword);
}

/** The keyword for an IMAP flag; null for \Recent, which is a session's view, not a stored fact. */
export function keywordOf(flag: string): string | null {
  const lower = flag.toLowerCase();
  if (lower === "\\recent") return null;
  return KEYWORD_OF.get(lower) ?? lower;
}

/** The IMAP flag for a keyword (already validated). */
export function flagOf(keyword: string): string {
  const lower = keyword.toLowerCase();
  return FLAG_OF.get(lower) ?? lower;
}

/** The Email "keywords" property: every keyword of the flags, mapped to true. */
export function keywordsOf(flags: readonly string[]): Record<string, true> {
  const keywords: Record<string, true> = {};
  for (const flag of flags) {
    const keyword = keywordOf(flag);
    if (keyword !== null) keywords[keyword] = true;
  }
  return keywords;
}
