// The full-text index of the PostgreSQL store on tsvector + GIN (schema: search_docs). Documents are
// written in the caller's transaction by indexDocument; a row goes with its body (ON DELETE CASCADE).

import { searchWords } from "../../mail/search-text.js";
import {
  CATCH_UP_BATCH,
  checkMatchWords,
  checkPatterns,
  checkSearch,
  documentOf,
  type MatchFilter,
  type SearchDocument,
  type SearchIndex,
} from "../search-index.js";
import type { SearchField } from "../types.js";
import { readBlobBytes, readBlobStream } from "./blobs.js";
import type { PostgresDatabase } from "./database.js";

/** Indexes a body unless it is already; in the caller's transaction. */
export async function indexDocument(
  client: { query(sql: string, values: unknown[]): Promise<unknown> },
  messageId: string,
  document: SearchDocument,
): Promise<void> {
  await client.query(
    `INSERT INTO search_docs (message_id, subject, "from", "to", cc, bcc, body, attached)
     VALUES ($1, to_tsvector('simple', $2), to_tsvector('simple', $3), to_tsvector('simple', $4),
             to_tsvector('simple', $5), to_tsvector('simple', $6), to_tsvector('simple', $7),
             to_tsvector('simple', $8))
     ON CONFLICT DO NOTHING`,
    [
      messageId,
      document.subject,
      document.from,
      document.to,
      document.cc,
      document.bcc,
      document.body,
      document.attached,
    ],
  );
}

/** The bodies of a mailbox's entries, if the mailbox is the user's: parameters $1 mailbox id, $2 user id. */
const MAILBOX_BODIES = `SELECT m.message_id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
  WHERE m.mailbox_id = $1 AND b.user_id = $2`;

/** A tsquery phrase of the words, the last a prefix; the words hold only letters, digits and marks. */
function tsquery(words: readonly string[]): string {
  return words.map((word, index) => `'${word}'${index === words.length - 1 ? ":*" : ""}`).join(" <-> ");
}

export class PostgresSearchIndex implements SearchIndex {
  constructor(private readonly database: PostgresDatabase) {}

  async search(
    userId: number,
    fields: readonly SearchField[],
    text: string,
    options?: { mailboxId?: number },
  ): Promise<string[]> {
    checkSearch(fields, text, options);
    const words = searchWords(text);
    if (words.length === 0) return [];
    await this.catchUp(userId);
    // Column names are the schema's (checkSearch): quoted, as "from" and "to" are SQL words.
    const matches = fields.map((field) => `d."${field}" @@ q`).join(" OR ");
    const mailboxId = options?.mailboxId;
    const rows = await this.database.read<{ message_id: string }>(
      `SELECT d.message_id FROM search_docs d, to_tsquery('simple', $1) q
       WHERE (${matches}) AND EXISTS (
         SELECT 1 FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
         WHERE m.message_id = d.message_id AND b.user_id = $2${mailboxId === undefined ? "" : " AND m.mailbox_id = $3"})`,
      mailboxId === undefined ? [tsquery(words), userId] : [tsquery(words), userId, mailboxId],
    );
    return rows.map((row) => row.message_id);
  }

  async cannotMatch(userId: number, mailboxId: number, patterns: readonly string[]): Promise<MatchFilter> {
    const kept = checkPatterns(mailboxId, patterns);
    if (kept.length === 0) return { ruledOut: [], unkept: [] };
    await this.catchUp(userId);
    const lacking = kept.map((_, index) => `strpos(d.match_words, $${index + 3}) = 0`).join(" OR ");
    const rows = await this.database.read<{ message_id: string; unkept: boolean }>(
      `SELECT d.message_id, d.match_words IS NULL AS unkept FROM search_docs d
       WHERE (d.match_words IS NULL OR (d.match_words <> '' AND (${lacking})))
         AND d.message_id IN (${MAILBOX_BODIES})`,
      [mailboxId, userId, ...kept],
    );
    const filter: MatchFilter = { ruledOut: [], unkept: [] };
    for (const row of rows) (row.unkept ? filter.unkept : filter.ruledOut).push(row.message_id);
    return filter;
  }

  async keepMatchWords(words: ReadonlyMap<string, string | null>): Promise<void> {
    const rows = checkMatchWords(words);
    if (rows.length === 0) return;
    await this.database.tx(async (tx) => {
      await tx.client.query(
        `UPDATE search_docs d SET match_words = w.words
         FROM unnest($1::text[], $2::text[]) AS w (id, words)
         WHERE d.message_id = w.id AND d.match_words IS NULL`,
        [rows.map(([id]) => id), rows.map(([, kept]) => kept)],
      );
    });
  }

  /** Indexes the user's bodies that are not yet (stored before the index existed, or imported). */
  private async catchUp(userId: number): Promise<void> {
    for (;;) {
      const missing = (
        await this.database.read<{ message_id: string }>(
          `SELECT DISTINCT m.message_id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
           WHERE b.user_id = $1 AND NOT EXISTS (SELECT 1 FROM search_docs d WHERE d.message_id = m.message_id)
           LIMIT $2`,
          [userId, CATCH_UP_BATCH],
        )
      ).map((row) => row.message_id);
      if (missing.length === 0) return;
      const { pool, server } = this.database;
      const documents = await Promise.all(
        missing.map((id) =>
          documentOf(
            {
              readBlobBytes: (messageId) => readBlobBytes(pool, server, messageId),
              readBlob: (messageId) => readBlobStream(pool, server, messageId),
            },
            id,
          ),
        ),
      );
      await this.database.tx(async (tx) => {
        for (const [index, id] of missing.entries()) {
          // A body removed while it was read must not be indexed (nor break the foreign key).
          const held = await tx.client.query("SELECT 1 FROM blobs WHERE id = $1 FOR KEY SHARE", [id]);
          if (held.rowCount === 0) continue;
          await indexDocument(tx.client, id, documents[index]!);
        }
      });
    }
  }
}
