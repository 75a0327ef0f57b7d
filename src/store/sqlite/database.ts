// The mechanics every part of the SQLite store shares: one connection with its prepared-statement cache,
// reads and IMMEDIATE write transactions with what they leave to do after the commit, the calls still in
// flight, and whether the store is closed.

import type Database from "better-sqlite3";
import type { FileBlobStore } from "../blobs/file-blob-store.js";
import { type MailboxEvent, StoreError } from "../types.js";
import { sqliteError } from "./errors.js";
import type { EventBus } from "./event-bus.js";

/** What a committed transaction leaves to do: events to publish, bodies nobody references any more. */
export interface Effects {
  events: MailboxEvent[];
  unreferenced: Set<string>;
}

export const emptyEffects = (): Effects => ({ events: [], unreferenced: new Set() });

export class SqliteDatabase {
  private readonly statements = new Map<string, Database.Statement>();
  /** deliver()/append() calls past their first await: close() lets them finish. */
  private readonly inflight = new Set<Promise<unknown>>();
  private isClosed = false;

  constructor(
    readonly db: Database.Database,
    readonly path: string,
    readonly files: FileBlobStore,
    readonly events: EventBus,
  ) {}

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
    this.db.close();
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

  /** Runs fn in one IMMEDIATE transaction, then publishes its events and removes orphaned bodies. */
  async write<T>(fn: (effects: Effects) => T, acceptedBeforeClose = false): Promise<T> {
    if (!(acceptedBeforeClose && this.db.open)) this.assertOpen();
    const effects = emptyEffects();
    let result: T;
    try {
      result = this.db.transaction(() => fn(effects)).immediate();
    } catch (error) {
      throw sqliteError(error, this.path);
    }
    await this.afterCommit(effects);
    return result;
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
