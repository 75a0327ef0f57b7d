// Thread ids on PostgreSQL (the rule is in ../threading.ts): the user's known keys live in thread_keys.
// A batch of messages is placed with a fixed number of round trips, whatever its size, so deliveries
// and imports cost the same few statements.

import type pg from "pg";
import type { ChangeSet } from "../change-log.js";
import { chooseThread, type KnownKey, type ThreadHeaders } from "../threading.js";

export interface Placement {
  messageId: string;
  headers: ThreadHeaders;
  /** The thread to use (an import keeps the source's); otherwise the rule decides. */
  given?: string;
}

/**
 * The thread of each message for the user, by message id: a message the user already has keeps its
 * thread, a given one is taken, the rest follow their keys; the keys are remembered for later messages.
 * With `changes`, the new Emails and their Threads are recorded (a message the user had is "updated").
 */
export async function placeMessages(
  client: pg.ClientBase,
  userId: number,
  placements: readonly Placement[],
  changes?: ChangeSet,
): Promise<Map<string, string>> {
  const ids = [...new Set(placements.map((placement) => placement.messageId))];
  const keys = [...new Set(placements.flatMap((placement) => placement.headers.keys))];
  // One round trip for what placing needs: the threads of messages the user has ("m"), the known keys
  // ("k"), and which of those keys' threads still have entries ("t").
  const found = await client.query<{ kind: "m" | "k" | "t"; a: string; b: string; c: string }>(
    `WITH known AS (
       SELECT key, thread_id, subject FROM thread_keys WHERE user_id = $1 AND key = ANY($3::text[])
     )
     (SELECT DISTINCT ON (m.message_id) 'm' AS kind, m.message_id AS a, m.thread_id AS b, '' AS c
       FROM messages m JOIN mailboxes x ON x.id = m.mailbox_id
       WHERE x.user_id = $1 AND m.message_id = ANY($2::text[]))
     UNION ALL SELECT 'k', key, thread_id, subject FROM known
     UNION ALL (SELECT DISTINCT 't', m.thread_id, '', '' FROM messages m JOIN mailboxes x ON x.id = m.mailbox_id
       WHERE x.user_id = $1 AND m.thread_id IN (SELECT thread_id FROM known))`,
    [userId, ids, keys],
  );
  const threads = new Map<string, string>();
  const known = new Map<string, KnownKey>();
  const live = new Set<string>();
  for (const row of found.rows) {
    if (row.kind === "m") threads.set(row.a, row.b);
    else if (row.kind === "k") known.set(row.a, { threadId: row.b, subject: row.c });
    else live.add(row.a);
  }
  const added: Array<{ key: string; thread_id: string; subject: string }> = [];
  const fresh: Array<{ messageId: string; threadId: string }> = [];
  for (const placement of placements) {
    const had = threads.get(placement.messageId);
    if (had !== undefined && placement.given === undefined) {
      changes?.record(userId, "Email", placement.messageId, "u");
      continue;
    }
    const threadId = placement.given ?? chooseThread(placement.headers, known) ?? placement.messageId;
    threads.set(placement.messageId, threadId);
    if (had === undefined) fresh.push({ messageId: placement.messageId, threadId });
    for (const key of placement.headers.keys) {
      if (known.has(key)) continue;
      known.set(key, { threadId, subject: placement.headers.subject });
      added.push({ key, thread_id: threadId, subject: placement.headers.subject });
    }
  }
  if (added.length > 0) {
    await client.query(
      `INSERT INTO thread_keys (user_id, key, thread_id, subject)
       SELECT $1, r.key, r.thread_id, r.subject
       FROM jsonb_to_recordset($2::jsonb) AS r(key text, thread_id text, subject text)
       ON CONFLICT DO NOTHING`,
      [userId, JSON.stringify(added)],
    );
  }
  if (changes !== undefined) {
    for (const { messageId, threadId } of fresh) {
      changes.record(userId, "Email", messageId, "c");
      changes.record(userId, "Thread", threadId, live.has(threadId) ? "u" : "c");
    }
  }
  return threads;
}

/** The threads among `threadIds` in which the user has entries. */
export async function threadsWithEntries(
  client: pg.ClientBase,
  userId: number,
  threadIds: readonly string[],
): Promise<string[]> {
  if (threadIds.length === 0) return [];
  const result = await client.query<{ thread_id: string }>(
    `SELECT DISTINCT m.thread_id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
     WHERE b.user_id = $1 AND m.thread_id = ANY($2::text[])`,
    [userId, [...new Set(threadIds)]],
  );
  return result.rows.map((row) => row.thread_id);
}
