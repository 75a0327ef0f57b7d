// Validation and normal forms of what callers hand the store: lower-cased domains and addresses,
// mailbox names with a canonical INBOX, flag lists without duplicates.

import { StoreError } from "../types.js";

const LABEL = /^[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?$/u;

export function normalizeDomain(name: string): string {
  const domain = name.trim().toLowerCase();
  const labels = domain.split(".");
  const valid =
    domain.length > 0 &&
    domain.length <= 253 &&
    labels.every((label) => label.length <= 63 && LABEL.test(label));
  if (!valid) {
    throw new StoreError("invalid", `"${name}" is not a domain name; use a form like example.org`);
  }
  return domain;
}

// RFC 5321 §4.5.3.1.1: a local part is at most 64 octets.
const LOCAL_PART = /^[^\s@"(),:;<>[\\\]\p{Cc}]{1,64}$/u;

export function normalizeAddress(address: string): string {
  const value = address.trim().toLowerCase();
  const at = value.lastIndexOf("@");
  const local = value.slice(0, at);
  if (at <= 0 || !LOCAL_PART.test(local)) {
    throw new StoreError("invalid", `"${address}" is not an address; use a form like user@example.org`);
  }
  return `${local}@${normalizeDomain(value.slice(at + 1))}`;
}

/** An alias source: "local@domain", or "@domain" for the domain's catch-all. */
export function normalizeAliasSource(source: string): { source: string; domain: string } {
  const value = source.trim();
  if (value.startsWith("@")) {
    const domain = normalizeDomain(value.slice(1));
    return { source: `@${domain}`, domain };
  }
  const address = normalizeAddress(value);
  return { source: address, domain: address.slice(address.lastIndexOf("@") + 1) };
}

const MAILBOX_NAME_BYTES = 1000;

/** INBOX is case-insensitive (RFC 9051 §5.1), also as the first level of a hierarchical name. */
export function normalizeMailboxName(name: string): string {
  const parts = name.split("/");
  const valid =
    name.length > 0 &&
    Buffer.byteLength(name) <= MAILBOX_NAME_BYTES &&
    parts.every((part) => part.length > 0) &&
    !/[\p{Cc}]/u.test(name);
  if (!valid) {
    throw new StoreError(
      "invalid",
      `"${name}" is not a valid mailbox name: it must be non-empty, without control characters, and "/" only between levels`,
    );
  }
  if (parts[0]?.toUpperCase() === "INBOX") parts[0] = "INBOX";
  return parts.join("/");
}

const SYSTEM_FLAGS = ["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"];
// RFC 9051 §9 flag-keyword is an atom: no space, control, "(){%*\"\\]".
const KEYWORD = /^[^\s\p{Cc}(){%*"\\\]]+$/u;

/**
 * Flags compare case-insensitively (RFC 9051 §2.3.2). System flags take their canonical spelling so
 * the store can search them; keywords keep the spelling they were first given.
 */
export function normalizeFlags(flags: readonly string[]): string[] {
  const seen = new Map<string, string>();
  for (const flag of flags) {
    let canonical: string;
    const body = flag.startsWith("\\") ? flag.slice(1) : flag;
    if (KEYWORD.test(body)) {
      canonical = SYSTEM_FLAGS.find((known) => known.toLowerCase() === flag.toLowerCase()) ?? flag;
    } else {
      throw new StoreError(
        "invalid",
        `"${flag}" is not a valid flag keyword (no spaces or ( ) { % * " \\ ])`,
      );
    }
    const key = canonical.toLowerCase();
    if (!seen.has(key)) seen.set(key, canonical);
  }
  return [...seen.values()];
}

export function sameFlags(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const lower = new Set(a.map((flag) => flag.toLowerCase()));
  return b.every((flag) => lower.has(flag.toLowerCase()));
}

export function applyFlagOperation(
  current: readonly string[],
  operation: "add" | "remove" | "set",
  flags: readonly string[],
): string[] {
  if (operation === "set") return [...flags];
  if (operation === "add") return normalizeFlags([...current, ...flags]);
  const removing = new Set(flags.map((flag) => flag.toLowerCase()));
  return current.filter((flag) => !removing.has(flag.toLowerCase()));
}
