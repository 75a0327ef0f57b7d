// The embedded store: one SQLite file in WAL mode for metadata, one file per message body.
// better-sqlite3 is synchronous, so each method runs its whole transaction in one turn of the event
// loop; nothing else can interleave with it inside this process, and BEGIN IMMEDIATE plus busy_timeout
// serialise it against other processes (the admin CLI) sharing the file.

import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import type Database from "better-sqlite3";
import type { Logger } from "pino";
import type { FileBlobStore, OrphanSweepResult } from "../blobs/file-blob-store.js";
import { normalizeDkimKey } from "../dkim-key.js";
import { headerBlockEntries, isHeaderBlockFor, notAHeaderBlock } from "../header-capture.js";
import { isStoreId, newQueueId } from "../ids.js";
import { SPECIAL_USES } from "../input-checks.js";
import { checkListOptions } from "../list-options.js";
import {
  type Alias,
  type BlobRef,
  type BlobWriter,
  type CopyResult,
  DEFAULT_MAILBOXES,
  type DeliveryInput,
  type DeliveryResult,
  type DkimKey,
  type DkimKeyInput,
  type Domain,
  type EnvelopeDsn,
  type ExpungedUid,
  type FlagOperation,
  type FlagUpdateResult,
  type ListMessagesOptions,
  type Mailbox,
  type MailboxEvent,
  type MailboxImport,
  type MailboxMessage,
  type MailboxStatus,
  type MaildropLock,
  type MessageImport,
  type QueueEntry,
  type RecipientDsn,
  type SpecialUse,
  type Store,
  type StoredCredentials,
  StoreError,
  type User,
} from "../types.js";
import { sqliteError } from "./errors.js";
import { EventBus } from "./event-bus.js";
import * as imports from "./import.js";
import { type MailboxRow, toMailbox } from "./mailbox-row.js";
import {
  flagKey,
  isInbox,
  normalizeAddress,
  normalizeAliasSource,
  normalizeDomain,
  normalizeFlags,
  normalizeMailboxName,
  requireDate,
  requireText,
  requireUids,
} from "./validate.js";

/** Deliveries committed together at most; the rest wait for the next group. */
const MAX_GROUP = 256;
/**
 * Header blocks of finished bodies wait in memory for the deliver()/append() that stores their row.
 * Past this many bytes the oldest are dropped: such a message merely has no header block kept.
 */
const FINISHED_HEADER_BYTES = 16 * 1024 * 1024;
/**
 * A body file no row names is swept only once it is this old: a younger one may belong to a delivery
 * still in flight here or in another process (the admin CLI and the server share the data directory).
 */
export const ORPHAN_BODY_GRACE_MS = 24 * 60 * 60 * 1000;
/** An open store sweeps orphaned body files at open and then this often. */
const ORPHAN_SWEEP_INTERVAL_MS = 24 * 60 * 60 * 1000;
/** Messages per listMessages statement: bounds the JSON text one page makes (about 100 bytes each). */
const LIST_PAGE = 50_000;
const LIST_COLUMNS = "json_array(uid, message_id, json(flags), internal_date, size, modseq)";
const LIST_PAGE_SQL = `SELECT json_group_array(${LIST_COLUMNS}) FROM (
  SELECT * FROM mailbox_messages WHERE mailbox_id = ? AND uid >= ? AND uid <= ? ORDER BY uid LIMIT ?)`;
// "+uid" keeps the changed-since query on the (mailbox_id, modseq) index: few rows change at a time.
const LIST_CHANGED_PAGE_SQL = `SELECT json_group_array(${LIST_COLUMNS}) FROM (
  SELECT * FROM mailbox_messages WHERE mailbox_id = ? AND +uid >= ? AND +uid <= ? AND modseq > ?
  ORDER BY uid LIMIT ?)`;
/** One listed message as LIST_COLUMNS encodes it. */
type ListedRow = [
  uid: number,
  messageId: string,
  flags: string[],
  internalDate: number,
  size: number,
  modseq: number,
];

interface DomainRow {
  id: number;
  name: string;
  created_at: number;
}
interface DkimKeyRow {
  selector: string;
  private_key_pem: string;
  algorithm: DkimKey["algorithm"];
  created_at: number;
}
interface UserRow {
  id: number;
  address: string;
  domain_id: number;
  password_hash: string;
  scram_sha256: string;
  created_at: number;
}
interface AliasRow {
  id: number;
  source: string;
  destination: string;
}
interface MessageRow {
  mailbox_id: number;
  uid: number;
  message_id: string;
  flags: string;
  internal_date: number;
  size: number;
  modseq: number;
}
interface QueueRow {
  id: string;
  message_id: string;
  sender: string;
  recipient: string;
  dsn: string;
  envelope_dsn: string;
  state: "queued" | "delivering";
  attempts: number;
  created_at: number;
  next_attempt_at: number;
  last_error: string | null;
  claimed_until: number | null;
  delay_notified: number;
}

/** What a committed transaction leaves to do: events to publish, bodies nobody references any more. */
interface Effects {
  events: MailboxEvent[];
  unreferenced: Set<string>;
}

interface PendingDelivery {
  input: DeliveryInput;
  resolve: (result: DeliveryResult) => void;
  reject: (error: unknown) => void;
}

const toDomain = (row: DomainRow): Domain => ({
  id: row.id,
  name: row.name,
  createdAt: new Date(row.created_at),
});
const toUser = (row: UserRow): User => ({
  id: row.id,
  address: row.address,
  domainId: row.domain_id,
  passwordHash: row.password_hash,
  scramSha256: row.scram_sha256,
  createdAt: new Date(row.created_at),
});
const toMessage = (row: MessageRow): MailboxMessage => ({
  mailboxId: row.mailbox_id,
  uid: row.uid,
  messageId: row.message_id,
  flags: JSON.parse(row.flags) as string[],
  internalDate: new Date(row.internal_date),
  size: row.size,
  modseq: row.modseq,
});
const toQueueEntry = (row: QueueRow): QueueEntry => ({
  id: row.id,
  messageId: row.message_id,
  sender: row.sender,
  recipient: row.recipient,
  dsn: JSON.parse(row.dsn) as RecipientDsn,
  envelopeDsn: JSON.parse(row.envelope_dsn) as EnvelopeDsn,
  state: row.state,
  attempts: row.attempts,
  createdAt: new Date(row.created_at),
  nextAttemptAt: new Date(row.next_attempt_at),
  lastError: row.last_error,
  claimedUntil: row.claimed_until === null ? null : new Date(row.claimed_until),
  delayNotified: row.delay_notified === 1,
});

/** Mailbox rows with `subscribed` read from the subscriptions table, which holds the truth since schema 3. */
const MAILBOX_SELECT = `SELECT id, user_id, name, special_use,
    EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = mailboxes.user_id AND s.name = mailboxes.name)
      AS subscribed,
    uid_validity, uid_next, highest_modseq
  FROM mailboxes`;

