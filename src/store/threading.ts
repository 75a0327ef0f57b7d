// Threads from a message's header block (RFC 5322 §3.6.4): a message joins the thread of an earlier copy
// with its own Message-ID, else of the nearest message it names in In-Reply-To or References. Both keep
// a per-user table from a hash of each delivered message's own Message-ID to its thread, so joining
// costs one indexed lookup. A parent delivered after its reply starts a thread of its own, and subjects
// are not compared: both would need more lookups per delivery than the budget allows.

/** References looked up per message: the nearest parents; longer References chains add nothing. */
const MAX_REFERENCES = 16;

export interface ThreadKeys {
  /** The hash of the message's own Message-ID; null when it has none. */
  own: number | null;
  /** Hashes of the messages it answers, nearest first: In-Reply-To, then References from the last. */
  parents: number[];
}

/**
 * A 53-bit hash of a msg-id (cyrb53): a JS number, stored in an integer column. Not cryptographic: a
 * sender who forges a collision only joins their message to a thread their References could name
 * anyway; by chance, a user with a million messages sees one collision in about 18,000. A crypto hash
 * cost a quarter of a delivery's statement work.
 */
function hashId(id: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** The msg-ids of a field's value, without angle brackets or folding whitespace. */
function msgIds(value: string): string[] {
  const ids: string[] = [];
  for (let open = value.indexOf("<"); open !== -1; open = value.indexOf("<", open + 1)) {
    const close = value.indexOf(">", open + 1);
    if (close === -1) break;
    const raw = value.slice(open + 1, close);
    const id = /\s/.test(raw) ? raw.replace(/\s+/g, "") : raw;
    if (id.length > 0 && !id.includes("<")) ids.push(id);
    open = close;
  }
  return ids;
}

const THREAD_FIELDS = new Set(["message-id", "in-reply-to", "references"]);

/**
 * The unfolded values of the three fields threading reads (the first of each), by lower-case name. A
 * line scan that looks closer only at lines starting with m, i or r: a regular expression over the
 * whole block cost more than the rest of threading.
 */
function threadFields(text: string): Map<string, string> {
  const found = new Map<string, string>();
  let current: string | null = null;
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf("\r\n", start);
    if (end === -1) end = text.length;
    const first = text.charCodeAt(start) | 0x20;
    if (end === start) break;
    if (first === 0x20 || first === 0x29) {
      // A folded line (space or tab) continues the field before it (RFC 5322 §2.2.3).
      if (current !== null) found.set(current, `${found.get(current)} ${text.slice(start, end)}`);
    } else {
      current = null;
      if (first === 0x6d || first === 0x69 || first === 0x72) {
        const colon = text.indexOf(":", start);
        if (colon !== -1 && colon < end) {
          const name = text.slice(start, colon).trimEnd().toLowerCase();
          if (THREAD_FIELDS.has(name) && !found.has(name)) {
            current = name;
            found.set(name, text.slice(colon + 1, end));
          }
        }
      }
    }
    start = end + 2;
  }
  return found;
}

export function threadKeys(header: Buffer | null): ThreadKeys {
  if (header === null) return { own: null, parents: [] };
  const found = threadFields(header.toString("latin1"));
  const ownId = msgIds(found.get("message-id") ?? "")[0];
  const own = ownId === undefined ? null : hashId(ownId);
  const parents: number[] = [];
  const add = (id: string) => {
    const hash = hashId(id);
    if (hash !== own && parents.length < MAX_REFERENCES && !parents.includes(hash)) parents.push(hash);
  };
  const inReplyTo = found.get("in-reply-to");
  if (inReplyTo !== undefined) for (const id of msgIds(inReplyTo)) add(id);
  const references = found.get("references");
  if (references !== undefined) {
    const ids = msgIds(references);
    for (let index = ids.length - 1; index >= 0; index--) add(ids[index] as string);
  }
  return { own, parents };
}

/** The thread of the nearest parent that matched; undefined when none did. */
export function nearestThread(
  parents: readonly number[],
  matches: ReadonlyMap<number, number>,
): number | undefined {
  for (const key of parents) {
    const thread = matches.get(key);
    if (thread !== undefined) return thread;
  }
  return undefined;
}
