// Input checks shared by the store methods: bad input gets a clear StoreError("invalid") and changes
// nothing. Everything returned is in the form the store keeps (lower-cased addresses, canonical INBOX).

import { StoreError } from "../types.js";

const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const DOMAIN = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
// RFC 5321 §4.5.3.1: local part at most 64 octets, domain at most 255; we keep to the visible,
// unquoted subset and leave quoted local parts to a future need.
const LOCAL_PART = /^[^\s@<>()[\]\\,;:"\x00-\x1f\x7f]{1,64}$/;

function invalid(message: string): never {
  throw new StoreError("invalid", message);
}

export function normalizeDomain(name: string): string {
  if (typeof name !== "string") invalid("a domain name must be text");
  const domain = name.trim().toLowerCase();
  if (domain.length === 0 || domain.length > 253 || !DOMAIN.test(domain)) {
    invalid(`"${name}" is not a valid domain name (letters, digits, hyphens and dots, e.g. example.org)`);
  }
  return domain;
}

export function normalizeAddress(address: string): { address: string; local: string; domain: string } {
  if (typeof address !== "string") invalid("an address must be text");
  const trimmed = address.trim().toLowerCase();
  const at = trimmed.lastIndexOf("@");
  const local = trimmed.slice(0, at);
  if (at <= 0 || !LOCAL_PART.test(local)) {
    invalid(`"${address}" is not a valid address; expected local@domain, e.g. alice@example.org`);
  }
  const domain = normalizeDomain(trimmed.slice(at + 1));
  return { address: `${local}@${domain}`, local, domain };
}

/** An alias source: "local@domain", or "@domain" for the domain's catch-all. */
export function normalizeAliasSource(source: string): { source: string; domain: string } {
  if (typeof source === "string" && source.trim().startsWith("@")) {
    const domain = normalizeDomain(source.trim().slice(1));
    return { source: `@${domain}`, domain };
  }
  const { address, domain } = normalizeAddress(source);
  return { source: address, domain };
}

const INBOX = "INBOX";

/** RFC 9051 §5.1: "INBOX" in any case is INBOX; its children keep the canonical spelling too. */
export function normalizeMailboxName(name: string): string {
  if (typeof name !== "string" || name.length === 0) invalid("a mailbox name must not be empty");
  if (name.length > 512) invalid("a mailbox name must be at most 512 characters");
  if (/[\x00-\x1f\x7f*%]/.test(name)) {
    invalid(`mailbox name "${name}" contains a control character, "*" or "%", which IMAP cannot name`);
  }
  if (name.startsWith("/") || name.endsWith("/") || name.includes("//")) {
    invalid(`mailbox name "${name}" has an empty hierarchy level; use names like "Work/Projects"`);
  }
  const slash = name.indexOf("/");
  const first = slash === -1 ? name : name.slice(0, slash);
  return first.toUpperCase() === INBOX ? INBOX + name.slice(first.length) : name;
}

export function isInbox(name: string): boolean {
  return name === INBOX;
}

const SYSTEM_FLAGS = new Map(
  ["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"].map((flag) => [flag.toLowerCase(), flag]),
);

/** Flags as given, with system flags in canonical case and duplicates (case-insensitive) removed. */
export function normalizeFlags(flags: readonly string[]): string[] {
  if (!Array.isArray(flags)) invalid("flags must be a list");
  const seen = new Map<string, string>();
  for (const flag of flags) {
    if (
      typeof flag !== "string" ||
      flag.length === 0 ||
      flag.length > 256 ||
      /[\s\x00-\x1f\x7f]/.test(flag)
    ) {
      invalid(
        `"${String(flag)}" is not a valid flag (no spaces or control characters, at most 256 characters)`,
      );
    }
    const key = flag.toLowerCase();
    if (!seen.has(key)) seen.set(key, SYSTEM_FLAGS.get(key) ?? flag);
  }
  return [...seen.values()];
}

export function flagKey(flag: string): string {
  return flag.toLowerCase();
}

export function requireText(value: unknown, what: string): string {
  if (typeof value !== "string" || value.length === 0) invalid(`${what} must be non-empty text`);
  return value;
}

export function requireUids(uids: readonly number[]): number[] {
  if (!Array.isArray(uids)) invalid("UIDs must be a list of numbers");
  for (const uid of uids) {
    if (!Number.isSafeInteger(uid) || uid < 1)
      invalid(`${String(uid)} is not a valid UID (a positive integer)`);
  }
  return [...new Set(uids)].sort((a, b) => a - b);
}

export { requireDate } from "../input-checks.js";
