// MAIL FROM and RCPT TO commands with their ESMTP parameters, each only when the server offered the
// extension that defines it.

import type { ClientEnvelope, ClientRecipient } from "./types.js";

/** RFC 3461 §4: xtext — "+" "=" and bytes outside "!".."~" become "+HH". */
export function xtext(value: string): string {
  let out = "";
  for (const byte of Buffer.from(value, "utf8")) {
    out +=
      byte < 0x21 || byte > 0x7e || byte === 0x2b || byte === 0x3d
        ? `+${byte.toString(16).toUpperCase().padStart(2, "0")}`
        : String.fromCharCode(byte);
  }
  return out;
}

export function needsSmtpUtf8(envelope: ClientEnvelope): boolean {
  const nonAscii = (text: string) => /[^\x00-\x7f]/.test(text);
  return (
    envelope.smtputf8 === true || nonAscii(envelope.from) || envelope.to.some((r) => nonAscii(r.address))
  );
}

/** An address that would break the command line (CR, LF, "<", ">", spaces) is refused before sending. */
export function checkAddress(address: string): string | null {
  if (/[\x00-\x20\x7f<>]/.test(address))
    return `address ${JSON.stringify(address)} contains a space, control character or angle bracket`;
  if (Buffer.byteLength(address, "utf8") > 256)
    return `address ${JSON.stringify(address.slice(0, 40))}… is longer than 256 octets`;
  return null;
}

export interface MailParams {
  extensions: ReadonlyMap<string, string>;
  size: number | null;
  smtputf8: boolean;
}

export function mailCommand(envelope: ClientEnvelope, params: MailParams): string {
  const parts = [`MAIL FROM:<${envelope.from}>`];
  const has = (keyword: string) => params.extensions.has(keyword);
  if (params.size !== null && has("SIZE")) parts.push(`SIZE=${params.size}`);
  // RFC 6152 §3: BODY=8BITMIME only to a server that offered it; without it the body goes unlabelled,
  // as most MTAs do, rather than being refused here.
  if (envelope.eightBit && has("8BITMIME")) parts.push("BODY=8BITMIME");
  if (params.smtputf8) parts.push("SMTPUTF8");
  if (has("DSN")) {
    if (envelope.ret) parts.push(`RET=${envelope.ret}`);
    if (envelope.envid) parts.push(`ENVID=${xtext(envelope.envid)}`);
  }
  return parts.join(" ");
}

export function rcptCommand(recipient: ClientRecipient, extensions: ReadonlyMap<string, string>): string {
  const parts = [`RCPT TO:<${recipient.address}>`];
  if (extensions.has("DSN")) {
    if (recipient.notify && recipient.notify.length > 0) parts.push(`NOTIFY=${recipient.notify.join(",")}`);
    if (recipient.orcpt) {
      const separator = recipient.orcpt.indexOf(";");
      const [type, address] =
        separator > 0
          ? [recipient.orcpt.slice(0, separator), recipient.orcpt.slice(separator + 1)]
          : ["rfc822", recipient.orcpt];
      parts.push(`ORCPT=${type};${xtext(address)}`);
    }
  }
  return parts.join(" ");
}

/** The server's SIZE limit (RFC 1870 §4), or null when it offered none or "SIZE 0" (no fixed limit). */
export function sizeLimit(extensions: ReadonlyMap<string, string>): number | null {
  const value = extensions.get("SIZE");
  if (value === undefined || !/^[0-9]+$/.test(value)) return null;
  const limit = Number(value);
  return limit > 0 ? limit : null;
}
