// Thread ids, decided when a message is stored (JMAP Thread, RFC 8621 §3). The rule, kept simple on
// purpose: references first, subject only as a tie-breaker.
//
// - The message's keys are its References (root first), then In-Reply-To, then its own Message-ID.
// - Each user has a map from keys already seen to the thread that saw them (a child stored before its
//   parent put the parent's Message-ID there, so the parent joins the child's thread).
// - The message joins the thread of the first known key; when its known keys point at more than one
//   thread, the first whose RFC 5256 base subject equals the message's wins. A subject alone never joins
//   a thread, so unrelated "Hello" messages stay apart.
// - With no known key the message starts a thread whose id is its own message id. Threads never merge
//   later: a message that would join two threads picks one, and both stay as they are.

import { decodeWords } from "postal-mime";

export interface ThreadHeaders {
  /** References, then In-Reply-To, then Message-ID: deduplicated, in that order. */
  keys: string[];
  /** The message's own Message-ID, if it has one. */
  messageId: string | null;
  /** RFC 5256 §2.1 base subject, case-folded for comparison. */
  subject: string;
}

export interface KnownKey {
  threadId: string;
  subject: string;
}

/** References beyond this many keep the root and the nearest ancestors; a thread needs no more. */
const MAX_KEYS = 20;
const MSG_ID = /<[^<>\s]+>/g;

/** What threading reads from a stored header block (null when the block is unknown). */
export function threadHeaders(block: Uint8Array | null): ThreadHeaders {
  if (block === null) return { keys: [], messageId: null, subject: "" };
  const fields = headerFields(Buffer.from(block).toString("utf8"));
  const messageId = fields.get("message-id")?.match(MSG_ID)?.[0] ?? null;
  const references = fields.get("references")?.match(MSG_ID) ?? [];
  const inReplyTo = fields.get("in-reply-to")?.match(MSG_ID) ?? [];
  let keys = [...new Set([...references, ...inReplyTo].filter((key) => key !== messageId))];
  if (keys.length > MAX_KEYS - 1) keys = [keys[0] as string, ...keys.slice(keys.length - (MAX_KEYS - 2))];
  if (messageId !== null) keys.push(messageId);
  return { keys, messageId, subject: baseSubject(fields.get("subject") ?? "") };
}

/** The thread a message joins, or null when none of its keys is known (it starts its own). */
export function chooseThread(headers: ThreadHeaders, known: ReadonlyMap<string, KnownKey>): string | null {
  const found = headers.keys.flatMap((key) => {
    const hit = known.get(key);
    return hit === undefined ? [] : [hit];
  });
  const first = found[0];
  if (first === undefined) return null;
  if (found.every((hit) => hit.threadId === first.threadId)) return first.threadId;
  return (found.find((hit) => hit.subject === headers.subject) ?? first).threadId;
}

/** Assigns thread ids in memory, in delivery order: the upgrade backfill of one user's messages. */
export class Threader {
  private readonly known = new Map<string, KnownKey>();
  private readonly placed = new Map<string, string>();

  assign(messageId: string, headers: ThreadHeaders): string {
    // A message already placed (the same message in another mailbox) stays in its thread.
    const placed = this.placed.get(messageId);
    if (placed !== undefined) return placed;
    const threadId = chooseThread(headers, this.known) ?? messageId;
    for (const key of headers.keys) {
      if (!this.known.has(key)) this.known.set(key, { threadId, subject: headers.subject });
    }
    this.placed.set(messageId, threadId);
    return threadId;
  }

  /** The keys seen and their threads, to be kept for the messages stored later. */
  entries(): IterableIterator<[string, KnownKey]> {
    return this.known.entries();
  }
}

/** Unfolded header fields by lower-case name; the first occurrence of a name wins. */
function headerFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.replace(/\r?\n[ \t]/g, " ").split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!fields.has(name)) fields.set(name, line.slice(colon + 1).trim());
  }
  return fields;
}

// RFC 5256 §2.1 steps 2-6: trailing "(fwd)", leading "Re:", "Fw:", "Fwd:" with optional [blob]s, leading
// [blob]s when something follows them, and the "[Fwd: ...]" wrapper, until nothing changes.
const TRAILER = /\s*\(fwd\)\s*$/i;
const REFWD = /^\s*(?:\[[^[\]]*\]\s*)*(?:re|fwd?)\s*(?:\[[^[\]]*\]\s*)*:\s*/i;
const LEADING_BLOB = /^\s*\[[^[\]]*\]\s*(?=\S)/;
const FWD_WRAPPER = /^\[fwd:\s*(.*)\]$/i;

export function baseSubject(raw: string): string {
  let subject = decodeWords(raw).replace(/\s+/g, " ").trim();
  for (;;) {
    let next = subject.replace(TRAILER, "");
    for (let previous = ""; previous !== next; ) {
      previous = next;
      next = next.replace(REFWD, "");
      const stripped = next.replace(LEADING_BLOB, "");
      if (stripped.length > 0) next = stripped;
    }
    const wrapped = FWD_WRAPPER.exec(next);
    if (wrapped) next = (wrapped[1] as string).trim();
    if (next === subject) return subject.toLowerCase();
    subject = next;
  }
}
