// Group commit: deliveries that arrive while a group is being formed share one transaction and so
// one WAL fsync. Each runs in its own savepoint, so one bad input fails only its own caller.

import type { Logger } from "pino";
import { newQueueId } from "../ids.js";
import type { SearchDocument } from "../search-index.js";
import { threadKeys } from "../threading.js";
import type { DeliveryInput, DeliveryResult } from "../types.js";
import type { SqliteBlobs } from "./blobs.js";
import { type Effects, emptyEffects, type SqliteDatabase } from "./database.js";
import { allocate, assignThread, insertEntry } from "./entries.js";
import { sqliteError } from "./errors.js";
import { indexDocument } from "./search-index.js";
import { insertTraceEvents } from "./traces.js";
import { normalizeFlags } from "./validate.js";

/** Deliveries committed together at most; the rest wait for the next group. */
const MAX_GROUP = 256;

interface PendingDelivery {
  input: DeliveryInput;
  /** The body's full-text document; null when no mailbox receives it. */
  document: SearchDocument | null;
  resolve: (result: DeliveryResult) => void;
  reject: (error: unknown) => void;
}

export class GroupCommit {
  private pending: PendingDelivery[] = [];
  private current: Promise<void> | null = null;

  constructor(
    private readonly database: SqliteDatabase,
    private readonly blobs: SqliteBlobs,
    private readonly logger: Logger,
  ) {}

  /** Settles once the group the delivery joins has committed (or failed). */
  add(input: DeliveryInput, document: SearchDocument | null): Promise<DeliveryResult> {
    return new Promise<DeliveryResult>((resolve, reject) => {
      this.pending.push({ input, document, resolve, reject });
      this.schedule();
    });
  }

  /** Waits until no group is forming or committing. */
  async drain(): Promise<void> {
    while (this.current !== null) await this.current;
  }

  private schedule(): void {
    if (this.current !== null) return;
    this.current = new Promise<void>((done) => {
      setImmediate(() => {
        this.commitGroup()
          .catch((error: unknown) => this.logger.error({ err: error }, "group commit failed unexpectedly"))
          .finally(() => {
            this.current = null;
            if (this.pending.length > 0) this.schedule();
            done();
          });
      });
    });
  }

  private async commitGroup(): Promise<void> {
    const group = this.pending.splice(0, MAX_GROUP);
    const outcomes: Array<{ result: DeliveryResult; effects: Effects } | { error: unknown }> = [];
    const deliverOne = this.database.db.transaction((item: PendingDelivery, effects: Effects) =>
      this.applyDelivery(item, effects),
    );
    try {
      this.database.db
        .transaction(() => {
          for (const item of group) {
            const effects = emptyEffects();
            try {
              outcomes.push({ result: deliverOne(item, effects), effects });
            } catch (error) {
              // Some errors (disk full, I/O) make SQLite roll back the whole transaction: then the
              // deliveries before this one are gone too, and the group must fail as a whole.
              if (!this.database.db.inTransaction) throw error;
              outcomes.push({ error });
            }
          }
        })
        .immediate();
    } catch (error) {
      const mapped = sqliteError(error, this.database.path);
      for (const item of group) item.reject(mapped);
      return;
    }
    this.logger.trace({ deliveries: group.length }, "group commit");
    for (const [index, item] of group.entries()) {
      const outcome = outcomes[index]!;
      if ("error" in outcome) {
        item.reject(sqliteError(outcome.error, this.database.path));
      } else {
        this.blobs.forgetHeader(item.input.blob.id);
        this.database.events.publish(outcome.effects.events);
        item.resolve(outcome.result);
      }
    }
  }

  private applyDelivery({ input, document }: PendingDelivery, effects: Effects): DeliveryResult {
    const keys = threadKeys(this.blobs.insertMessageRow(input.blob));
    if (document !== null) indexDocument(this.database, input.blob.id, document);
    const internalDate = input.internalDate.getTime();
    const uids: DeliveryResult["uids"] = [];
    /** A user reached in two mailboxes gets two emails of one thread. */
    const threads = new Map<number, number>();
    for (const target of input.mailboxes) {
      const { userId, firstUid, modseq, firstEmailId } = allocate(this.database, target.mailboxId, 1, 1);
      let threadId = threads.get(userId);
      if (threadId === undefined) {
        threadId = assignThread(this.database, userId, keys, firstEmailId);
        threads.set(userId, threadId);
      }
      insertEntry(this.database, {
        mailboxId: target.mailboxId,
        uid: firstUid,
        messageId: input.blob.id,
        flags: normalizeFlags(target.flags ?? []),
        internalDate,
        savedAt: Date.now(),
        size: input.blob.size,
        modseq,
        emailId: firstEmailId,
        threadId,
        createdModseq: modseq,
      });
      uids.push({ mailboxId: target.mailboxId, uid: firstUid });
      effects.events.push({ kind: "exists", userId, mailboxId: target.mailboxId, uids: [firstUid], modseq });
    }
    const queueIds: string[] = [];
    const now = Date.now();
    const holdUntil = input.holdUntil === undefined ? null : input.holdUntil.getTime();
    for (const entry of input.queue) {
      const id = newQueueId();
      // RFC 5321 §2.4: a relay must keep the case of a remote local part, so queue addresses stay as given.
      this.database.run(
        `INSERT INTO queue (id, message_id, sender, recipient, dsn, envelope_dsn, state, attempts, created_at,
                            next_attempt_at, last_error, claimed_until, delay_notified, hold_until, local)
         VALUES (?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?, NULL, NULL, 0, ?, ?)`,
        id,
        input.blob.id,
        input.sender,
        entry.recipient,
        JSON.stringify(entry.dsn ?? {}),
        JSON.stringify(input.envelopeDsn ?? {}),
        now,
        holdUntil ?? now,
        holdUntil,
        entry.local === true ? 1 : 0,
      );
      queueIds.push(id);
    }
    if (input.trace !== undefined && input.trace.length > 0) this.recordTrace(input);
    return { messageId: input.blob.id, uids, queueIds };
  }

  /** The delivery's trace events in a savepoint of their own: failing, they cost the trace only. */
  private recordTrace(input: DeliveryInput): void {
    try {
      this.database.db.transaction(() =>
        insertTraceEvents(this.database, input.blob.id, input.trace ?? []),
      )();
    } catch (error) {
      // Disk full or I/O errors roll back the whole transaction: then the delivery fails with them.
      if (!this.database.db.inTransaction) throw error;
      this.logger.warn({ err: error, messageId: input.blob.id }, "trace events not recorded");
    }
  }
}
