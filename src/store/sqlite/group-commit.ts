// Group commit: deliveries whose bodies finish within one short window share one transaction, and
// the groups committed while a WAL fsync is under way share the next one (./wal-sync.ts). Each delivery
// runs in its own savepoint, so one bad input fails only its own caller. No delivery of a group resolves,
// and so SMTP answers no 250, before the fsync that covers its commit has finished.

import type { Logger } from "pino";
import { newQueueId } from "../ids.js";
import type { SearchDocument } from "../search-index.js";
import { threadKeys } from "../threading.js";
import { type DeliveryInput, type DeliveryResult, StoreError } from "../types.js";
import type { SqliteBlobs } from "./blobs.js";
import { type Effects, emptyEffects, type SqliteDatabase } from "./database.js";
import { allocate, assignThread, insertEntry } from "./entries.js";
import { sqliteError } from "./errors.js";
import { indexDocument } from "./search-index.js";
import { insertTraceEvents } from "./traces.js";
import { normalizeFlags } from "./validate.js";

export interface GroupCommitOptions {
  /** Deliveries committed in one transaction at most; the rest wait for the next group. */
  maxBatch: number;
  /**
   * How long the first delivery of a group waits for others before the group commits, µs. 0: the
   * next turn of the event loop (whatever arrived meanwhile joins); otherwise rounded up to whole
   * milliseconds, as Node's timers count. Groups also form by themselves while a WAL fsync is under
   * way, so a wait pays off only for many senders on a slow disk.
   */
  maxWaitMicros: number;
}

export const GROUP_COMMIT_DEFAULTS: GroupCommitOptions = { maxBatch: 256, maxWaitMicros: 0 };

interface PendingDelivery {
  input: DeliveryInput;
  /** The body's full-text document; null when no mailbox receives it. */
  document: SearchDocument | null;
  resolve: (result: DeliveryResult) => void;
  reject: (error: unknown) => void;
}

/** A delivery committed to the WAL, waiting for the fsync that makes it durable. */
interface Committed {
  item: PendingDelivery;
  result: DeliveryResult;
  effects: Effects;
}

export class GroupCommit {
  private pending: PendingDelivery[] = [];
  private current: Promise<void> | null = null;
  /** Committed groups waiting for the fsync that makes them durable. */
  private readonly syncing = new Set<Promise<void>>();
  private readonly options: GroupCommitOptions;

  constructor(
    private readonly database: SqliteDatabase,
    private readonly blobs: SqliteBlobs,
    private readonly logger: Logger,
    options: Partial<GroupCommitOptions> = {},
  ) {
    this.options = { ...GROUP_COMMIT_DEFAULTS, ...options };
  }

  /** Settles once the group the delivery joins has committed and is durable (or failed). */
  add(input: DeliveryInput, document: SearchDocument | null): Promise<DeliveryResult> {
    return new Promise<DeliveryResult>((resolve, reject) => {
      this.pending.push({ input, document, resolve, reject });
      this.schedule();
    });
  }

  /** Waits until no group is forming, committing or waiting for its fsync. */
  async drain(): Promise<void> {
    while (this.current !== null || this.syncing.size > 0) {
      if (this.current !== null) await this.current;
      await Promise.all(this.syncing);
    }
  }

  private schedule(): void {
    if (this.current !== null) return;
    const { maxWaitMicros, maxBatch } = this.options;
    this.current = new Promise<void>((done) => {
      const run = () => {
        this.commitGroup()
          .catch((error: unknown) => this.logger.error({ err: error }, "group commit failed unexpectedly"))
          .finally(() => {
            this.current = null;
            if (this.pending.length > 0) this.schedule();
            done();
          });
      };
      // A full group need not wait for its window.
      if (maxWaitMicros <= 0 || this.pending.length >= maxBatch) setImmediate(run);
      // Node's timers count whole milliseconds: a wait of 1 to 999 µs is 1 ms.
      else setTimeout(run, Math.ceil(maxWaitMicros / 1000));
    });
  }

  private async commitGroup(): Promise<void> {
    const group = this.pending.splice(0, this.options.maxBatch);
    const outcomes: Array<{ result: DeliveryResult; effects: Effects } | { error: unknown }> = [];
    const { db } = this.database;
    const deliverOne = db.transaction((item: PendingDelivery, effects: Effects) =>
      this.applyDelivery(item, effects),
    );
    try {
      // NORMAL: the commit writes the WAL without syncing it; the fsync below makes it durable.
      db.pragma("synchronous = NORMAL");
      try {
        db.transaction(() => {
          for (const item of group) {
            const effects = emptyEffects();
            try {
              outcomes.push({ result: deliverOne(item, effects), effects });
            } catch (error) {
              // Some errors (disk full, I/O) make SQLite roll back the whole transaction: then the
              // deliveries before this one are gone too, and the group must fail as a whole.
              if (!db.inTransaction) throw error;
              outcomes.push({ error });
            }
          }
        }).immediate();
      } finally {
        db.pragma("synchronous = FULL");
      }
    } catch (error) {
      const mapped = sqliteError(error, this.database.path);
      for (const item of group) item.reject(mapped);
      return;
    }
    this.logger.trace({ deliveries: group.length }, "group commit");
    const committed: Committed[] = [];
    for (const [index, item] of group.entries()) {
      const outcome = outcomes[index]!;
      if ("error" in outcome) item.reject(sqliteError(outcome.error, this.database.path));
      else committed.push({ item, ...outcome });
    }
    if (committed.length > 0) this.awaitSync(committed);
  }

  /** The group's deliveries resolve (and their events go out) only once their fsync has finished. */
  private awaitSync(batch: Committed[]): void {
    const done: Promise<void> = this.database.walSync
      .sync()
      .then(
        () => {
          for (const { item, result, effects } of batch) {
            this.blobs.forgetHeader(item.input.blob.id);
            this.database.events.publish(effects.events);
            item.resolve(result);
          }
        },
        (error: unknown) => {
          // The rows are in the WAL but may not be on disk: the client hears a temporary failure and
          // sends again; should the first copy survive, that is a duplicate, never a loss.
          this.logger.error({ err: error }, "fsync of the database WAL failed");
          const failure = new StoreError(
            "unavailable",
            `could not make the delivery durable (fsync of ${this.database.path}-wal failed)`,
          );
          for (const { item } of batch) item.reject(failure);
        },
      )
      .finally(() => this.syncing.delete(done));
    this.syncing.add(done);
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