export class SqliteStore implements Store {
  readonly kind = "sqlite";
  readonly events: EventBus;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly heldMaildrops = new Set<number>();
  /** Names this instance in queue.claimed_by: the leases it took are the ones it may renew. */
  private readonly claimer = randomUUID();
  private pending: PendingDelivery[] = [];
  private groupCommit: Promise<void> | null = null;
  /** deliver()/append() calls past their first await: close() lets them finish. */
  private readonly inflight = new Set<Promise<unknown>>();
  /** Header blocks of finished bodies whose message row is not written yet, by body id. */
  private readonly finishedHeaders = new Map<string, Buffer>();
  private finishedHeaderBytes = 0;
  private closed = false;
  /** The last sweep of orphaned body files started; each waits for the one before, so none overlap. */
  private orphanSweep: Promise<OrphanSweepResult> = Promise.resolve({ files: 0, bytes: 0 });
  private orphanSweepRunning = false;
  private readonly orphanSweepTimer: ReturnType<typeof setInterval>;

  constructor(
    private readonly db: Database.Database,
    private readonly dbPath: string,
    private readonly blobs: FileBlobStore,
    private readonly logger: Logger,
  ) {
    this.events = new EventBus(logger);
    // Runs in the background: the first await inside is a directory listing, so open returns at once.
    void this.sweepOrphanBodies();
    this.orphanSweepTimer = setInterval(() => {
      if (!this.orphanSweepRunning) void this.sweepOrphanBodies();
    }, ORPHAN_SWEEP_INTERVAL_MS);
    this.orphanSweepTimer.unref();
  }

  /**
   * Removes body files that no message row references and that are older than the grace period: left
   * by a crash between BlobWriter.finish() and deliver(), a delivery that failed, or an unlink lost
   * after the last reference went. `now` and `graceMs` exist for tests. Never rejects.
   */
  sweepOrphanBodies(options: { now?: number; graceMs?: number } = {}): Promise<OrphanSweepResult> {
    const run = async (): Promise<OrphanSweepResult> => {
      if (this.closed) return { files: 0, bytes: 0 };
      this.orphanSweepRunning = true;
      try {
        const removed = await this.blobs.sweepOrphans({
          cutoff: (options.now ?? Date.now()) - (options.graceMs ?? ORPHAN_BODY_GRACE_MS),
          referenced: (ids) => this.referencedBodies(ids),
          stop: () => this.closed,
        });
        if (removed.files > 0) this.logger.info(removed, "removed orphaned message bodies");
        return removed;
      } catch (error) {
        this.logger.warn({ err: error }, "could not sweep orphaned message bodies; the next sweep retries");
        return { files: 0, bytes: 0 };
      } finally {
        this.orphanSweepRunning = false;
      }
    };
    this.orphanSweep = this.orphanSweep.then(run);
    return this.orphanSweep;
  }

