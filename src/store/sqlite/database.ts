// The mechanics every part of the SQLite store shares: one connection with its prepared-statement cache,
// reads and IMMEDIATE write transactions with what they leave to do after the commit, the calls still in
// flight, and whether the store is closed.

import type Database from "better-sqlite3";
import type { FileBlobStore } from "../blobs/file-blob-store.js";
import { type MailboxEvent, StoreError } from "../types.js";
import { sqliteError } from "./errors.js";
import type { EventBus } from "./event-bus.js";
import { WalSync } from "./wal-sync.js";

/** What a committed transaction leaves to do: events to publish, bodies nobody references any more. */
export interface Effects {
  events: MailboxEvent[];
  unreferenced: Set<string>;
}

export const emptyEffects = (): Effects => ({ events: [], unreferenced: new Set() });

/** How soon a relaxed commit is made durable when no durable commit comes first. */
const RELAXED_SYNC_MS = 500;

export class SqliteDatabase {
  private readonly statements = new Map<string, Database.Statement>();
  /** deliver()/append() calls past their first await: close() lets them finish. */
  private readonly inflight = new Set<Promise<unknown>>();
  private isClosed = false;
  /**
   * Bodies whose last reference went in a relaxed commit (writeRelaxed) not yet known durable: a power
   * loss could bring their rows back, so the files stay until a durable commit or checkpoint follows.
   */
  private readonly awaitingDurability = new Set<string>();
  private durabilityTimer: NodeJS.Timeout | null = null;

  /** The WAL fsync every durable commit waits for, shared so that commits close together share one. */
  readonly walSync: WalSync;

