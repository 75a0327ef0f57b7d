// Splits an SMTP command line (CRLF already removed) into its verb and arguments (RFC 5321 §4.1.1:
// verbs are case-insensitive, separated from their arguments by one space).

export interface CommandLine {
  /** Upper-cased; "" when the line does not start with a letter-only word. */
  verb: string;
  /** Everything after the first space, unchanged. */
  args: string;
}

export function parseCommandLine(line: string): CommandLine {
  const space = line.indexOf(" ");
  const word = space === -1 ? line : line.slice(0, space);
  const args = space === -1 ? "" : line.slice(space + 1);
  if (!/^[A-Za-z]{1,16}$/.test(word)) return { verb: "", args };
  return { verb: word.toUpperCase(), args };
}

/** Bytes a command line may not contain: NUL anywhere, 8-bit ones unless SMTPUTF8 allows them. */
export function findForbiddenByte(line: Uint8Array, allowEightBit: boolean): number | null {
  for (const byte of line) {
    if (byte === 0 || byte === 0x0d || byte === 0x0a) return byte;
    if (byte >= 0x80 && !allowEightBit) return byte;
  }
  return null;
}
