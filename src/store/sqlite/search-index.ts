// The full-text index of the SQLite store on FTS5 (schema: search_docs, search_text). Documents are
// written in the caller's transaction by indexDocument; the schema's trigger removes them with their
// body's row.

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
import type { SqliteBlobs } from "./blobs.js";
import type { SqliteDatabase } from "./database.js";

const USER_MAILBOXES = "SELECT id FROM mailboxes WHERE user_id = ?";
/** The bodies of a mailbox's entries, if the mailbox is the user's: parameters mailbox id, user id. */
const MAILBOX_BODIES = `SELECT message_id FROM mailbox_messages WHERE mailbox_id = ? AND mailbox_id IN (${USER_MAILBOXES})`;

/** Indexes a body unless it is already; in the caller's transaction. */
export function indexDocument(database: SqliteDatabase, messageId: string, document: SearchDocument): void {
  const id = database
    .stmt("INSERT INTO search_docs (message_id) VALUES (?) ON CONFLICT DO NOTHING RETURNING id")
    .pluck(true)
    .get(messageId) as number | undefined;
  if (id === undefined) return;
  database.run(
    `INSERT INTO search_text (rowid, subject, "from", "to", cc, bcc, body, attached)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    id,
    document.subject,
    document.from,
    document.to,
    document.cc,
    document.bcc,
    document.body,
    document.attached,
  );
}

/**
 * An FTS5 phrase of the words, the last a prefix, in the given columns; the words hold only letters,
 * digits and marks and the column names are the schema's, so nothing needs quoting.
 */
function matchExpression(fields: readonly SearchField[], words: readonly string[]): string {
  return `{${fields.join(" ")}} : "${words.join(" ")}" *`;
}

export class SqliteSearchIndex implements SearchIndex {
  constructor(
    private readonly database: SqliteDatabase,
    private readonly blobs: SqliteBlobs,
  ) {}

  async search(
    userId: number,
    fields: readonly SearchField[],
    text: string,
    options?: { mailboxId?: number },
  ): Promise<string[]> {
    this.database.assertOpen();
    checkSearch(fields, text, options);
    const words = searchWords(text);
    if (words.length === 0) return [];
    await this.catchUp(userId);
    const mailboxId = options?.mailboxId;
    const entries =
      mailboxId === undefined
        ? `mailbox_id IN (${USER_MAILBOXES})`
        : `mailbox_id = ? AND mailbox_id IN (${USER_MAILBOXES})`;
    // Both lists are built once and matched by key; an EXISTS per match had SQLite walk the mailbox's
    // entries once per matching body (seconds for a common word in a 10,000-message mailbox).
    return this.database.read(
      () =>
        this.database
          .stmt(
            `SELECT message_id FROM search_docs
             WHERE id IN (SELECT rowid FROM search_text WHERE search_text MATCH ?)
               AND message_id IN (SELECT message_id FROM mailbox_messages WHERE ${entries})`,
          )
          .pluck(true)
          .all(
            matchExpression(fields, words),
            ...(mailboxId === undefined ? [] : [mailboxId]),
            userId,
          ) as string[],
    );
  }

  async cannotMatch(userId: number, mailboxId: number, patterns: readonly string[]): Promise<MatchFilter> {
    this.database.assertOpen();
    const kept = checkPatterns(mailboxId, patterns);
    if (kept.length === 0) return { ruledOut: [], unkept: [] };
    await this.catchUp(userId);
    const lacking = kept.map(() => "instr(d.match_words, ?) = 0").join(" OR ");
    const rows = this.database.read(
      () =>
        this.database
          .stmt(
            `SELECT d.message_id AS id, d.match_words IS NULL AS unkept FROM search_docs d
             WHERE d.message_id IN (${MAILBOX_BODIES})
               AND (d.match_words IS NULL OR (d.match_words <> '' AND (${lacking})))`,
          )
          .all(mailboxId, userId, ...kept) as Array<{ id: string; unkept: number }>,
    );
    const filter: MatchFilter = { ruledOut: [], unkept: [] };
    for (const row of await rows) (row.unkept === 1 ? filter.unkept : filter.ruledOut).push(row.id);
    return filter;
  }

  async keepMatchWords(words: ReadonlyMap<string, string | null>): Promise<void> {
    this.database.assertOpen();
    const rows = checkMatchWords(words);
    if (rows.length === 0) return;
    await this.database.write(() => {
      const update = this.database.stmt(
        "UPDATE search_docs SET match_words = ? WHERE message_id = ? AND match_words IS NULL",
      );
      for (const [messageId, kept] of rows) update.run(kept, messageId);
    });
  }

  /** Indexes the user's bodies that are not yet (stored before the index existed, or imported). */
  private async catchUp(userId: number): Promise<void> {
    for (;;) {
      const missing = await this.database.read(
        () =>
          this.database
            .stmt(
              `SELECT DISTINCT m.message_id FROM mailbox_messages m WHERE m.mailbox_id IN (${USER_MAILBOXES})
               AND NOT EXISTS (SELECT 1 FROM search_docs d WHERE d.message_id = m.message_id) LIMIT ?`,
            )
            .pluck(true)
            .all(userId, CATCH_UP_BATCH) as string[],
      );
      if (missing.length === 0) return;
      const documents = await Promise.all(missing.map((id) => documentOf(this.blobs, id)));
      await this.database.write(() => {
        for (const [index, id] of missing.entries()) {
          // A body expunged while it was read must not leave a document behind.
          if (this.database.get("SELECT 1 FROM messages WHERE id = ?", id) === undefined) continue;
          indexDocument(this.database, id, documents[index]!);
        }
      });
    }
  }
}
