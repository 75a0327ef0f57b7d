// POP3 command syntax (RFC 1939 §3): a case-insensitive keyword, then arguments separated by spaces.

export interface Pop3Command {
  /** Upper-cased keyword. */
  verb: string;
  /** Space-separated arguments (runs of spaces are tolerated). */
  args: string[];
  /** Everything after the first space, untouched: PASS takes it whole, see session.ts. */
  rest: string;
}

export function parseCommand(line: string): Pop3Command {
  const space = line.indexOf(" ");
  const keyword = space === -1 ? line : line.slice(0, space);
  const rest = space === -1 ? "" : line.slice(space + 1);
  return {
    verb: keyword.toUpperCase(),
    args: rest.split(" ").filter((arg) => arg !== ""),
    rest,
  };
}

/** Largest number we accept as an argument; far above any real maildrop, below 2^31. */
const MAX_NUMBER_ARGUMENT = 999_999_999;

/** A non-negative decimal integer (RFC 1939 message numbers and TOP's line count), or null. */
export function parseNumber(text: string): number | null {
  if (!/^[0-9]{1,9}$/.test(text)) return null;
  const value = Number(text);
  return value <= MAX_NUMBER_ARGUMENT ? value : null;
}
