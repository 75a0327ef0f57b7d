// Threads from a message's header block (RFC 5322 §3.6.4): a message joins the thread of a message it
// names in In-Reply-To or References, or of an earlier copy with its own Message-ID. Both backends keep
// a per-user table from a hash of each delivered message's own Message-ID to its thread, so joining
// costs one indexed lookup. A parent delivered after its reply starts a thread of its own, and subjects
// are not compared: both would need more lookups per delivery than the budget allows.

import { createHash } from "node:crypto";

/** References looked up per message: the nearest parents; longer References chains add nothing. */
const MAX_REFERENCES = 16;

export interface ThreadKeys {
  /** The hash of the message's own Message-ID; null when it has none. */
  own: bigint | null;
  /** Hashes to look up, best first: the own Message-ID, In-Reply-To, then References from the last. */
  lookups: bigint[];
}

/** A signed 64-bit hash of a msg-id, as both backends store it in an integer column. */
function hashId(id: string): bigint {
  return createHash("sha256").update(id).digest().readBigInt64BE(0);
}

/** The msg-ids of a field's value, without angle brackets or folding whitespace. */
function msgIds(value: string): string[] {
  const ids: string[] = [];
  for (const match of value.matchAll(/<([^<>]+)>/g)) {
    const id = (match[1] as string).replace(/\s+/g, "");
    if (id.length > 0) ids.push(id);
  }
  return ids;
}

/** The unfolded values of the fields named, by lower-case name; the first of each name counts. */
function fields(header: string, names: ReadonlySet<string>): Map<string, string> {
  const found = new Map<string, string>();
  let current: string | null = null;
  for (const line of header.split("\r\n")) {
    if (line.length === 0) break;
    if (line[0] === " " || line[0] === "\t") {
      if (current !== null) found.set(current, `${found.get(current)} ${line}`);
      continue;
    }
    current = null;
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trimEnd().toLowerCase();
    if (names.has(name) && !found.has(name)) {
      current = name;
      found.set(name, line.slice(colon + 1));
    }
  }
  return found;
}

const THREAD_FIELDS = new Set(["message-id", "in-reply-to", "references"]);

export function threadKeys(header: Buffer | null): ThreadKeys {
  if (header === null) return { own: null, lookups: [] };
  const found = fields(header.toString("latin1"), THREAD_FIELDS);
  const own = msgIds(found.get("message-id") ?? "")[0];
  const parents = [
    ...msgIds(found.get("in-reply-to") ?? ""),
    ...msgIds(found.get("references") ?? "").reverse(),
  ];
  const ordered = [...new Set(own === undefined ? parents : [own, ...parents])].slice(0, MAX_REFERENCES);
  const lookups = ordered.map(hashId);
  return { own: own === undefined ? null : (lookups[0] as bigint), lookups };
}

/** The thread of the best-placed lookup that matched; undefined when none did. */
export function bestThread(keys: ThreadKeys, matches: ReadonlyMap<bigint, number>): number | undefined {
  for (const key of keys.lookups) {
    const thread = matches.get(key);
    if (thread !== undefined) return thread;
  }
  return undefined;
}