  /** The ids among `ids` that a message row names. */
  private referencedBodies(ids: string[]): Set<string> {
    // Once closing, the database may be gone: keeping everything is the safe answer.
    if (this.closed) return new Set(ids);
    const rows = this.all<{ id: string }>(
      "SELECT id FROM messages WHERE id IN (SELECT value FROM json_each(?))",
      JSON.stringify(ids),
    );
    return new Set(rows.map((row) => row.id));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.orphanSweepTimer);
    await this.orphanSweep;
    await Promise.allSettled([...this.inflight]);
    while (this.groupCommit !== null) await this.groupCommit;
    this.db.close();
  }

  // ---- plumbing ----

  private stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private get<T>(sql: string, ...params: unknown[]): T | undefined {
    return this.stmt(sql).get(...params) as T | undefined;
  }

  private all<T>(sql: string, ...params: unknown[]): T[] {
    return this.stmt(sql).all(...params) as T[];
  }

  private run(sql: string, ...params: unknown[]): Database.RunResult {
    return this.stmt(sql).run(...params);
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError("unavailable", "the store is closed; this is a bug in the caller");
  }

  private read<T>(fn: () => T): Promise<T> {
    try {
      this.assertOpen();
      return Promise.resolve(fn());
    } catch (error) {
      return Promise.reject(sqliteError(error, this.dbPath));
    }
  }

  /** Runs fn in one IMMEDIATE transaction, then publishes its events and removes orphaned bodies. */
  private async write<T>(fn: (effects: Effects) => T, acceptedBeforeClose = false): Promise<T> {
    if (!(acceptedBeforeClose && this.db.open)) this.assertOpen();
    const effects: Effects = { events: [], unreferenced: new Set() };
    let result: T;
    try {
      result = this.db.transaction(() => fn(effects)).immediate();
    } catch (error) {
      throw sqliteError(error, this.dbPath);
    }
    await this.afterCommit(effects);
    return result;
  }

  private async afterCommit(effects: Effects): Promise<void> {
    this.events.publish(effects.events);
    // The rows are gone already: a body file whose removal fails is only garbage, never a dangling row.
    if (effects.unreferenced.size > 0) await this.blobs.remove(effects.unreferenced);
  }

  /** Deletes message rows nothing references any more; their files go after the commit. */
  private dropUnreferenced(messageIds: Iterable<string>, effects: Effects): void {
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

  // ---- domains ----

  addDomain(name: string): Promise<Domain> {
    return this.write(() => {
      const domain = normalizeDomain(name);
      if (this.get("SELECT 1 FROM domains WHERE name = ?", domain)) {
        throw new StoreError("exists", `domain ${domain} already exists`);
      }
      const row = this.get<DomainRow>(
        "INSERT INTO domains (name, created_at) VALUES (?, ?) RETURNING *",
        domain,
        Date.now(),
      );
      return toDomain(row!);
    });
  }

  getDomain(name: string): Promise<Domain | null> {
    return this.read(() => {
      const row = this.get<DomainRow>("SELECT * FROM domains WHERE name = ?", normalizeDomain(name));
      return row ? toDomain(row) : null;
    });
  }

  listDomains(): Promise<Domain[]> {
    return this.read(() => this.all<DomainRow>("SELECT * FROM domains ORDER BY name").map(toDomain));
  }

  removeDomain(name: string): Promise<void> {
    return this.write(() => {
      const domain = normalizeDomain(name);
      const row = this.get<DomainRow>("SELECT * FROM domains WHERE name = ?", domain);
      if (!row) throw new StoreError("not-found", `domain ${domain} does not exist`);
      const users = this.get<{ n: number }>("SELECT count(*) AS n FROM users WHERE domain_id = ?", row.id)!.n;
      const aliases = this.get<{ n: number }>(
        "SELECT count(*) AS n FROM aliases WHERE domain_id = ?",
        row.id,
      )!.n;
      if (users > 0 || aliases > 0) {
        throw new StoreError(
          "not-empty",
          `domain ${domain} still has ${users} user(s) and ${aliases} alias(es); remove them first`,
        );
      }
      this.run("DELETE FROM dkim_keys WHERE domain_id = ?", row.id);
      this.run("DELETE FROM domains WHERE id = ?", row.id);
    });
  }

  setDkimKey(domain: string, key: DkimKeyInput): Promise<void> {
    return this.write(() => {
      const name = normalizeDomain(domain);
      const checked = normalizeDkimKey(key);
      const row = this.get<DomainRow>("SELECT * FROM domains WHERE name = ?", name);
      if (!row) throw new StoreError("not-found", `domain ${name} is not served here; add it first`);
      this.run(
        `INSERT INTO dkim_keys (domain_id, selector, private_key_pem, algorithm, created_at)
           VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (domain_id) DO UPDATE SET selector = excluded.selector,
             private_key_pem = excluded.private_key_pem, algorithm = excluded.algorithm,
             created_at = excluded.created_at`,
        row.id,
        checked.selector,
        checked.privateKeyPem,
        checked.algorithm,
        Date.now(),
      );
    });
  }

  getDkimKey(domain: string): Promise<DkimKey | null> {
    return this.read(() => {
      const row = this.get<DkimKeyRow>(
        `SELECT k.* FROM dkim_keys k JOIN domains d ON d.id = k.domain_id WHERE d.name = ?`,
        normalizeDomain(domain),
      );
      if (!row) return null;
      return {
        selector: row.selector,
        privateKeyPem: row.private_key_pem,
        algorithm: row.algorithm,
        createdAt: new Date(row.created_at),
      };
    });
  }

  // ---- users ----

  addUser(address: string, credentials: StoredCredentials): Promise<User> {
    return this.write((effects) => {
      const { address: normalized, domain } = normalizeAddress(address);
      const passwordHash = requireText(credentials?.passwordHash, "the password hash");
      const scram = requireText(credentials?.scramSha256, "the SCRAM-SHA-256 verifier");
      const domainRow = this.get<DomainRow>("SELECT * FROM domains WHERE name = ?", domain);
      if (!domainRow) {
        throw new StoreError(
          "not-found",
          `domain ${domain} does not exist; add it first (mailroom domain add)`,
        );
      }
      if (this.get("SELECT 1 FROM users WHERE address = ?", normalized)) {
        throw new StoreError("exists", `user ${normalized} already exists`);
      }
      const row = this.get<UserRow>(
        `INSERT INTO users (address, domain_id, password_hash, scram_sha256, created_at)
         VALUES (?, ?, ?, ?, ?) RETURNING *`,
        normalized,
        domainRow.id,
        passwordHash,
        scram,
        Date.now(),
      )!;
      for (const mailbox of DEFAULT_MAILBOXES) this.insertMailbox(row.id, mailbox.name, mailbox.specialUse);
      effects.events.push({ kind: "mailboxes", userId: row.id });
      return toUser(row);
    });
  }

  getUser(address: string): Promise<User | null> {
    return this.read(() => {
      const row = this.get<UserRow>(
        "SELECT * FROM users WHERE address = ?",
        normalizeAddress(address).address,
      );
      return row ? toUser(row) : null;
    });
  }

  getUserById(id: number): Promise<User | null> {
    return this.read(() => {
      const row = this.get<UserRow>("SELECT * FROM users WHERE id = ?", id);
      return row ? toUser(row) : null;
    });
  }

  listUsers(domain?: string): Promise<User[]> {
    return this.read(() => {
      if (domain === undefined) return this.all<UserRow>("SELECT * FROM users ORDER BY address").map(toUser);
      return this.all<UserRow>(
        "SELECT users.* FROM users JOIN domains ON domains.id = users.domain_id WHERE domains.name = ? ORDER BY address",
        normalizeDomain(domain),
      ).map(toUser);
    });
  }

  removeUser(address: string): Promise<void> {
    return this.write((effects) => {
      const normalized = normalizeAddress(address).address;
      const user = this.get<UserRow>("SELECT * FROM users WHERE address = ?", normalized);
      if (!user) throw new StoreError("not-found", `user ${normalized} does not exist`);
      const messageIds = this.all<{ message_id: string }>(
        `SELECT DISTINCT message_id FROM mailbox_messages
         WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE user_id = ?)`,
        user.id,
      ).map((row) => row.message_id);
      this.run(
        "DELETE FROM mailbox_messages WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE user_id = ?)",
        user.id,
      );
      this.run(
        "DELETE FROM expunged WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE user_id = ?)",
        user.id,
      );
      this.run("DELETE FROM mailboxes WHERE user_id = ?", user.id);
      this.run("DELETE FROM subscriptions WHERE user_id = ?", user.id);
      this.run("DELETE FROM users WHERE id = ?", user.id);
      this.dropUnreferenced(messageIds, effects);
      effects.events.push({ kind: "mailboxes", userId: user.id });
    });
  }

  setCredentials(address: string, credentials: StoredCredentials): Promise<void> {
    return this.write(() => {
      const normalized = normalizeAddress(address).address;
      const result = this.run(
        "UPDATE users SET password_hash = ?, scram_sha256 = ? WHERE address = ?",
        requireText(credentials?.passwordHash, "the password hash"),
        requireText(credentials?.scramSha256, "the SCRAM-SHA-256 verifier"),
        normalized,
      );
      if (result.changes === 0) throw new StoreError("not-found", `user ${normalized} does not exist`);
    });
  }

  // ---- aliases ----

  addAlias(source: string, destination: string): Promise<Alias> {
    return this.write(() => {
      const { source: normalizedSource, domain } = normalizeAliasSource(source);
      const normalizedDestination = normalizeAddress(destination).address;
      const domainRow = this.get<DomainRow>("SELECT * FROM domains WHERE name = ?", domain);
      if (!domainRow) {
        throw new StoreError("not-found", `domain ${domain} does not exist; add it before its aliases`);
      }
      if (
        this.get(
          "SELECT 1 FROM aliases WHERE source = ? AND destination = ?",
          normalizedSource,
          normalizedDestination,
        )
      ) {
        throw new StoreError("exists", `alias ${normalizedSource} → ${normalizedDestination} already exists`);
      }
      return this.get<AliasRow>(
        "INSERT INTO aliases (source, destination, domain_id) VALUES (?, ?, ?) RETURNING id, source, destination",
        normalizedSource,
        normalizedDestination,
        domainRow.id,
      )!;
    });
  }

  listAliases(domain?: string): Promise<Alias[]> {
    return this.read(() => {
      if (domain === undefined) {
        return this.all<AliasRow>("SELECT id, source, destination FROM aliases ORDER BY source, destination");
      }
      return this.all<AliasRow>(
        `SELECT aliases.id, source, destination FROM aliases JOIN domains ON domains.id = aliases.domain_id
         WHERE domains.name = ? ORDER BY source, destination`,
        normalizeDomain(domain),
      );
    });
  }

  removeAlias(source: string, destination?: string): Promise<void> {
    return this.write(() => {
      const normalizedSource = normalizeAliasSource(source).source;
      const result =
        destination === undefined
          ? this.run("DELETE FROM aliases WHERE source = ?", normalizedSource)
          : this.run(
              "DELETE FROM aliases WHERE source = ? AND destination = ?",
              normalizedSource,
              normalizeAddress(destination).address,
            );
      if (result.changes === 0) {
        const what = destination === undefined ? normalizedSource : `${normalizedSource} → ${destination}`;
        throw new StoreError("not-found", `no alias ${what}`);
      }
    });
  }

  aliasDestinations(source: string): Promise<string[]> {
    return this.read(() =>
      this.all<{ destination: string }>(
        "SELECT destination FROM aliases WHERE source = ? ORDER BY destination",
        normalizeAliasSource(source).source,
      ).map((row) => row.destination),
    );
  }

  // ---- mailboxes ----

  /** RFC 9051 §2.3.1.1: a re-created name must get a new UIDVALIDITY, so it is strictly increasing. */
  private nextUidValidity(): number {
    return this.get<{ value: number }>(
      "UPDATE meta SET value = max(value + 1, ?) WHERE key = 'last_uid_validity' RETURNING value",
      Math.floor(Date.now() / 1000),
    )!.value;
  }

  private insertMailbox(userId: number, name: string, specialUse: SpecialUse | null): MailboxRow {
    if (specialUse !== null && !SPECIAL_USES.has(specialUse)) {
      throw new StoreError("invalid", `"${String(specialUse)}" is not a special-use attribute of RFC 6154`);
    }
    if (this.get("SELECT 1 FROM mailboxes WHERE user_id = ? AND name = ?", userId, name)) {
      throw new StoreError("exists", `mailbox "${name}" already exists`);
    }
    // A new mailbox starts subscribed. The subscribed column is not read since schema 3 (MAILBOX_SELECT).
    this.subscribe(userId, name);
    return this.get<MailboxRow>(
      `INSERT INTO mailboxes (user_id, name, special_use, subscribed, uid_validity, uid_next, highest_modseq)
       VALUES (?, ?, ?, 1, ?, 1, 1) RETURNING *`,
      userId,
      name,
      specialUse,
      this.nextUidValidity(),
    )!;
  }

  private subscribe(userId: number, name: string): void {
    this.run("INSERT INTO subscriptions (user_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING", userId, name);
  }

  /** Moves subscriptions along with renamed mailboxes; a new name already subscribed stays subscribed. */
  private moveSubscriptions(userId: number, renames: ReadonlyArray<[from: string, to: string]>): void {
    const moved = renames.filter(
      ([from]) =>
        this.run("DELETE FROM subscriptions WHERE user_id = ? AND name = ?", userId, from).changes > 0,
    );
    for (const [, to] of moved) this.subscribe(userId, to);
  }

  private mailboxRow(userId: number, name: string): MailboxRow | undefined {
    return this.get<MailboxRow>("SELECT * FROM mailboxes WHERE user_id = ? AND name = ?", userId, name);
  }

  private requireMailbox(mailboxId: number): MailboxRow {
    const row = this.get<MailboxRow>("SELECT * FROM mailboxes WHERE id = ?", mailboxId);
    if (!row) throw new StoreError("not-found", `mailbox ${mailboxId} does not exist (deleted meanwhile?)`);
    return row;
  }

  private requireNamedMailbox(userId: number, name: string): MailboxRow {
    const row = this.mailboxRow(userId, name);
    if (!row) throw new StoreError("not-found", `mailbox "${name}" does not exist`);
    return row;
  }

  listMailboxes(userId: number): Promise<Mailbox[]> {
    return this.read(() =>
      this.all<MailboxRow>(`${MAILBOX_SELECT} WHERE user_id = ? ORDER BY name`, userId).map(toMailbox),
    );
  }

  getMailbox(userId: number, name: string): Promise<Mailbox | null> {
    return this.read(() => {
      const row = this.get<MailboxRow>(
        `${MAILBOX_SELECT} WHERE user_id = ? AND name = ?`,
        userId,
        normalizeMailboxName(name),
      );
      return row ? toMailbox(row) : null;
    });
  }

  getMailboxById(mailboxId: number): Promise<Mailbox | null> {
    return this.read(() => {
      const row = this.get<MailboxRow>(`${MAILBOX_SELECT} WHERE id = ?`, mailboxId);
      return row ? toMailbox(row) : null;
    });
  }

  createMailbox(userId: number, name: string, specialUse: SpecialUse | null = null): Promise<Mailbox> {
    return this.write((effects) => {
      const normalized = normalizeMailboxName(name);
      if (!this.get("SELECT 1 FROM users WHERE id = ?", userId)) {
        throw new StoreError("not-found", `user ${userId} does not exist`);
      }
      const row = this.insertMailbox(userId, normalized, specialUse);
      effects.events.push({ kind: "mailboxes", userId });
      return toMailbox(row);
    });
  }

  renameMailbox(userId: number, from: string, to: string): Promise<void> {
    return this.write((effects) => {
      const source = normalizeMailboxName(from);
      const target = normalizeMailboxName(to);
      const row = this.requireNamedMailbox(userId, source);
      if (this.mailboxRow(userId, target))
        throw new StoreError("exists", `mailbox "${target}" already exists`);
      if (isInbox(source)) {
        // RFC 9051 §6.3.6: renaming INBOX moves its messages to the new name and leaves INBOX, empty,
        // in place; INBOX's inferior names are not renamed.
        const created = this.insertMailbox(userId, target, null);
        const uids = this.all<{ uid: number }>(
          "SELECT uid FROM mailbox_messages WHERE mailbox_id = ?",
          row.id,
        ).map((r) => r.uid);
        this.copyWithin(row, uids, created, effects);
        this.expungeWithin(row, uids, effects);
      } else {
        if (target.startsWith(`${source}/`)) {
          throw new StoreError("invalid", `cannot rename "${source}" to "${target}", a name inside itself`);
        }
        const prefix = `${source}/`;
        const inferiors = this.all<MailboxRow>("SELECT * FROM mailboxes WHERE user_id = ?", userId).filter(
          (m) => m.name.startsWith(prefix),
        );
        // RFC 9051 §6.3.6: inferior hierarchical names are renamed with their parent.
        for (const inferior of inferiors) {
          const renamed = target + inferior.name.slice(source.length);
          if (this.mailboxRow(userId, renamed))
            throw new StoreError("exists", `mailbox "${renamed}" already exists`);
        }
        this.run("UPDATE mailboxes SET name = ? WHERE id = ?", target, row.id);
        const renames: Array<[string, string]> = [[source, target]];
        for (const inferior of inferiors) {
          const renamed = target + inferior.name.slice(source.length);
          this.run("UPDATE mailboxes SET name = ? WHERE id = ?", renamed, inferior.id);
          renames.push([inferior.name, renamed]);
        }
        this.moveSubscriptions(userId, renames);
      }
      effects.events.push({ kind: "mailboxes", userId });
    });
  }

  deleteMailbox(userId: number, name: string): Promise<void> {
    return this.write((effects) => {
      const normalized = normalizeMailboxName(name);
      if (isInbox(normalized)) {
        throw new StoreError(
          "invalid",
          "INBOX cannot be deleted (RFC 9051 §6.3.4); expunge its messages instead",
        );
      }
      const row = this.requireNamedMailbox(userId, normalized);
      const messageIds = this.all<{ message_id: string }>(
        "SELECT DISTINCT message_id FROM mailbox_messages WHERE mailbox_id = ?",
        row.id,
      ).map((r) => r.message_id);
      this.run("DELETE FROM mailbox_messages WHERE mailbox_id = ?", row.id);
      this.run("DELETE FROM expunged WHERE mailbox_id = ?", row.id);
      this.run("DELETE FROM mailboxes WHERE id = ?", row.id);
      this.dropUnreferenced(messageIds, effects);
      effects.events.push({ kind: "mailboxes", userId });
    });
  }

  // RFC 9051 §6.3.9: a name may be subscribed whether or not a mailbox of that name exists.
  setSubscribed(userId: number, name: string, subscribed: boolean): Promise<void> {
    return this.write((effects) => {
      const normalized = normalizeMailboxName(name);
      if (!this.get("SELECT 1 FROM users WHERE id = ?", userId)) {
        throw new StoreError("not-found", `user ${userId} does not exist`);
      }
      if (subscribed) this.subscribe(userId, normalized);
      else this.run("DELETE FROM subscriptions WHERE user_id = ? AND name = ?", userId, normalized);
      effects.events.push({ kind: "mailboxes", userId });
    });
  }

  listSubscriptions(userId: number): Promise<string[]> {
    return this.read(() =>
      this.all<{ name: string }>(
        "SELECT name FROM subscriptions WHERE user_id = ? ORDER BY name",
        userId,
      ).map((row) => row.name),
    );
  }

  mailboxStatus(mailboxId: number): Promise<MailboxStatus> {
    return this.read(() => {
      const row = this.requireMailbox(mailboxId);
      const counts = this.get<{ messages: number; unseen: number; size: number }>(
        `SELECT count(*) AS messages, coalesce(sum(1 - seen), 0) AS unseen, coalesce(sum(size), 0) AS size
         FROM mailbox_messages WHERE mailbox_id = ?`,
        mailboxId,
      )!;
      return {
        messages: counts.messages,
        unseen: counts.unseen,
        size: counts.size,
        uidNext: row.uid_next,
        uidValidity: row.uid_validity,
        highestModseq: row.highest_modseq,
      };
    });
  }

  // ---- bodies ----

  async createBlobWriter(options?: { id?: string }): Promise<BlobWriter> {
    this.assertOpen();
    const isReferenced = (id: string) =>
      this.closed || this.get("SELECT 1 FROM messages WHERE id = ?", id) !== undefined;
    const id = options?.id;
    if (id !== undefined) checkImportBlobId(id, isReferenced);
    const writer = await this.blobs.createWriter(isReferenced, id);
    return {
      id: writer.id,
      write: (chunk) => writer.write(chunk),
      finish: async () => {
        const ref = await writer.finish();
        this.rememberHeader(ref.id, writer.headerBlock());
        return ref;
      },
      abort: () => {
        this.forgetHeader(writer.id);
        return writer.abort();
      },
    };
  }

  private rememberHeader(id: string, header: Buffer | null): void {
    if (header === null) return;
    this.finishedHeaders.set(id, header);
    this.finishedHeaderBytes += header.length;
    for (const [oldest, block] of this.finishedHeaders) {
      if (this.finishedHeaderBytes <= FINISHED_HEADER_BYTES) break;
      this.finishedHeaders.delete(oldest);
      this.finishedHeaderBytes -= block.length;
    }
  }

  private forgetHeader(id: string): void {
    const header = this.finishedHeaders.get(id);
    if (header === undefined) return;
    this.finishedHeaders.delete(id);
    this.finishedHeaderBytes -= header.length;
  }

  readHeaderBlocks(messageIds: readonly string[]): Promise<Map<string, Buffer>> {
    return this.read(() => {
      if (!Array.isArray(messageIds) || messageIds.some((id) => typeof id !== "string")) {
        throw new StoreError("invalid", "readHeaderBlocks needs a list of message ids (strings)");
      }
      const found = new Map<string, Buffer>();
      // One statement for any number of ids: the list travels as one JSON text bound to json_each
      // (measured a little faster than batches of 512 bound parameters, and no statement per size).
      const rows = this.stmt(
        "SELECT id, header FROM messages WHERE header IS NOT NULL AND id IN (SELECT value FROM json_each(?))",
      )
        .raw(true)
        .all(JSON.stringify(messageIds)) as Array<[string, Buffer]>;
      for (const [id, header] of rows) found.set(id, header);
      return found;
    });
  }

  async saveHeaderBlocks(blocks: ReadonlyMap<string, Buffer>): Promise<void> {
    this.assertOpen();
    const entries = headerBlockEntries(blocks);
    if (entries.length === 0) return;
    await this.write(() => {
      for (const [id, block] of entries) {
        const row = this.get<{ size: number }>("SELECT size FROM messages WHERE id = ?", id);
        if (row === undefined) continue;
        if (!isHeaderBlockFor(block, row.size)) throw notAHeaderBlock(id);
        this.run("UPDATE messages SET header = ? WHERE id = ? AND header IS NULL", block, id);
      }
    });
  }

  readBlob(messageId: string): Readable {
    return this.blobs.read(messageId, this.recordedSize(messageId));
  }

  readBlobBytes(messageId: string): Promise<Buffer> {
    return this.blobs.readBytes(messageId, this.recordedSize(messageId));
  }

  /**
   * The size the messages row records, which saves the file reads an fstat and an end-of-file read
   * (a few µs here against a thread-pool trip each); undefined for a body no message references yet.
   */
  private recordedSize(messageId: string): number | undefined {
    if (this.closed || typeof messageId !== "string") return undefined;
    try {
      return this.get<{ size: number }>("SELECT size FROM messages WHERE id = ?", messageId)?.size;
    } catch {
      // Only an optimisation: the file read still works (and reports its own errors) without it.
      return undefined;
    }
  }

  /** A body may only be referenced once its file is complete: check it exists with the size claimed. */
  private async checkBlob(blob: BlobRef): Promise<void> {
    if (typeof blob !== "object" || blob === null || typeof blob.id !== "string") {
      throw new StoreError("invalid", "a message needs a body reference from BlobWriter.finish()");
    }
    const size = await this.blobs.sizeOf(blob.id);
    if (size === null) {
      throw new StoreError(
        "not-found",
        `message body ${blob.id} does not exist; was BlobWriter.finish() awaited?`,
      );
    }
    if (size !== blob.size) {
      throw new StoreError(
        "invalid",
        `message body ${blob.id} has ${size} bytes, not the ${blob.size} claimed`,
      );
    }
  }

  // ---- messages ----

  /** Reserves `count` UIDs and one new MODSEQ in the mailbox, in the caller's transaction. */
  private allocate(mailboxId: number, count: number): { firstUid: number; modseq: number } {
    const row = this.get<{ uid_next: number; highest_modseq: number }>(
      `UPDATE mailboxes SET uid_next = uid_next + ?, highest_modseq = highest_modseq + 1
       WHERE id = ? RETURNING uid_next, highest_modseq`,
      count,
      mailboxId,
    )!;
    return { firstUid: row.uid_next - count, modseq: row.highest_modseq };
  }

  private insertEntry(
    mailboxId: number,
    uid: number,
    messageId: string,
    flags: string[],
    internalDate: number,
    size: number,
    modseq: number,
  ): void {
    this.run(
      `INSERT INTO mailbox_messages (mailbox_id, uid, message_id, flags, seen, internal_date, size, modseq)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      mailboxId,
      uid,
      messageId,
      JSON.stringify(flags),
      flags.includes("\\Seen") ? 1 : 0,
      internalDate,
      size,
      modseq,
    );
  }

  private insertMessageRow(blob: BlobRef): void {
    this.run(
      "INSERT INTO messages (id, size, created_at, header) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
      blob.id,
      blob.size,
      Date.now(),
      this.finishedHeaders.get(blob.id) ?? null,
    );
  }

  private applyDelivery(input: DeliveryInput, effects: Effects): DeliveryResult {
    this.insertMessageRow(input.blob);
    const internalDate = input.internalDate.getTime();
    const uids: DeliveryResult["uids"] = [];
    for (const target of input.mailboxes) {
      const mailbox = this.requireMailbox(target.mailboxId);
      const { firstUid, modseq } = this.allocate(mailbox.id, 1);
      this.insertEntry(
        mailbox.id,
        firstUid,
        input.blob.id,
        normalizeFlags(target.flags ?? []),
        internalDate,
        input.blob.size,
        modseq,
      );
      uids.push({ mailboxId: mailbox.id, uid: firstUid });
      effects.events.push({
        kind: "exists",
        userId: mailbox.user_id,
        mailboxId: mailbox.id,
        uids: [firstUid],
        modseq,
      });
    }
    const queueIds: string[] = [];
    const now = Date.now();
    for (const entry of input.queue) {
      const id = newQueueId();
      // RFC 5321 §2.4: a relay must keep the case of a remote local part, so queue addresses stay as given.
      this.run(
        `INSERT INTO queue (id, message_id, sender, recipient, dsn, envelope_dsn, state, attempts, created_at,
                            next_attempt_at, last_error, claimed_until, delay_notified)
         VALUES (?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?, NULL, NULL, 0)`,
        id,
        input.blob.id,
        input.sender,
        entry.recipient,
        JSON.stringify(entry.dsn ?? {}),
        JSON.stringify(input.envelopeDsn ?? {}),
        now,
        now,
      );
      queueIds.push(id);
    }
    return { messageId: input.blob.id, uids, queueIds };
  }

  private validateDelivery(input: DeliveryInput): void {
    if (typeof input !== "object" || input === null)
      throw new StoreError("invalid", "a delivery must be an object");
    requireDate(input.internalDate, "the internal date");
    if (typeof input.sender !== "string")
      throw new StoreError("invalid", 'the sender must be text ("" for <>)');
    if (!Array.isArray(input.mailboxes) || !Array.isArray(input.queue)) {
      throw new StoreError("invalid", "a delivery needs mailbox and queue lists");
    }
    if (input.mailboxes.length === 0 && input.queue.length === 0) {
      throw new StoreError("invalid", "a delivery needs at least one mailbox or queue recipient");
    }
    const seen = new Set<number>();
    for (const target of input.mailboxes) {
      if (seen.has(target.mailboxId)) {
        throw new StoreError(
          "invalid",
          `mailbox ${target.mailboxId} is named twice; a mailbox gets one copy`,
        );
      }
      seen.add(target.mailboxId);
      normalizeFlags(target.flags ?? []);
    }
    for (const entry of input.queue) requireText(entry?.recipient, "a queue recipient");
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.inflight.add(promise);
    const forget = () => this.inflight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  async deliver(input: DeliveryInput): Promise<DeliveryResult> {
    this.assertOpen();
    this.validateDelivery(input);
    return this.track(
      this.checkBlob(input.blob).then(
        () =>
          new Promise<DeliveryResult>((resolve, reject) => {
            this.pending.push({ input, resolve, reject });
            this.scheduleGroupCommit();
          }),
      ),
    );
  }

  // Group commit: deliveries that arrive while a group is being formed share one transaction and so
  // one WAL fsync. Each runs in its own savepoint, so one bad input fails only its own caller.
  private scheduleGroupCommit(): void {
    if (this.groupCommit !== null) return;
    this.groupCommit = new Promise<void>((done) => {
      setImmediate(() => {
        this.commitGroup()
          .catch((error: unknown) => this.logger.error({ err: error }, "group commit failed unexpectedly"))
          .finally(() => {
            this.groupCommit = null;
            if (this.pending.length > 0) this.scheduleGroupCommit();
            done();
          });
      });
    });
  }

  private async commitGroup(): Promise<void> {
    const group = this.pending.splice(0, MAX_GROUP);
    const outcomes: Array<{ result: DeliveryResult; effects: Effects } | { error: unknown }> = [];
    const deliverOne = this.db.transaction((input: DeliveryInput, effects: Effects) =>
      this.applyDelivery(input, effects),
    );
    try {
      this.db
        .transaction(() => {
          for (const item of group) {
            const effects: Effects = { events: [], unreferenced: new Set() };
            try {
              outcomes.push({ result: deliverOne(item.input, effects), effects });
            } catch (error) {
              // Some errors (disk full, I/O) make SQLite roll back the whole transaction: then the
              // deliveries before this one are gone too, and the group must fail as a whole.
              if (!this.db.inTransaction) throw error;
              outcomes.push({ error });
            }
          }
        })
        .immediate();
    } catch (error) {
      const mapped = sqliteError(error, this.dbPath);
      for (const item of group) item.reject(mapped);
      return;
    }
    this.logger.trace({ deliveries: group.length }, "group commit");
    for (const [index, item] of group.entries()) {
      const outcome = outcomes[index]!;
      if ("error" in outcome) {
        item.reject(sqliteError(outcome.error, this.dbPath));
      } else {
        this.forgetHeader(item.input.blob.id);
        this.events.publish(outcome.effects.events);
        item.resolve(outcome.result);
      }
    }
  }

  async append(
    mailboxId: number,
    blob: BlobRef,
    flags: string[],
    internalDate: Date,
  ): Promise<MailboxMessage> {
    this.assertOpen();
    const normalizedFlags = normalizeFlags(flags);
    requireDate(internalDate, "the internal date");
    return this.track(
      this.checkBlob(blob)
        .then(() => this.appendChecked(mailboxId, blob, normalizedFlags, internalDate))
        .then((message) => {
          this.forgetHeader(blob.id);
          return message;
        }),
    );
  }

  private appendChecked(mailboxId: number, blob: BlobRef, normalizedFlags: string[], internalDate: Date) {
    return this.write((effects) => {
      const mailbox = this.requireMailbox(mailboxId);
      this.insertMessageRow(blob);
      const { firstUid, modseq } = this.allocate(mailbox.id, 1);
      this.insertEntry(
        mailbox.id,
        firstUid,
        blob.id,
        normalizedFlags,
        internalDate.getTime(),
        blob.size,
        modseq,
      );
      effects.events.push({ kind: "exists", userId: mailbox.user_id, mailboxId, uids: [firstUid], modseq });
      return toMessage(
        this.get<MessageRow>(
          "SELECT * FROM mailbox_messages WHERE mailbox_id = ? AND uid = ?",
          mailboxId,
          firstUid,
        )!,
      );
    }, true);
  }

  listMessages(mailboxId: number, options?: ListMessagesOptions): Promise<MailboxMessage[]> {
    return this.read(() => {
      const { sinceModseq, uidFrom, uidTo } = checkListOptions(options);
      const messages: MailboxMessage[] = [];
      // SQLite builds each page as one JSON text, which V8 parses far faster than better-sqlite3 turns
      // rows into objects (the bulk of SELECT's time on a large mailbox); pages keep that text bounded.
      for (let low = uidFrom; ; ) {
        const text = (
          sinceModseq === undefined
            ? this.stmt(LIST_PAGE_SQL).pluck(true).get(mailboxId, low, uidTo, LIST_PAGE)
            : this.stmt(LIST_CHANGED_PAGE_SQL).pluck(true).get(mailboxId, low, uidTo, sinceModseq, LIST_PAGE)
        ) as string;
        const rows = JSON.parse(text) as ListedRow[];
        for (const [uid, messageId, flags, internalDate, size, modseq] of rows) {
          messages.push({
            mailboxId,
            uid,
            messageId,
            flags,
            internalDate: new Date(internalDate),
            size,
            modseq,
          });
        }
        const last = rows.at(-1);
        if (rows.length < LIST_PAGE || last === undefined) return messages;
        low = last[0] + 1;
      }
    });
  }

  getMessage(mailboxId: number, uid: number): Promise<MailboxMessage | null> {
    return this.read(() => {
      const row = this.get<MessageRow>(
        "SELECT * FROM mailbox_messages WHERE mailbox_id = ? AND uid = ?",
        mailboxId,
        uid,
      );
      return row ? toMessage(row) : null;
    });
  }

  updateFlags(
    mailboxId: number,
    uids: number[],
    operation: FlagOperation,
    flags: string[],
    options?: { unchangedSince?: number },
  ): Promise<FlagUpdateResult> {
    return this.write((effects) => {
      if (operation !== "add" && operation !== "remove" && operation !== "set") {
        throw new StoreError("invalid", `flag operation "${String(operation)}" is not add, remove or set`);
      }
      const wanted = normalizeFlags(flags);
      const wantedKeys = new Set(wanted.map(flagKey));
      const mailbox = this.requireMailbox(mailboxId);
      const changes: Array<{ uid: number; flags: string[] }> = [];
      const modified: number[] = [];
      for (const uid of requireUids(uids)) {
        const row = this.get<MessageRow>(
          "SELECT * FROM mailbox_messages WHERE mailbox_id = ? AND uid = ?",
          mailboxId,
          uid,
        );
        if (!row) continue;
        // RFC 7162 §3.2: with UNCHANGEDSINCE, a message changed after the given MODSEQ is left alone.
        if (options?.unchangedSince !== undefined && row.modseq > options.unchangedSince) {
          modified.push(uid);
          continue;
        }
        const current = JSON.parse(row.flags) as string[];
        let next: string[];
        if (operation === "set") next = wanted;
        else if (operation === "add") next = normalizeFlags([...current, ...wanted]);
        else next = current.filter((flag) => !wantedKeys.has(flagKey(flag)));
        const before = new Set(current.map(flagKey));
        const after = new Set(next.map(flagKey));
        if (before.size === after.size && [...before].every((key) => after.has(key))) continue;
        changes.push({ uid, flags: next });
      }
      if (changes.length === 0) return { updated: [], modified };
      const { modseq } = this.allocate(mailbox.id, 0);
      for (const change of changes) {
        this.run(
          "UPDATE mailbox_messages SET flags = ?, seen = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?",
          JSON.stringify(change.flags),
          change.flags.includes("\\Seen") ? 1 : 0,
          modseq,
          mailboxId,
          change.uid,
        );
      }
      const changedUids = changes.map((change) => change.uid);
      effects.events.push({ kind: "flags", userId: mailbox.user_id, mailboxId, uids: changedUids, modseq });
      const updated = changedUids.map((uid) =>
        toMessage(
          this.get<MessageRow>(
            "SELECT * FROM mailbox_messages WHERE mailbox_id = ? AND uid = ?",
            mailboxId,
            uid,
          )!,
        ),
      );
      return { updated, modified };
    });
  }

  private expungeWithin(mailbox: MailboxRow, uids: number[], effects: Effects): number[] {
    const rows: MessageRow[] = [];
    for (const uid of uids) {
      const row = this.get<MessageRow>(
        "SELECT * FROM mailbox_messages WHERE mailbox_id = ? AND uid = ?",
        mailbox.id,
        uid,
      );
      if (row) rows.push(row);
    }
    if (rows.length === 0) return [];
    const { modseq } = this.allocate(mailbox.id, 0);
    for (const row of rows) {
      this.run("DELETE FROM mailbox_messages WHERE mailbox_id = ? AND uid = ?", mailbox.id, row.uid);
      this.run(
        "INSERT INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET modseq = excluded.modseq",
        mailbox.id,
        row.uid,
        modseq,
      );
    }
    this.dropUnreferenced(new Set(rows.map((row) => row.message_id)), effects);
    const removed = rows.map((row) => row.uid);
    effects.events.push({
      kind: "expunge",
      userId: mailbox.user_id,
      mailboxId: mailbox.id,
      uids: removed,
      modseq,
    });
    return removed;
  }

  expunge(mailboxId: number, uids: number[]): Promise<number[]> {
    return this.write((effects) =>
      this.expungeWithin(this.requireMailbox(mailboxId), requireUids(uids), effects),
    );
  }

  expungedSince(mailboxId: number, modseq: number): Promise<number[]> {
    return this.read(() => {
      this.requireMailbox(mailboxId);
      return this.all<{ uid: number }>(
        "SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid",
        mailboxId,
        modseq,
      ).map((row) => row.uid);
    });
  }

  private copyWithin(from: MailboxRow, uids: number[], to: MailboxRow, effects: Effects): CopyResult {
    const rows: MessageRow[] = [];
    for (const uid of uids) {
      const row = this.get<MessageRow>(
        "SELECT * FROM mailbox_messages WHERE mailbox_id = ? AND uid = ?",
        from.id,
        uid,
      );
      if (row) rows.push(row);
    }
    const uidValidity = this.get<{ uid_validity: number }>(
      "SELECT uid_validity FROM mailboxes WHERE id = ?",
      to.id,
    )!.uid_validity;
    if (rows.length === 0) return { mapping: [], uidValidity };
    const { firstUid, modseq } = this.allocate(to.id, rows.length);
    const mapping: Array<[number, number]> = rows.map((row, index) => [row.uid, firstUid + index]);
    for (const [index, row] of rows.entries()) {
      this.insertEntry(
        to.id,
        firstUid + index,
        row.message_id,
        JSON.parse(row.flags),
        row.internal_date,
        row.size,
        modseq,
      );
    }
    effects.events.push({
      kind: "exists",
      userId: to.user_id,
      mailboxId: to.id,
      uids: mapping.map(([, uid]) => uid),
      modseq,
    });
    return { mapping, uidValidity };
  }

  copyMessages(fromMailboxId: number, uids: number[], toMailboxId: number): Promise<CopyResult> {
    return this.write((effects) =>
      this.copyWithin(
        this.requireMailbox(fromMailboxId),
        requireUids(uids),
        this.requireMailbox(toMailboxId),
        effects,
      ),
    );
  }

  moveMessages(fromMailboxId: number, uids: number[], toMailboxId: number): Promise<CopyResult> {
    return this.write((effects) => {
      const from = this.requireMailbox(fromMailboxId);
      const to = this.requireMailbox(toMailboxId);
      if (from.id === to.id)
        throw new StoreError("invalid", "cannot move messages into the mailbox they are in");
      const result = this.copyWithin(from, requireUids(uids), to, effects);
      this.expungeWithin(
        from,
        result.mapping.map(([uid]) => uid),
        effects,
      );
      return result;
    });
  }

  async lockMaildrop(userId: number): Promise<MaildropLock | null> {
    this.assertOpen();
    // In-process only: the server refuses to start a second `mailroom serve` on the same data dir.
    if (this.heldMaildrops.has(userId)) return null;
    this.heldMaildrops.add(userId);
    let held = true;
    return {
      release: async () => {
        if (!held) return;
        held = false;
        this.heldMaildrops.delete(userId);
      },
    };
  }

  // ---- queue ----

  claimQueueEntries(now: Date, limit: number, leaseMs: number): Promise<QueueEntry[]> {
    return this.write(() => {
      const at = requireDate(now, "now").getTime();
      if (!Number.isSafeInteger(limit) || limit < 0)
        throw new StoreError("invalid", "the claim limit must be a whole number");
      if (!Number.isFinite(leaseMs) || leaseMs <= 0)
        throw new StoreError("invalid", "the lease must be a positive duration");
      const due = this.all<{ id: string }>(
        `SELECT id FROM queue
         WHERE (state = 'queued' AND next_attempt_at <= ?) OR (state = 'delivering' AND claimed_until < ?)
         ORDER BY next_attempt_at, id LIMIT ?`,
        at,
        at,
        limit,
      );
      return due.map((row) =>
        toQueueEntry(
          this.get<QueueRow>(
            `UPDATE queue SET state = 'delivering', claimed_until = ?, claimed_by = ?, attempts = attempts + 1
               WHERE id = ? RETURNING *`,
            at + leaseMs,
            this.claimer,
            row.id,
          )!,
        ),
      );
    });
  }

  deferQueueEntry(id: string, nextAttemptAt: Date, error: string, delayNotified?: boolean): Promise<void> {
    return this.write(() => {
      const next = requireDate(nextAttemptAt, "the next attempt time").getTime();
      const result =
        delayNotified === undefined
          ? this.run(
              `UPDATE queue SET state = 'queued', next_attempt_at = ?, last_error = ?, claimed_until = NULL WHERE id = ?`,
              next,
              String(error),
              id,
            )
          : this.run(
              `UPDATE queue SET state = 'queued', next_attempt_at = ?, last_error = ?, claimed_until = NULL,
                 delay_notified = ? WHERE id = ?`,
              next,
              String(error),
              delayNotified ? 1 : 0,
              id,
            );
      if (result.changes === 0) throw new StoreError("not-found", `queue entry ${id} does not exist`);
    });
  }

  completeQueueEntry(id: string): Promise<void> {
    return this.write((effects) => {
      const row = this.get<{ message_id: string }>("DELETE FROM queue WHERE id = ? RETURNING message_id", id);
      if (!row) throw new StoreError("not-found", `queue entry ${id} does not exist`);
      this.dropUnreferenced([row.message_id], effects);
    });
  }

  getQueueEntry(id: string): Promise<QueueEntry | null> {
    return this.read(() => {
      const row = this.get<QueueRow>("SELECT * FROM queue WHERE id = ?", id);
      return row ? toQueueEntry(row) : null;
    });
  }

  listQueue(): Promise<QueueEntry[]> {
    return this.read(() =>
      this.all<QueueRow>("SELECT * FROM queue ORDER BY next_attempt_at, id").map(toQueueEntry),
    );
  }

  retryQueue(id?: string): Promise<number> {
    return this.write(() => {
      const now = Date.now();
      const result =
        id === undefined
          ? this.run("UPDATE queue SET next_attempt_at = ? WHERE state = 'queued'", now)
          : this.run("UPDATE queue SET next_attempt_at = ? WHERE state = 'queued' AND id = ?", now, id);
      return result.changes;
    });
  }

  renewQueueLeases(ids: readonly string[], until: Date): Promise<string[]> {
    return this.write(() => {
      const at = requireDate(until, "the lease end").getTime();
      const renewed: string[] = [];
      for (const id of new Set(ids)) {
        const row = this.get<{ id: string }>(
          `UPDATE queue SET claimed_until = ? WHERE id = ? AND state = 'delivering' AND claimed_by = ?
           RETURNING id`,
          at,
          String(id),
          this.claimer,
        );
        if (row) renewed.push(row.id);
      }
      return renewed;
    });
  }

  // ---- import (mailroom migrate): bodies in ./import.ts ----

  private importContext(effects: Effects): imports.SqliteImportContext {
    return {
      db: this.db,
      headerOf: (id) => this.finishedHeaders.get(id) ?? null,
      unreferenced: effects.unreferenced,
    };
  }

  async hasBlobs(messageIds: readonly string[]): Promise<Set<string>> {
    const found = await this.read(() => imports.hasBlobs(this.db, messageIds));
    // A finished body gets its row with its first reference: until then only its file tells.
    for (const id of new Set(messageIds)) {
      if (!found.has(id) && (await this.blobs.sizeOf(id)) !== null) found.add(id);
    }
    return found;
  }

  listExpunged(mailboxId: number): Promise<ExpungedUid[]> {
    return this.read(() => imports.listExpunged(this.db, mailboxId));
  }

  importMailbox(userId: number, mailbox: MailboxImport): Promise<Mailbox> {
    return this.write((effects) => imports.importMailbox(this.importContext(effects), userId, mailbox));
  }

  async importMessages(mailboxId: number, messages: readonly MessageImport[]): Promise<void> {
    this.assertOpen();
    for (const message of messages) await this.checkBlob(message.blob);
    await this.write((effects) => imports.importMessages(this.importContext(effects), mailboxId, messages));
    for (const message of messages) this.forgetHeader(message.blob.id);
  }

  importExpunged(mailboxId: number, expunged: readonly ExpungedUid[]): Promise<void> {
    return this.write((effects) => imports.importExpunged(this.importContext(effects), mailboxId, expunged));
  }

  async importQueueEntry(entry: QueueEntry): Promise<void> {
    this.assertOpen();
    const size = typeof entry?.messageId === "string" ? await this.blobs.sizeOf(entry.messageId) : null;
    await this.write((effects) => imports.importQueueEntry(this.importContext(effects), entry, size));
    this.forgetHeader(entry.messageId);
  }
}

/** An id given for an imported body: the form of a store id, and not a body this store already has. */
function checkImportBlobId(id: string, exists: (id: string) => boolean): void {
  if (typeof id !== "string" || !isStoreId(id)) {
    throw new StoreError("invalid", `"${String(id)}" is not a message id of the form mailroom gives them`);
  }
  if (exists(id)) throw new StoreError("exists", `message body ${id} is already in this store`);
}
