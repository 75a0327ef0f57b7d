// Trace header fields the receiving server prepends (RFC 5321 §4.4): Return-Path and Received.

import { isIPv6 } from "node:net";

export interface ReceivedInfo {
  /** The EHLO/HELO argument. */
  heloName: string;
  remoteAddress: string;
  /** This server's name. */
  hostname: string;
  /** RFC 3848 / RFC 6531 §3.7.3 "with" keyword, from withProtocol(). */
  protocol: string;
  /** TLS version and cipher, when the session is encrypted. */
  tls: { protocol: string; cipher: string } | null;
  id: string;
  /** Named only when the message has exactly one recipient, so a copy does not reveal the others. */
  recipient: string | null;
  date: Date;
}

/** "with" values: SMTP for HELO; ESMTP plus S (TLS) and A (authenticated) (RFC 3848); UTF8SMTP… (RFC 6531). */
export function withProtocol(options: {
  esmtp: boolean;
  utf8: boolean;
  tls: boolean;
  authenticated: boolean;
}): string {
  if (!options.esmtp) return "SMTP";
  const base = options.utf8 ? "UTF8SMTP" : "ESMTP";
  return `${base}${options.tls ? "S" : ""}${options.authenticated ? "A" : ""}`;
}

/** An address literal for a client IP (RFC 5321 §4.1.3), IPv4-mapped IPv6 shown as IPv4. */
export function addressLiteral(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return `[${mapped[1]}]`;
  return isIPv6(ip) ? `[IPv6:${ip}]` : `[${ip}]`;
}

/** RFC 5322 §3.3 date-time in UTC, numeric zone. */
export function rfc5322Date(date: Date): string {
  return date.toUTCString().replace(/GMT$/, "+0000");
}

/** Comment text must not close the comment or break the line. */
function commentSafe(text: string): string {
  return text.replace(/[()\\\r\n]/g, "");
}

export function receivedHeader(info: ReceivedInfo): string {
  const lines = [
    `Received: from ${info.heloName} (${addressLiteral(info.remoteAddress)})`,
    `\tby ${info.hostname} (mailroom) with ${info.protocol}`,
  ];
  if (info.tls) lines.push(`\t(${commentSafe(info.tls.protocol)} cipher ${commentSafe(info.tls.cipher)})`);
  lines.push(`\tid ${info.id}`);
  if (info.recipient !== null) lines.push(`\tfor <${info.recipient}>`);
  const last = lines.length - 1;
  lines[last] = `${lines[last]}; ${rfc5322Date(info.date)}`;
  return `${lines.join("\r\n")}\r\n`;
}

export function returnPathHeader(sender: string): string {
  return `Return-Path: <${sender}>\r\n`;
}
