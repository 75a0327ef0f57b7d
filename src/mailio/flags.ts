// Flags as the two file formats spell them, to and from the IMAP flags the store keeps.
//
// Maildir (https://cr.yp.to/proto/maildir.html, Dovecot's extension for keywords): the file name ends
// in ":2," and one upper-case letter per system flag in ASCII order; lower-case letters a–z name the
// keywords listed in the folder's `dovecot-keywords` file ("0 keyword" per line, 0 → a … 25 → z).
// mbox: `Status:` (R read, O old), `X-Status:` (A answered, F flagged, T draft, D deleted) and
// `X-Keywords:` (the keywords), as written by UW-IMAP, Dovecot and mutt.

/** Maildir info letters and their IMAP flags. P ("passed") is what IMAP calls $Forwarded. */
const MAILDIR_LETTERS: ReadonlyArray<readonly [string, string]> = [
  ["D", "\\Draft"],
  ["F", "\\Flagged"],
  ["P", "$Forwarded"],
  ["R", "\\Answered"],
  ["S", "\\Seen"],
  ["T", "\\Deleted"],
];

const X_STATUS_LETTERS: ReadonlyArray<readonly [string, string]> = [
  ["A", "\\Answered"],
  ["F", "\\Flagged"],
  ["T", "\\Draft"],
  ["D", "\\Deleted"],
];

/** How many keywords a Maildir folder can name: one per lower-case letter. */
export const MAILDIR_KEYWORD_SLOTS = 26;

/** An IMAP flag-keyword atom (RFC 9051 §9 flag-keyword): no controls, spaces or ( ) { % * " \ ]. */
const KEYWORD = /^[!#$&'+-[^-z|}~]+$/;

const lower = (flag: string): string => flag.toLowerCase();

/** Whether `flag` is a system flag (any case). */
export function isSystemFlag(flag: string): boolean {
  return flag.startsWith("\\");
}

/** Whether `word` can be stored as a keyword. */
export function isKeyword(word: string): boolean {
  return KEYWORD.test(word);
}

/**
 * The flags a Maildir file name gives: its info letters, and its keyword letters looked up in the
 * folder's keyword list. Letters without a meaning (an unknown upper-case letter, a keyword letter the
 * list does not name) are returned apart, so the caller can say they were dropped.
 */
export function maildirNameFlags(
  fileName: string,
  keywords: readonly (string | undefined)[],
): { flags: string[]; unknown: string[] } {
  const at = fileName.lastIndexOf(":2,");
  if (at < 0) return { flags: [], unknown: [] };
  const flags: string[] = [];
  const unknown: string[] = [];
  for (const letter of new Set(fileName.slice(at + 3))) {
    const system = MAILDIR_LETTERS.find(([each]) => each === letter);
    if (system) {
      flags.push(system[1]);
    } else if (letter >= "a" && letter <= "z") {
      const keyword = keywords[letter.charCodeAt(0) - 0x61];
      if (keyword === undefined) unknown.push(letter);
      else flags.push(keyword);
    } else {
      unknown.push(letter);
    }
  }
  return { flags, unknown };
}

/**
 * The ":2,…" suffix for a message's flags, system letters then keyword letters, each in ASCII order.
 * `letterOf` gives a keyword's letter (null when the folder has no slot left for it).
 */
export function maildirInfo(flags: readonly string[], letterOf: (keyword: string) => string | null): string {
  const letters = new Set<string>();
  const keywordLetters = new Set<string>();
  for (const flag of flags) {
    const system = MAILDIR_LETTERS.find(([, name]) => lower(name) === lower(flag));
    if (system) {
      letters.add(system[0]);
    } else if (!isSystemFlag(flag)) {
      const letter = letterOf(flag);
      if (letter !== null) keywordLetters.add(letter);
    }
  }
  return `:2,${[...letters].sort().join("")}${[...keywordLetters].sort().join("")}`;
}

/**
 * A `dovecot-keywords` file: "N keyword" lines, N from 0 to 25. Lines that do not have that form are
 * ignored (Dovecot writes nothing else there); a slot given twice keeps the last.
 */
export function parseDovecotKeywords(text: string): Array<string | undefined> {
  const slots: Array<string | undefined> = [];
  for (const line of text.split(/\r?\n/)) {
    const match = /^([0-9]{1,2}) (\S+)$/.exec(line);
    if (!match) continue;
    const slot = Number(match[1]);
    if (slot < MAILDIR_KEYWORD_SLOTS) slots[slot] = match[2];
  }
  return slots;
}

export function formatDovecotKeywords(keywords: readonly string[]): string {
  return keywords.map((keyword, slot) => `${slot} ${keyword}\n`).join("");
}

/** The flags of mbox metadata fields' values (undefined: the field is absent). */
export function mboxFlags(fields: { status?: string; xStatus?: string; xKeywords?: string }): string[] {
  const flags: string[] = [];
  if (fields.status?.includes("R")) flags.push("\\Seen");
  for (const [letter, flag] of X_STATUS_LETTERS) if (fields.xStatus?.includes(letter)) flags.push(flag);
  for (const word of (fields.xKeywords ?? "").split(/[\s,]+/)) if (word !== "") flags.push(word);
  return flags;
}

/** The mbox metadata fields for a message's flags; each absent when it would be empty. */
export function mboxFields(flags: readonly string[]): {
  status: string;
  xStatus?: string;
  xKeywords?: string;
} {
  const has = (name: string) => flags.some((flag) => lower(flag) === lower(name));
  // "O" (old: seen by a mail reader before) on every exported message, as mail readers write it.
  const status = has("\\Seen") ? "RO" : "O";
  const xStatus = X_STATUS_LETTERS.filter(([, flag]) => has(flag))
    .map(([letter]) => letter)
    .join("");
  const keywords = flags.filter((flag) => !isSystemFlag(flag));
  return {
    status,
    ...(xStatus !== "" ? { xStatus } : {}),
    ...(keywords.length > 0 ? { xKeywords: keywords.join(" ") } : {}),
  };
}

/**
 * Flags ready for the store: system flags in their canonical spelling, each flag once (case-insensitive,
 * RFC 9051 §2.3.2), and the words that are no valid keyword set apart.
 */
export function cleanFlags(flags: readonly string[]): { flags: string[]; invalid: string[] } {
  const seen = new Map<string, string>();
  const invalid: string[] = [];
  const systems = ["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"];
  for (const flag of flags) {
    const system = systems.find((each) => lower(each) === lower(flag));
    if (system) seen.set(lower(system), system);
    else if (!isSystemFlag(flag) && isKeyword(flag)) {
      if (!seen.has(lower(flag))) seen.set(lower(flag), flag);
    } else invalid.push(flag);
  }
  return { flags: [...seen.values()], invalid };
}
