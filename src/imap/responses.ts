/** Building IMAP response lines (RFC 9051 §7): tagged, untagged and continuation. */

import { encodeValues, type ImapValue } from "./protocol/value.js";

const CRLF = Buffer.from("\r\n");

export function untagged(text: string): Buffer {
  return Buffer.from(`* ${text}\r\n`, "utf8");
}

/** An untagged response whose data is IMAP values (may contain literals). */
export function untaggedValues(values: readonly ImapValue[]): Buffer {
  return Buffer.concat([Buffer.from("* "), encodeValues(values), CRLF]);
}

export function tagged(tag: string, status: "OK" | "NO" | "BAD", text: string): Buffer {
  return Buffer.from(`${tag} ${status} ${text}\r\n`, "utf8");
}

export function continuation(text: string): Buffer {
  return Buffer.from(`+ ${text}\r\n`, "utf8");
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** RFC 9051 §9 date-time, in UTC: "17-Jul-1996 09:44:25 +0000". */
export function formatInternalDate(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(date.getUTCDate())}-${MONTHS[date.getUTCMonth()]}-${date.getUTCFullYear()} ${pad(date.getUTCHours())}:${pad(
    date.getUTCMinutes(),
  )}:${pad(date.getUTCSeconds())} +0000`;
}

/** A flag list as atoms: (\Seen $Label). */
export function flagList(flags: readonly string[]): ImapValue {
  return flags.map((flag) => ({ atom: flag }));
}
