/** ADDRESS-PART (RFC 5228 §2.7.4) with :user and :detail (RFC 5233), and the addresses of header fields. */
import { type Mailbox, parseAddressList } from "../mail/address-list.js";
import type { TagSpec } from "./signature.js";

export const ADDRESS_PART_TAGS: Record<string, TagSpec> = {
  all: { group: "address-part" },
  localpart: { group: "address-part" },
  domain: { group: "address-part" },
  user: { group: "address-part", requires: "subaddress" },
  detail: { group: "address-part", requires: "subaddress" },
};

export type AddressPart = "all" | "localpart" | "domain" | "user" | "detail";

const PARTS: readonly AddressPart[] = ["all", "localpart", "domain", "user", "detail"];

export function addressPartOf(tags: ReadonlyMap<string, unknown>): AddressPart {
  return PARTS.find((p) => tags.has(p)) ?? "all";
}

/**
 * Header fields whose values are address lists (RFC 5228 §5.1 names the first seven; the rest are
 * address fields of RFC 5322 §3.6 and common practice, as Pigeonhole accepts).
 */
export const ADDRESS_HEADERS = new Set([
  "from",
  "to",
  "cc",
  "bcc",
  "sender",
  "resent-from",
  "resent-to",
  "resent-cc",
  "resent-bcc",
  "resent-sender",
  "reply-to",
  "resent-reply-to",
  "return-path",
  "delivered-to",
  "envelope-to",
  "x-original-to",
  "errors-to",
  "disposition-notification-to",
  "original-recipient",
  "mail-followup-to",
  "mail-reply-to",
]);

function unquote(local: string): string {
  return local.startsWith('"') && local.endsWith('"') && local.length >= 2
    ? local.slice(1, -1).replace(/\\(.)/g, "$1")
    : local;
}

/** The addresses of a header value, as local part and domain (domain null when there is no "@"). */
export function headerAddresses(value: string): Array<{ local: string; domain: string | null }> {
  return parseAddressList(value)
    .flatMap((entry): Mailbox[] => ("group" in entry ? entry.mailboxes : [entry]))
    .filter((m) => m.local !== "" || m.domain !== null)
    .map((m) => ({ local: unquote(m.local), domain: m.domain }));
}

/** RFC 5233 §3: the user part is what precedes the first "+", the detail what follows it. */
const SEPARATOR = "+";

/** The part of an address a test compares, or null when the address has no such part. */
export function addressPart(
  address: { local: string; domain: string | null },
  part: AddressPart,
): string | null {
  const { local, domain } = address;
  const separator = local.indexOf(SEPARATOR);
  switch (part) {
    case "all":
      if (domain === null) return local;
      // The null reverse path, split as local "" and domain "", stays the empty string.
      return local === "" && domain === "" ? "" : `${local}@${domain}`;
    case "localpart":
      return local;
    case "domain":
      return domain;
    case "user":
      return separator < 0 ? local : local.slice(0, separator);
    case "detail":
      return separator < 0 ? null : local.slice(separator + 1);
  }
}

/** An envelope address as local part and domain; the null path "<>" is one empty address (RFC 5228 §5.4). */
export function splitAddress(address: string): { local: string; domain: string | null } {
  const at = address.lastIndexOf("@");
  return at < 0
    ? { local: address, domain: address === "" ? "" : null }
    : { local: address.slice(0, at), domain: address.slice(at + 1) };
}
