// What the admin operations accept as a domain, an address and an alias source, for the CLI and the
// web admin alike: pure, each answers the normalised form or null.

import { domainToASCII } from "node:url";
import { splitAddress } from "../delivery/route.js";

/**
 * A domain name as typed, lower-cased; internationalised names become their ASCII (A-label) form so
 * they match what arrives in SMTP envelopes. Null when it is not a host name of at least two labels.
 */
export function domainName(value: string): string | null {
  const ascii = domainToASCII(value.trim().toLowerCase());
  // RFC 5321 §4.1.2: sub-domain = Let-dig [Ldh-str], at least two of them here.
  const labels = ascii.split(".");
  const valid =
    ascii.length <= 253 &&
    labels.length >= 2 &&
    labels.every((label) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(label));
  return valid ? ascii : null;
}

/** A full address local@domain, lower-cased, with the domain in ASCII form; null when it is not one. */
export function mailAddress(value: string): string | null {
  const parts = splitAddress(value.trim());
  // RFC 5321 §4.5.3.1.1: a local part is at most 64 octets.
  if (!parts || Buffer.byteLength(parts.local) > 64 || /[\s\x00-\x1f\x7f<>]/.test(parts.local)) return null;
  const domain = domainName(parts.domain);
  return domain === null ? null : `${parts.local.toLowerCase()}@${domain}`;
}

/** An alias source: an address, or "@domain" for the domain's catch-all. */
export function aliasSource(value: string): string | null {
  const trimmed = value.trim();
  if (!trimmed.startsWith("@")) return mailAddress(trimmed);
  const domain = domainName(trimmed.slice(1));
  return domain === null ? null : `@${domain}`;
}

export const DOMAIN_EXAMPLE = "expected something like example.org";
export const ADDRESS_EXAMPLE = "expected something like alice@example.org";
