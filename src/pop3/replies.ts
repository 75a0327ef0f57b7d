// POP3 status lines (RFC 1939 §3) and the texts users see. Response codes in brackets come from RFC 2449
// §8 (IN-USE), RFC 3206 (AUTH, SYS/TEMP, SYS/PERM).

export function ok(text: string): string {
  return text === "" ? "+OK\r\n" : `+OK ${text}\r\n`;
}

export function err(text: string): string {
  return `-ERR ${text}\r\n`;
}

/** A multi-line response (RFC 1939 §3) whose lines never start with "." (ours are generated). */
export function multiline(status: string, lines: string[]): string {
  return `+OK ${status}\r\n${lines.map((line) => `${line}\r\n`).join("")}.\r\n`;
}

/** A keyword quoted for a reply, or "" when it is not a plain word: raw client bytes are never echoed. */
export function quoted(word: string): string {
  return /^[A-Z0-9-]{1,20}$/.test(word) ? ` "${word}"` : "";
}

export const REPLY = {
  greeting: (hostname: string) => ok(`${hostname} mailroom POP3 server ready`),
  busy: err("[SYS/TEMP] server busy or shutting down, try again later"),
  shuttingDown: err("[SYS/TEMP] server shutting down, try again later"),
  tooManyErrors: err("too many bad commands; closing the connection"),
  overlong: (limit: number) =>
    err(`line too long (this server takes lines of up to ${limit} octets, CRLF included); line ignored`),
  runaway: (limit: number) =>
    err(
      `line too long (this server takes lines of up to ${limit} octets, CRLF included) and no line end followed; closing the connection`,
    ),
  expunged: (number: number) =>
    err(`message ${number} was deleted by another mail client since login; it can no longer be retrieved`),
  storeUnavailable: err("[SYS/TEMP] the mail store is unavailable right now; try again later"),
  encryptionRequired: err("[AUTH] logins need an encrypted connection here; use STLS first"),
  loginDisabled: err("[AUTH] logins are turned off on this listener; ask the postmaster which port to use"),
  badCredentials: err("[AUTH] authentication failed: wrong user name or password"),
  throttled: err("[SYS/TEMP] too many failed logins from your address; wait a few minutes and try again"),
  authUnavailable: err("[SYS/TEMP] authentication is unavailable right now; try again later"),
  saslMalformed: err("malformed authentication data; authentication aborted, start again with AUTH"),
  saslCancelled: err("authentication cancelled"),
  inUse: err("[IN-USE] this maildrop is already open in another POP3 session; close it and try again"),
  noInbox: err("[SYS/PERM] this account has no INBOX; ask the postmaster to recreate it"),
  apop: err("APOP is not supported; use AUTH SCRAM-SHA-256 or USER/PASS over TLS"),
} as const;
