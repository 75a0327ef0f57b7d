// Mailpit's search language (https://mailpit.axllent.org/docs/usage/search-filters/) turned into a JMAP
// Email/query filter (RFC 8621 §4.4.1), so the Mailpit API searches with the same code as JMAP. Pure.
//
// Terms are separated by spaces and all must match; "quoted text" is one term; a leading "-" or "!"
// negates a term. Supported: free text, from:, to:, cc:, bcc:, addressed: (to, cc or bcc), subject:,
// is:read/unread, has:attachment, before:/after: (a date), larger:/smaller: (a size such as 100K or
// 2M), message-id:, reply-to: and return-path: (a substring of the field). tag: is refused with an error
// that says so.

import type { Json, JsonObject } from "../jmap/types.js";

export type SearchParse = { filter: JsonObject } | { error: string };

/** Longest query the API takes; a longer one is refused rather than split into thousands of terms. */
export const MAX_QUERY_LENGTH = 4096;

/** Splits at unquoted whitespace; quotes group and are removed. A lone quote runs to the end. */
export function searchTerms(query: string): Array<{ negated: boolean; text: string }> {
  const terms: Array<{ negated: boolean; text: string }> = [];
  let current = "";
  let started = false;
  let quoted = false;
  let negated = false;
  const push = () => {
    if (started && current.length > 0) terms.push({ negated, text: current });
    current = "";
    started = false;
    negated = false;
  };
  for (const char of query) {
    if (char === '"') {
      quoted = !quoted;
      started = true;
    } else if (!quoted && /\s/.test(char)) {
      push();
    } else if (!started && (char === "-" || char === "!") && !negated) {
      negated = true;
    } else {
      current += char;
      started = true;
    }
  }
  push();
  return terms;
}

const SIZE = /^(\d+(?:\.\d+)?)\s*([kmg]?)b?$/i;
const UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 * 1024, g: 1024 * 1024 * 1024 };
const DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?(?:Z|[+-]\d{2}:?\d{2})?$/;

function sizeOf(value: string): number | null {
  const match = SIZE.exec(value.trim());
  if (!match) return null;
  const octets = Math.round(Number(match[1]) * (UNITS[(match[2] ?? "").toLowerCase()] ?? 1));
  return Number.isSafeInteger(octets) ? octets : null;
}

function dateOf(value: string): string | null {
  if (!DATE.test(value)) return null;
  const date = new Date(/[T ]/.test(value) ? value.replace(" ", "T") : `${value}T00:00:00Z`);
  if (Number.isNaN(date.getTime())) return null;
  return `${date.toISOString().slice(0, 19)}Z`;
}

function condition(text: string): JsonObject | string {
  const colon = text.indexOf(":");
  const key = colon > 0 ? text.slice(0, colon).toLowerCase() : "";
  const value = colon > 0 ? text.slice(colon + 1) : text;
  switch (key) {
    case "from":
    case "to":
    case "cc":
    case "bcc":
    case "subject":
      return { [key]: value };
    case "addressed":
      return { operator: "OR", conditions: [{ to: value }, { cc: value }, { bcc: value }] };
    case "is": {
      const flag = value.toLowerCase();
      if (flag === "read" || flag === "seen") return { hasKeyword: "$seen" };
      if (flag === "unread" || flag === "unseen") return { notKeyword: "$seen" };
      return `is:${value} is not known; use is:read or is:unread`;
    }
    case "has": {
      if (/^attachments?$/i.test(value)) return { hasAttachment: true };
      return `has:${value} is not known; use has:attachment`;
    }
    case "before":
    case "after": {
      const date = dateOf(value);
      if (date === null) return `${key}:${value} needs a date such as 2024-01-31`;
      return { [key]: date };
    }
    case "larger":
    case "smaller": {
      const size = sizeOf(value);
      if (size === null) return `${key}:${value} needs a size such as 100K or 2M`;
      return key === "larger" ? { minSize: size + 1 } : { maxSize: size - 1 };
    }
    case "message-id":
    case "reply-to":
    case "return-path":
      // A substring of the field as it arrived, so "message-id:abc@host" finds "<abc@host>".
      return { header: [key, value] };
    case "tag":
    case "is-tagged":
      return `${key}: searches are not supported by mailroom's capture mode (it keeps no tags); see the README's Mailpit list`;
    default:
      // Mailpit too reads an unknown "word:thing" as text to look for.
      return { text };
  }
}

export function parseSearch(query: string): SearchParse {
  if (query.length > MAX_QUERY_LENGTH) {
    return { error: `the search query is longer than ${MAX_QUERY_LENGTH} characters; shorten it` };
  }
  const conditions: Json[] = [];
  for (const term of searchTerms(query)) {
    const found = condition(term.text);
    if (typeof found === "string") return { error: found };
    conditions.push(term.negated ? { operator: "NOT", conditions: [found] } : found);
  }
  if (conditions.length === 0) return { error: "the search query is empty; give at least one term" };
  return {
    filter: conditions.length === 1 ? (conditions[0] as JsonObject) : { operator: "AND", conditions },
  };
}
