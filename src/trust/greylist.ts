// Greylisting (issue 18), the decision without IO: a client network, sender and recipient never seen
// together are told 451 4.7.1 at RCPT; a real MTA retries after some minutes and is then accepted,
// while most spamware never retries. The triplet is remembered in the store's `greylist` part, so every
// node of a cluster agrees; this file only says what to answer and what the record becomes.

import { isIP } from "node:net";

/** What the store keeps per triplet. */
export interface GreylistRecord {
  firstSeen: Date;
  lastSeen: Date;
  /** A retry came after the delay: later mail of the triplet is not delayed again. */
  passed: boolean;
}

export interface GreylistSettings {
  /** Milliseconds a new triplet waits before a retry is accepted. */
  delay: number;
  /** Milliseconds after its last sighting that a triplet is forgotten. */
  expiry: number;
}

export interface GreylistDecision {
  verdict: "pass" | "defer";
  /** The record to store (always written: it moves lastSeen). */
  record: GreylistRecord;
  /** Seconds the client should still wait, for the reply text; 0 when it passes. */
  waitSeconds: number;
}

/** Pure: the stored record (undefined if none), the clock and the settings in, the answer out. */
export function decideGreylist(
  stored: GreylistRecord | undefined,
  now: Date,
  settings: GreylistSettings,
): GreylistDecision {
  const at = now.getTime();
  if (stored === undefined || at - stored.lastSeen.getTime() > settings.expiry) {
    return {
      verdict: settings.delay === 0 ? "pass" : "defer",
      record: { firstSeen: now, lastSeen: now, passed: settings.delay === 0 },
      waitSeconds: Math.ceil(settings.delay / 1000),
    };
  }
  const waited = at - stored.firstSeen.getTime();
  if (stored.passed || waited >= settings.delay) {
    return {
      verdict: "pass",
      record: { firstSeen: stored.firstSeen, lastSeen: now, passed: true },
      waitSeconds: 0,
    };
  }
  return {
    verdict: "defer",
    // An early retry does not restart the wait: the first sighting counts.
    record: { firstSeen: stored.firstSeen, lastSeen: now, passed: false },
    waitSeconds: Math.ceil((settings.delay - waited) / 1000),
  };
}

/**
 * The client part of the triplet: its /24 for IPv4, its /64 for IPv6, because large senders retry
 * from another address of the same pool (and an IPv6 host has a /64 to itself). IPv4-mapped IPv6
 * addresses are the IPv4 address they carry. Null for something that is no address.
 */
export function clientNetwork(address: string): string | null {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const ip = mapped ? mapped[1]! : address;
  const family = isIP(ip);
  if (family === 4) return `${ip.split(".").slice(0, 3).join(".")}.0/24`;
  if (family === 6) return `${expandIpv6(ip).slice(0, 4).join(":")}::/64`;
  return null;
}

/** The key the store keeps a triplet under; addresses compared without case. */
export function tripletKey(network: string, sender: string, recipient: string): string {
  return `${network} ${sender.toLowerCase()} ${recipient.toLowerCase()}`;
}

/** The eight 16-bit groups of an IPv6 address, each as four hex digits (for nibbles and networks). */
export function expandIpv6(address: string): string[] {
  let text = address.toLowerCase();
  // A trailing dotted quad (::ffff:192.0.2.1) is two groups.
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const fill = tail === undefined ? [] : Array(8 - left.length - right.length).fill("0");
  return [...left, ...fill, ...right].map((group) => group.padStart(4, "0"));
}

export interface Network {
  /** Normalised "address/prefix". */
  text: string;
  family: "ipv4" | "ipv6";
  address: string;
  prefix: number;
}

/** "192.0.2.0/24", "2001:db8::/32", or a bare address (a /32 or /128); null when it is neither. */
export function parseNetwork(text: string): Network | null {
  const [address = "", prefixText, extra] = text.split("/");
  if (extra !== undefined) return null;
  const family = isIP(address);
  if (family === 0) return null;
  const max = family === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return null;
  return { text: `${address}/${prefix}`, family: family === 4 ? "ipv4" : "ipv6", address, prefix };
}