  constructor(
    readonly db: Database.Database,
    readonly path: string,
    readonly files: FileBlobStore,
    readonly events: EventBus,
  ) {
    this.walSync = new WalSync(`${path}-wal`);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** From now on every call but those already accepted fails; close() then waits for those. */
  stopAccepting(): void {
    this.isClosed = true;
  }

  async settleInflight(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
  }

  close(): void {
    if (this.durabilityTimer) clearTimeout(this.durabilityTimer);
    this.durabilityTimer = null;
    // Bodies still awaiting durability stay as files: the orphan sweep of a later start removes them
    // once their rows are certainly gone.
    this.awaitingDurability.clear();
    this.files.close();
    this.db.close();
  }

  /** Whether a body's removal waits for a relaxed commit to become durable (the orphan sweep keeps it). */
  awaitsDurability(messageId: string): boolean {
    return this.awaitingDurability.has(messageId);
  }

  stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  get<T>(sql: string, ...params: unknown[]): T | undefined {
    return this.stmt(sql).get(...params) as T | undefined;
  }

  all<T>(sql: string, ...params: unknown[]): T[] {
    return this.stmt(sql).all(...params) as T[];
  }

  run(sql: string, ...params: unknown[]): Database.RunResult {
    return this.stmt(sql).run(...params);
  }

  assertOpen(): void {
    if (this.isClosed)
      throw new StoreError("unavailable", "the store is closed; this is a bug in the caller");
  }

  read<T>(fn: () => T): Promise<T> {
    try {
      this.assertOpen();
      return Promise.resolve(fn());
    } catch (error) {
      return Promise.reject(sqliteError(error, this.path));
    }
  }

  /**
   * Runs fn in one IMMEDIATE transaction and resolves once the commit is durable; then publishes its
   * events and removes orphaned bodies. The commit itself holds the event loop only for its writes: the
   * WAL fsync runs on the thread pool (./wal-sync.ts), shared with the commits made meanwhile.
   */
  async write<T>(fn: (effects: Effects) => T, acceptedBeforeClose = false): Promise<T> {
    if (!(acceptedBeforeClose && this.db.open)) this.assertOpen();
    const effects = emptyEffects();
    let result: T;
    // Relaxed commits before this one are durable once it is: the fsync covers the whole WAL file.
    const relaxedBefore = this.awaitingDurability.size > 0 ? [...this.awaitingDurability] : null;
    const changesBefore = this.totalChanges();
    try {
      this.db.pragma("synchronous = NORMAL");
      try {
        result = this.db.transaction(() => fn(effects)).immediate();
      } finally {
        this.db.pragma("synchronous = FULL");
      }
    } catch (error) {
      throw sqliteError(error, this.path);
    }
    // A commit without changes wrote no WAL frame: there is nothing to sync.
    if (this.totalChanges() > changesBefore) {
      try {
        await this.walSync.sync();
      } catch (error) {
        // The rows are in the WAL and may yet reach the disk: the caller hears a temporary failure, and
        // what it retries may exist twice, never not at all. The events wait: nobody was told.
        throw new StoreError(
          "unavailable",
          `could not make the change durable: the database's fsync failed (${(error as NodeJS.ErrnoException).code ?? "error"}); try again`,
        );
      }
      if (relaxedBefore) this.durable(relaxedBefore, effects);
    }
    await this.afterCommit(effects);
    return result;
  }

  /**
   * write() without waiting for the disk, for records whose loss in a power cut is harmless: the
   * commit goes to the WAL without an fsync (synchronous = NORMAL for this transaction; an application
   * crash loses nothing, only an OS crash or power loss can undo it). The next durable commit, or a
   * checkpoint within RELAXED_SYNC_MS, makes it durable. Bodies it leaves unreferenced are removed only
   * then, so an undone commit never names a missing file. Used by the relay for delivered queue entries:
   * one undone comes back and is sent again, the duplicate RFC 5321 §6.1 accepts, and the event loop is
   * not held for an fsync per burst of 250s.
   */
  async writeRelaxed<T>(fn: (effects: Effects) => T): Promise<T> {
    this.assertOpen();
    const effects = emptyEffects();
    let result: T;
    try {
      this.db.pragma("synchronous = NORMAL");
      try {
        result = this.db.transaction(() => fn(effects)).immediate();
      } finally {
        this.db.pragma("synchronous = FULL");
      }
    } catch (error) {
      throw sqliteError(error, this.path);
    }
    this.events.publish(effects.events);
    for (const id of effects.unreferenced) this.awaitingDurability.add(id);
    if (this.awaitingDurability.size > 0 && this.durabilityTimer === null) {
      this.durabilityTimer = setTimeout(() => void this.makeDurable(), RELAXED_SYNC_MS);
      // A process that exits first leaves the files to the orphan sweep of its next start.
      this.durabilityTimer.unref();
    }
    return result;
  }

  private totalChanges(): number {
    return this.get<{ n: number }>("SELECT total_changes() AS n")?.n ?? 0;
  }

  /** `ids` are durable now: their files go with this commit's, and the timer stops when none wait. */
  private durable(ids: string[], effects: Effects): void {
    for (const id of ids) {
      this.awaitingDurability.delete(id);
      effects.unreferenced.add(id);
    }
    if (this.awaitingDurability.size === 0 && this.durabilityTimer) {
      clearTimeout(this.durabilityTimer);
      this.durabilityTimer = null;
    }
  }

  /** No durable commit came: a checkpoint makes the relaxed ones durable, or is tried again later. */
  private async makeDurable(): Promise<void> {
    this.durabilityTimer = null;
    if (this.isClosed) return;
    if (await this.checkpointRelaxed()) return;
    this.durabilityTimer = setTimeout(() => void this.makeDurable(), RELAXED_SYNC_MS);
    this.durabilityTimer.unref();
  }

  /** On close, after the last write: the bodies of relaxed commits go now rather than at a later sweep. */
  async settleRelaxed(): Promise<void> {
    await this.checkpointRelaxed();
  }

  /**
   * A passive checkpoint syncs the WAL and then the database file. One that could not copy every frame
   * (a reader in another process) proves nothing: false, and the bodies wait.
   */
  private async checkpointRelaxed(): Promise<boolean> {
    if (this.awaitingDurability.size === 0) return true;
    const waiting = [...this.awaitingDurability];
    let complete = false;
    try {
      const [row] = this.db.pragma("wal_checkpoint(PASSIVE)") as Array<{
        busy: number;
        log: number;
        checkpointed: number;
      }>;
      complete = row !== undefined && row.busy === 0 && row.checkpointed === row.log;
    } catch {
      complete = false;
    }
    if (!complete) return false;
    const effects = emptyEffects();
    this.durable(waiting, effects);
    await this.afterCommit(effects);
    return true;
  }

  private async afterCommit(effects: Effects): Promise<void> {
    this.events.publish(effects.events);
    // The rows are gone already: a body file whose removal fails is only garbage, never a dangling row.
    if (effects.unreferenced.size > 0) await this.files.remove(effects.unreferenced);
  }

  /** Deletes message rows nothing references any more; their files go after the commit. */
  dropUnreferenced(messageIds: Iterable<string>, effects: Effects): void {
    for (const id of messageIds) {
      const result = this.run(
        `DELETE FROM messages WHERE id = ?
           AND NOT EXISTS (SELECT 1 FROM mailbox_messages WHERE message_id = ?)
           AND NOT EXISTS (SELECT 1 FROM queue WHERE message_id = ?)`,
        id,
        id,
        id,
      );
      if (result.changes > 0) effects.unreferenced.add(id);
    }
  }

  /** Counts the call as in flight until it settles, so close() waits for it. */
  track<T>(promise: Promise<T>): Promise<T> {
    this.inflight.add(promise);
    const forget = () => this.inflight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }
}
