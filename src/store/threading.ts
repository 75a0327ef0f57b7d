// Threads from a message's header block (RFC 5322 §3.6.4): a message joins the thread of an earlier copy
// with its own Message-ID, else of the nearest message it names in In-Reply-To or References. Both keep
// a per-user table from a hash of each delivered message's own Message-ID to its thread, so joining
// costs one indexed lookup. A reply also records the parents it names that are not there yet, so a
// parent delivered after its reply joins the reply's thread. Subjects are not compared, and two
// threads that a late message turns out to connect stay two: both would need more lookups (or
// rewriting ids clients already hold) per delivery than the budget allows.

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
    const id = raw.includes(" ") || raw.includes("\t") ? raw.replace(/[ \t\r\n]+/g, "") : raw;
    if (id.length > 0 && !id.includes("<")) ids.push(id);
    open = close;
  }
  return ids;
}

/**
 * The unfolded value of the first field `needle` names (a line feed, its lower-case name, a colon) in the
 * header block `text`, whose lower-cased copy with a line feed in front is `lower`; undefined when
 * absent. Native searches for the three names cost a fraction of a scan of every line. The obsolete
 * form with space before the colon is not matched.
 */
function fieldValue(text: string, lower: string, needle: string): string | undefined {
  const at = lower.indexOf(needle);
  if (at === -1) return undefined;
  const from = at + needle.length - 1;
  let end = text.indexOf("\r\n", from);
  // Folded lines (starting with space or tab) continue the field (RFC 5322 §2.2.3).
  while (end !== -1 && (text.charCodeAt(end + 2) === 0x20 || text.charCodeAt(end + 2) === 0x09)) {
    end = text.indexOf("\r\n", end + 2);
  }
  return text.slice(from, end === -1 ? text.length : end);
}

export function threadKeys(header: Buffer | null): ThreadKeys {
  if (header === null) return { own: null, parents: [] };
  const text = header.toString("latin1");
  const lower = `\n${text.toLowerCase()}`;
  const ownId = msgIds(fieldValue(text, lower, "\nmessage-id:") ?? "")[0];
  const own = ownId === undefined ? null : hashId(ownId);
  const parents: number[] = [];
  const inReplyTo = fieldValue(text, lower, "\nin-reply-to:");
  if (inReplyTo !== undefined) for (const id of msgIds(inReplyTo)) addParent(parents, own, id);
  const references = fieldValue(text, lower, "\nreferences:");
  if (references !== undefined) {
    const ids = msgIds(references);
    for (let index = ids.length - 1; index >= 0; index--) addParent(parents, own, ids[index] as string);
  }
  return { own, parents };
}

function addParent(parents: number[], own: number | null, id: string): void {
  const hash = hashId(id);
  if (hash !== own && parents.length < MAX_REFERENCES && !parents.includes(hash)) parents.push(hash);
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
