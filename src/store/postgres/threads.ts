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
  const existing = await client.query<{ message_id: string; thread_id: string }>(
    `SELECT DISTINCT ON (m.message_id) m.message_id, m.thread_id FROM messages m
     JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.user_id = $1 AND m.message_id = ANY($2::text[])`,
    [userId, ids],
  );
  const threads = new Map(existing.rows.map((row) => [row.message_id, row.thread_id]));
  const keys = [...new Set(placements.flatMap((placement) => placement.headers.keys))];
  const known = new Map<string, KnownKey>();
  if (keys.length > 0) {
    const found = await client.query<{ key: string; thread_id: string; subject: string }>(
      "SELECT key, thread_id, subject FROM thread_keys WHERE user_id = $1 AND key = ANY($2::text[])",
      [userId, keys],
    );
    for (const row of found.rows) known.set(row.key, { threadId: row.thread_id, subject: row.subject });
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
  if (changes !== undefined && fresh.length > 0) {
    const joined = fresh.filter((entry) => entry.threadId !== entry.messageId).map((entry) => entry.threadId);
    const live = new Set(await threadsWithEntries(client, userId, joined));
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
