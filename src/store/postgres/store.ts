// The Store on PostgreSQL, for several mailroom nodes sharing one database. Every method is one
// transaction. Numbers IMAP exposes are allocated under the mailbox row's lock (UPDATE … RETURNING), so
// nodes never hand out the same UID or MODSEQ; mailboxes are always locked in id order, and the rare
// deadlock or serialization failure left is retried. Events travel through NOTIFY (see events.ts).

import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import pg from "pg";
import type { Logger } from "pino";
import { normalizeDkimKey } from "../dkim-key.js";
import { headerBlockEntries, isHeaderBlockFor, notAHeaderBlock } from "../header-capture.js";
import { newQueueId } from "../ids.js";
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
  type SpecialUse,
  type Store,
  type StoredCredentials,
  StoreError,
  type User,
} from "../types.js";
import { PostgresBlobWriter, readBlobBytes, readBlobStream } from "./blobs.js";
import { isConnectionError, isRetryable, type ServerAddress, toStoreError } from "./errors.js";
import { NotifyEventBus, type Published } from "./events.js";
import * as imports from "./import.js";
import {
  applyFlagOperation,
  normalizeAddress,
  normalizeAliasSource,
  normalizeDomain,
  normalizeFlags,
  normalizeMailboxName,
  sameFlags,
} from "./names.js";
import {
  type AliasRow,
  type DomainRow,
  type MailboxRow,
  type MessageRow,
  type QueueRow,
  toAlias,
  toDomain,
  toMailbox,
  toMessage,
  toQueueEntry,
  toUser,
  type UserRow,
} from "./rows.js";

/** Mailbox rows with `subscribed` read from the subscriptions table, which holds the truth since schema 3. */
const MAILBOX_SELECT = `SELECT id, user_id, name, special_use,
    EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = mailboxes.user_id AND s.name = mailboxes.name)
      AS subscribed,
    uid_validity, uid_next, highest_modseq
  FROM mailboxes`;

/** Class id of maildrop advisory locks (two-int4 keys: this, user id); distinct from int8 keys. */
const MAILDROP_LOCK_CLASS = 0x6d64;
const MAX_ATTEMPTS = 5;
/** A server that cannot be reached should fail a request in seconds, not after TCP's minutes. */
const CONNECT_TIMEOUT_MS = 10_000;
/** Bodies nobody finished or nobody references are swept once they are this old. */
const ORPHAN_BLOB_AGE = "1 day";
/** Expired authentication failures removed, at most, by each one recorded. */
const AUTH_FAILURE_PRUNE_BATCH = 100;
/** Client keys are addresses or IPv6 /64 prefixes; anything far longer is not one. */
const MAX_AUTH_FAILURE_KEY = 256;

function checkAuthFailureKey(key: string, at: Date): void {
  if (typeof key !== "string" || key === "" || key.length > MAX_AUTH_FAILURE_KEY)
    throw new StoreError("invalid", `a client key must be 1 to ${MAX_AUTH_FAILURE_KEY} characters`);
  if (!(at instanceof Date) || Number.isNaN(at.getTime()))
    throw new StoreError("invalid", "the failure time must be a valid date");
}

interface Tx {
  client: pg.PoolClient;
  events: MailboxEvent[];
}

export interface PostgresStoreOptions {
  url: string;
  logger: Logger;
  server: ServerAddress;
}

export class PostgresStore implements Store {
  readonly kind = "postgres";
  readonly events: NotifyEventBus;
  private readonly pool: pg.Pool;
  /** Maildrop locks keep a connection each for as long as they are held; they get their own pool. */
  private readonly lockPool: pg.Pool;
  private readonly heldLocks = new Set<MaildropLock>();
  private readonly server: ServerAddress;
  private readonly logger: Logger;
  private maintenance: Promise<void> = Promise.resolve();
  /** Names this node in queue.claimed_by: the leases it took are the ones it may renew. */
  private readonly claimer = randomUUID();

  constructor(options: PostgresStoreOptions) {
    this.server = options.server;
    this.logger = options.logger;
    const connection = { connectionString: options.url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS };
    this.pool = new pg.Pool({ ...connection, application_name: "mailroom", max: 10 });
    this.lockPool = new pg.Pool({ ...connection, application_name: "mailroom-maildrop-lock", max: 200 });
    for (const pool of [this.pool, this.lockPool]) {
      pool.on("error", (error) => this.logger.warn({ err: error }, "an idle PostgreSQL connection failed"));
    }
    this.events = new NotifyEventBus({ ...connection, application_name: "mailroom-events" }, options.logger);
  }

  /** The client for migrations at open; released by the caller. */
  connect(): Promise<pg.PoolClient> {
    return this.pool.connect();
  }

  async start(): Promise<void> {
    await this.events.start();
    this.maintenance = this.sweepOrphanBlobs();
  }

  async close(): Promise<void> {
    await this.maintenance;
    await Promise.all([...this.heldLocks].map((lock) => lock.release()));
    await this.events.close();
    await Promise.all([this.pool.end(), this.lockPool.end()]);
  }

  private async sweepOrphanBlobs(): Promise<void> {
    try {
      const result = await this.pool.query(
        `DELETE FROM blobs b WHERE b.created_at < now() - interval '${ORPHAN_BLOB_AGE}'
           AND (NOT b.complete OR (NOT EXISTS (SELECT 1 FROM messages m WHERE m.message_id = b.id)
                                   AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.message_id = b.id)))`,
      );
      if (result.rowCount) this.logger.info({ count: result.rowCount }, "removed orphaned message bodies");
    } catch (error) {
      this.logger.warn({ err: error }, "could not sweep orphaned message bodies; will try at next start");
    }
  }

  // ---- plumbing ----

  private async tx<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (error) {
        throw toStoreError(error, this.server);
      }
      const tx: Tx = { client, events: [] };
      let published: Published[] = [];
      try {
        await client.query("BEGIN");
        const result = await work(tx);
        published = await this.events.publish(client, tx.events);
        await client.query("COMMIT");
        client.release();
        await this.events.delivered(published);
        return result;
      } catch (error) {
        this.events.discard(published);
        if (isConnectionError(error)) {
          client.release(error as Error);
        } else {
          await client.query("ROLLBACK").then(
            () => client.release(),
            (rollbackError: Error) => client.release(rollbackError),
          );
        }
        if (isRetryable(error) && attempt < MAX_ATTEMPTS) {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
          continue;
        }
        throw toStoreError(error, this.server);
      }
    }
  }

  private async read<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (error) {
      throw toStoreError(error, this.server);
    }
  }

  private async mailboxOrThrow(mailboxId: number): Promise<void> {
    const rows = await this.read("SELECT 1 FROM mailboxes WHERE id = $1", [mailboxId]);
    if (rows.length === 0) throw new StoreError("not-found", `no mailbox with id ${mailboxId}`);
  }

  /** Locks the mailboxes (in id order, so concurrent transactions cannot deadlock on them). */
  private async lockMailboxes(tx: Tx, ids: number[]): Promise<Map<number, MailboxRow>> {
    const unique = [...new Set(ids)].sort((a, b) => a - b);
    const result = await tx.client.query<MailboxRow>(
      "SELECT * FROM mailboxes WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
      [unique],
    );
    const rows = new Map(result.rows.map((row) => [Number(row.id), row]));
    for (const id of unique) {
      if (!rows.has(id)) throw new StoreError("not-found", `no mailbox with id ${id}`);
    }
    return rows;
  }

  /** Takes `uids` new UIDs and one new MODSEQ in a mailbox already locked by this transaction. */
  private async allocate(
    tx: Tx,
    mailboxId: number,
    uids: number,
  ): Promise<{ firstUid: number; modseq: number; uidValidity: number; userId: number }> {
    const result = await tx.client.query<{
      first_uid: string;
      highest_modseq: string;
      uid_validity: string;
      user_id: string;
    }>(
      `UPDATE mailboxes SET uid_next = uid_next + $2, highest_modseq = highest_modseq + 1 WHERE id = $1
       RETURNING uid_next - $2 AS first_uid, highest_modseq, uid_validity, user_id`,
      [mailboxId, uids],
    );
    const row = result.rows[0];
    if (!row) throw new StoreError("not-found", `no mailbox with id ${mailboxId}`);
    return {
      firstUid: Number(row.first_uid),
      modseq: Number(row.highest_modseq),
      uidValidity: Number(row.uid_validity),
      userId: Number(row.user_id),
    };
  }

  /** Deletes the bodies among `ids` that nothing references any more. */
  private async dropUnreferencedBlobs(tx: Tx, ids: string[]): Promise<void> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return;
    await tx.client.query("SAVEPOINT drop_blobs");
    try {
      await tx.client.query(
        `DELETE FROM blobs b WHERE b.id = ANY($1::text[])
           AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.message_id = b.id)
           AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.message_id = b.id)`,
        [unique],
      );
      await tx.client.query("RELEASE SAVEPOINT drop_blobs");
    } catch (error) {
      // Another node's transaction referenced one of the bodies meanwhile: they stay, for now.
      if ((error as { code?: string }).code !== "23503") throw error;
      await tx.client.query("ROLLBACK TO SAVEPOINT drop_blobs");
    }
  }

  /** Fresh UIDVALIDITY values: seconds since the epoch, but always above every earlier value. */
  private async uidValidities(tx: Tx, count: number): Promise<number[]> {
    const result = await tx.client.query<{ value: string }>(
      `UPDATE counters SET value = greatest(value + $1, extract(epoch FROM clock_timestamp())::bigint + $1 - 1)
       WHERE name = 'uid_validity' RETURNING value`,
      [count],
    );
    const last = Number(result.rows[0]?.value);
    return Array.from({ length: count }, (_, index) => last - count + 1 + index);
  }

  private async insertMailboxes(
    tx: Tx,
    userId: number,
    mailboxes: ReadonlyArray<{ name: string; specialUse: SpecialUse | null }>,
  ): Promise<Mailbox[]> {
    const validities = await this.uidValidities(tx, mailboxes.length);
    const created: Mailbox[] = [];
    for (const [index, mailbox] of mailboxes.entries()) {
      const result = await tx.client.query<MailboxRow>(
        `INSERT INTO mailboxes (user_id, name, special_use, uid_validity) VALUES ($1, $2, $3, $4) RETURNING *`,
        [userId, mailbox.name, mailbox.specialUse, validities[index]],
      );
      // A new mailbox starts subscribed. The subscribed column is not read since schema 3 (MAILBOX_SELECT).
      await tx.client.query(
        "INSERT INTO subscriptions (user_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        [userId, mailbox.name],
      );
      created.push(toMailbox(result.rows[0] as MailboxRow));
    }
    return created;
  }

  // ---- domains ----

  async addDomain(name: string): Promise<Domain> {
    const domain = normalizeDomain(name);
    try {
      const rows = await this.read<DomainRow>("INSERT INTO domains (name) VALUES ($1) RETURNING *", [domain]);
      return toDomain(rows[0] as DomainRow);
    } catch (error) {
      if (error instanceof StoreError && error.code === "exists") {
        throw new StoreError("exists", `domain ${domain} already exists`, { cause: error });
      }
      throw error;
    }
  }

  async getDomain(name: string): Promise<Domain | null> {
    const rows = await this.read<DomainRow>("SELECT * FROM domains WHERE name = $1", [
      name.trim().toLowerCase(),
    ]);
    return rows[0] ? toDomain(rows[0]) : null;
  }

  async listDomains(): Promise<Domain[]> {
    return (await this.read<DomainRow>("SELECT * FROM domains ORDER BY name")).map(toDomain);
  }

  async removeDomain(name: string): Promise<void> {
    const domain = name.trim().toLowerCase();
    await this.tx(async ({ client }) => {
      const found = await client.query<{ id: string }>("SELECT id FROM domains WHERE name = $1 FOR UPDATE", [
        domain,
      ]);
      const id = found.rows[0]?.id;
      if (id === undefined) throw new StoreError("not-found", `no domain ${domain}`);
      const used = await client.query<{ users: string; aliases: string }>(
        `SELECT (SELECT count(*) FROM users WHERE domain_id = $1) AS users,
                (SELECT count(*) FROM aliases WHERE domain_id = $1) AS aliases`,
        [id],
      );
      const users = Number(used.rows[0]?.users);
      const aliases = Number(used.rows[0]?.aliases);
      if (users > 0 || aliases > 0) {
        throw new StoreError(
          "not-empty",
          `domain ${domain} still has ${users} user(s) and ${aliases} alias(es); remove them first`,
        );
      }
      await client.query("DELETE FROM domains WHERE id = $1", [id]);
    });
  }

  async setDkimKey(domain: string, key: DkimKeyInput): Promise<void> {
    const name = normalizeDomain(domain);
    const checked = normalizeDkimKey(key);
    await this.tx(async ({ client }) => {
      const result = await client.query(
        `INSERT INTO dkim_keys (domain_id, selector, private_key_pem, algorithm)
           SELECT id, $2, $3, $4 FROM domains WHERE name = $1
           ON CONFLICT (domain_id) DO UPDATE SET selector = excluded.selector,
             private_key_pem = excluded.private_key_pem, algorithm = excluded.algorithm,
             created_at = now()`,
        [name, checked.selector, checked.privateKeyPem, checked.algorithm],
      );
      if (result.rowCount === 0) {
        throw new StoreError("not-found", `domain ${name} is not served here; add it first`);
      }
    });
  }

  async getDkimKey(domain: string): Promise<DkimKey | null> {
    const rows = await this.read<{
      selector: string;
      private_key_pem: string;
      algorithm: DkimKey["algorithm"];
      created_at: Date;
    }>(
      `SELECT k.selector, k.private_key_pem, k.algorithm, k.created_at
         FROM dkim_keys k JOIN domains d ON d.id = k.domain_id WHERE d.name = $1`,
      [normalizeDomain(domain)],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      selector: row.selector,
      privateKeyPem: row.private_key_pem,
      algorithm: row.algorithm,
      createdAt: row.created_at,
    };
  }

  // ---- users ----

  async addUser(address: string, credentials: StoredCredentials): Promise<User> {
    const normalized = normalizeAddress(address);
    const domain = normalized.slice(normalized.lastIndexOf("@") + 1);
    return this.tx(async (tx) => {
      const result = await tx.client.query<UserRow>(
        `INSERT INTO users (address, domain_id, password_hash, scram_sha256)
         SELECT $1, d.id, $3, $4 FROM domains d WHERE d.name = $2
         ON CONFLICT (address) DO NOTHING RETURNING *`,
        [normalized, domain, credentials.passwordHash, credentials.scramSha256],
      );
      const row = result.rows[0];
      if (!row) {
        const exists = await tx.client.query("SELECT 1 FROM users WHERE address = $1", [normalized]);
        if (exists.rows.length > 0) throw new StoreError("exists", `user ${normalized} already exists`);
        throw new StoreError(
          "not-found",
          `no domain ${domain}; add it first (mailroom domain add ${domain})`,
        );
      }
      await this.insertMailboxes(tx, Number(row.id), DEFAULT_MAILBOXES);
      return toUser(row);
    });
  }

  async getUser(address: string): Promise<User | null> {
    const rows = await this.read<UserRow>("SELECT * FROM users WHERE address = $1", [
      address.trim().toLowerCase(),
    ]);
    return rows[0] ? toUser(rows[0]) : null;
  }

  async getUserById(id: number): Promise<User | null> {
    const rows = await this.read<UserRow>("SELECT * FROM users WHERE id = $1", [id]);
    return rows[0] ? toUser(rows[0]) : null;
  }

  async listUsers(domain?: string): Promise<User[]> {
    const rows =
      domain === undefined
        ? await this.read<UserRow>("SELECT * FROM users ORDER BY address")
        : await this.read<UserRow>(
            "SELECT u.* FROM users u JOIN domains d ON d.id = u.domain_id WHERE d.name = $1 ORDER BY u.address",
            [domain.trim().toLowerCase()],
          );
    return rows.map(toUser);
  }

  async removeUser(address: string): Promise<void> {
    const normalized = address.trim().toLowerCase();
    await this.tx(async (tx) => {
      const found = await tx.client.query<{ id: string }>(
        "SELECT id FROM users WHERE address = $1 FOR UPDATE",
        [normalized],
      );
      const id = found.rows[0]?.id;
      if (id === undefined) throw new StoreError("not-found", `no user ${normalized}`);
      const mailboxIds = await tx.client.query<{ id: string }>(
        "SELECT id FROM mailboxes WHERE user_id = $1 ORDER BY id",
        [id],
      );
      await this.lockMailboxes(
        tx,
        mailboxIds.rows.map((row) => Number(row.id)),
      );
      const bodies = await tx.client.query<{ message_id: string }>(
        "SELECT DISTINCT m.message_id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.user_id = $1",
        [id],
      );
      await tx.client.query("DELETE FROM users WHERE id = $1", [id]);
      await this.dropUnreferencedBlobs(
        tx,
        bodies.rows.map((row) => row.message_id),
      );
      tx.events.push({ kind: "mailboxes", userId: Number(id) });
    });
  }

  async setCredentials(address: string, credentials: StoredCredentials): Promise<void> {
    const normalized = address.trim().toLowerCase();
    const rows = await this.read(
      "UPDATE users SET password_hash = $2, scram_sha256 = $3 WHERE address = $1 RETURNING id",
      [normalized, credentials.passwordHash, credentials.scramSha256],
    );
    if (rows.length === 0) throw new StoreError("not-found", `no user ${normalized}`);
  }

  // ---- aliases ----

  async addAlias(source: string, destination: string): Promise<Alias> {
    const { source: from, domain } = normalizeAliasSource(source);
    const to = normalizeAddress(destination);
    return this.tx(async ({ client }) => {
      const result = await client.query<AliasRow>(
        `INSERT INTO aliases (source, destination, domain_id)
         SELECT $1, $2, d.id FROM domains d WHERE d.name = $3
         ON CONFLICT (source, destination) DO NOTHING RETURNING id, source, destination`,
        [from, to, domain],
      );
      const row = result.rows[0];
      if (row) return toAlias(row);
      const exists = await client.query("SELECT 1 FROM aliases WHERE source = $1 AND destination = $2", [
        from,
        to,
      ]);
      if (exists.rows.length > 0) throw new StoreError("exists", `alias ${from} → ${to} already exists`);
      throw new StoreError("not-found", `no domain ${domain}; add it first (mailroom domain add ${domain})`);
    });
  }

  async listAliases(domain?: string): Promise<Alias[]> {
    const rows =
      domain === undefined
        ? await this.read<AliasRow>(
            "SELECT id, source, destination FROM aliases ORDER BY source, destination",
          )
        : await this.read<AliasRow>(
            `SELECT a.id, a.source, a.destination FROM aliases a JOIN domains d ON d.id = a.domain_id
             WHERE d.name = $1 ORDER BY a.source, a.destination`,
            [domain.trim().toLowerCase()],
          );
    return rows.map(toAlias);
  }

  async removeAlias(source: string, destination?: string): Promise<void> {
    const from = source.trim().toLowerCase();
    const rows =
      destination === undefined
        ? await this.read("DELETE FROM aliases WHERE source = $1 RETURNING id", [from])
        : await this.read("DELETE FROM aliases WHERE source = $1 AND destination = $2 RETURNING id", [
            from,
            destination.trim().toLowerCase(),
          ]);
    if (rows.length === 0) {
      const which = destination === undefined ? from : `${from} → ${destination.trim().toLowerCase()}`;
      throw new StoreError("not-found", `no alias ${which}`);
    }
  }

  async aliasDestinations(source: string): Promise<string[]> {
    const rows = await this.read<{ destination: string }>(
      "SELECT destination FROM aliases WHERE source = $1 ORDER BY id",
      [source.trim().toLowerCase()],
    );
    return rows.map((row) => row.destination);
  }

  // ---- mailboxes ----

  async listMailboxes(userId: number): Promise<Mailbox[]> {
    const rows = await this.read<MailboxRow>(
      `${MAILBOX_SELECT} WHERE user_id = $1 ORDER BY name <> 'INBOX', name`,
      [userId],
    );
    return rows.map(toMailbox);
  }

  async getMailbox(userId: number, name: string): Promise<Mailbox | null> {
    let normalized: string;
    try {
      normalized = normalizeMailboxName(name);
    } catch {
      return null;
    }
    const rows = await this.read<MailboxRow>(`${MAILBOX_SELECT} WHERE user_id = $1 AND name = $2`, [
      userId,
      normalized,
    ]);
    return rows[0] ? toMailbox(rows[0]) : null;
  }

  async getMailboxById(mailboxId: number): Promise<Mailbox | null> {
    const rows = await this.read<MailboxRow>(`${MAILBOX_SELECT} WHERE id = $1`, [mailboxId]);
    return rows[0] ? toMailbox(rows[0]) : null;
  }

  async createMailbox(userId: number, name: string, specialUse: SpecialUse | null = null): Promise<Mailbox> {
    const normalized = normalizeMailboxName(name);
    return this.tx(async (tx) => {
      const user = await tx.client.query("SELECT 1 FROM users WHERE id = $1 FOR KEY SHARE", [userId]);
      if (user.rows.length === 0) throw new StoreError("not-found", `no user with id ${userId}`);
      const taken = await tx.client.query("SELECT 1 FROM mailboxes WHERE user_id = $1 AND name = $2", [
        userId,
        normalized,
      ]);
      if (taken.rows.length > 0) throw new StoreError("exists", `mailbox ${normalized} already exists`);
      const [mailbox] = await this.insertMailboxes(tx, userId, [{ name: normalized, specialUse }]);
      tx.events.push({ kind: "mailboxes", userId });
      return mailbox as Mailbox;
    });
  }

  async renameMailbox(userId: number, from: string, to: string): Promise<void> {
    const source = normalizeMailboxName(from);
    const target = normalizeMailboxName(to);
    await this.tx(async (tx) => {
      const found = await tx.client.query<MailboxRow>(
        "SELECT * FROM mailboxes WHERE user_id = $1 AND name = $2 FOR UPDATE",
        [userId, source],
      );
      const mailbox = found.rows[0];
      if (!mailbox) throw new StoreError("not-found", `no mailbox ${source}`);
      if (target === source || target.startsWith(`${source}/`)) {
        throw new StoreError("invalid", `cannot rename ${source} to ${target}, which is itself or inside it`);
      }
      const taken = await tx.client.query("SELECT 1 FROM mailboxes WHERE user_id = $1 AND name = $2", [
        userId,
        target,
      ]);
      if (taken.rows.length > 0) throw new StoreError("exists", `mailbox ${target} already exists`);
      if (source === "INBOX") await this.moveInboxTo(tx, mailbox, target);
      else {
        // Subscriptions move with the mailboxes; a new name already subscribed stays subscribed.
        const moved = await tx.client.query<{ name: string }>(
          `DELETE FROM subscriptions WHERE user_id = $1 AND name IN (
             SELECT name FROM mailboxes WHERE user_id = $1 AND (name = $2 OR left(name, length($2) + 1) = $2 || '/'))
           RETURNING name`,
          [userId, source],
        );
        await tx.client.query(
          `INSERT INTO subscriptions (user_id, name)
           SELECT $1, $3 || substr(old, length($2) + 1) FROM unnest($4::text[]) AS old ON CONFLICT DO NOTHING`,
          [userId, source, target, moved.rows.map((row) => row.name)],
        );
        // RFC 9051 §6.3.6: inferior hierarchical names are renamed along with the mailbox.
        await tx.client.query(
          `UPDATE mailboxes SET name = $3 || substr(name, length($2) + 1)
           WHERE user_id = $1 AND (name = $2 OR left(name, length($2) + 1) = $2 || '/')`,
          [userId, source, target],
        );
      }
      tx.events.push({ kind: "mailboxes", userId });
    });
  }

  /** RFC 9051 §6.3.6: renaming INBOX moves its messages to a new mailbox and leaves INBOX empty. */
  private async moveInboxTo(tx: Tx, inbox: MailboxRow, target: string): Promise<void> {
    const userId = Number(inbox.user_id);
    const [created] = await this.insertMailboxes(tx, userId, [{ name: target, specialUse: null }]);
    const mailbox = created as Mailbox;
    await tx.client.query("UPDATE mailboxes SET uid_next = $2, highest_modseq = $3 WHERE id = $1", [
      mailbox.id,
      inbox.uid_next,
      inbox.highest_modseq,
    ]);
    const moved = await tx.client.query<{ uid: string }>(
      "UPDATE messages SET mailbox_id = $2 WHERE mailbox_id = $1 RETURNING uid",
      [inbox.id, mailbox.id],
    );
    if (moved.rows.length === 0) return;
    const { modseq } = await this.allocate(tx, Number(inbox.id), 0);
    const uids = moved.rows.map((row) => Number(row.uid)).sort((a, b) => a - b);
    await tx.client.query(
      "INSERT INTO expunged (mailbox_id, uid, modseq) SELECT $1, unnest($2::bigint[]), $3",
      [inbox.id, uids, modseq],
    );
    tx.events.push({ kind: "expunge", userId, mailboxId: Number(inbox.id), uids, modseq });
  }

  async deleteMailbox(userId: number, name: string): Promise<void> {
    const normalized = normalizeMailboxName(name);
    if (normalized === "INBOX") throw new StoreError("invalid", "INBOX cannot be deleted (RFC 9051 §6.3.5)");
    await this.tx(async (tx) => {
      const found = await tx.client.query<{ id: string }>(
        "SELECT id FROM mailboxes WHERE user_id = $1 AND name = $2 FOR UPDATE",
        [userId, normalized],
      );
      const id = found.rows[0]?.id;
      if (id === undefined) throw new StoreError("not-found", `no mailbox ${normalized}`);
      const bodies = await tx.client.query<{ message_id: string }>(
        "SELECT DISTINCT message_id FROM messages WHERE mailbox_id = $1",
        [id],
      );
      await tx.client.query("DELETE FROM mailboxes WHERE id = $1", [id]);
      await this.dropUnreferencedBlobs(
        tx,
        bodies.rows.map((row) => row.message_id),
      );
      tx.events.push({ kind: "mailboxes", userId });
    });
  }

  // RFC 9051 §6.3.9: a name may be subscribed whether or not a mailbox of that name exists.
  async setSubscribed(userId: number, name: string, subscribed: boolean): Promise<void> {
    const normalized = normalizeMailboxName(name);
    await this.tx(async (tx) => {
      const user = await tx.client.query("SELECT 1 FROM users WHERE id = $1 FOR KEY SHARE", [userId]);
      if (user.rows.length === 0) throw new StoreError("not-found", `no user with id ${userId}`);
      await tx.client.query(
        subscribed
          ? "INSERT INTO subscriptions (user_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING"
          : "DELETE FROM subscriptions WHERE user_id = $1 AND name = $2",
        [userId, normalized],
      );
      tx.events.push({ kind: "mailboxes", userId });
    });
  }

  async listSubscriptions(userId: number): Promise<string[]> {
    const rows = await this.read<{ name: string }>(
      // Byte order, as SQLite sorts, whatever the database's collation.
      'SELECT name FROM subscriptions WHERE user_id = $1 ORDER BY name COLLATE "C"',
      [userId],
    );
    return rows.map((row) => row.name);
  }

  async mailboxStatus(mailboxId: number): Promise<MailboxStatus> {
    const rows = await this.read<MailboxRow & { messages: string; unseen: string; size: string }>(
      `SELECT b.*, s.messages, s.unseen, s.size FROM mailboxes b,
         LATERAL (SELECT count(*) AS messages,
                         count(*) FILTER (WHERE NOT ('\\Seen' = ANY (m.flags))) AS unseen,
                         coalesce(sum(m.size), 0) AS size
                  FROM messages m WHERE m.mailbox_id = b.id) s
       WHERE b.id = $1`,
      [mailboxId],
    );
    const row = rows[0];
    if (!row) throw new StoreError("not-found", `no mailbox with id ${mailboxId}`);
    return {
      messages: Number(row.messages),
      unseen: Number(row.unseen),
      size: Number(row.size),
      uidNext: Number(row.uid_next),
      uidValidity: Number(row.uid_validity),
      highestModseq: Number(row.highest_modseq),
    };
  }

  // ---- bodies ----

  async createBlobWriter(options?: { id?: string }): Promise<BlobWriter> {
    const id = options?.id;
    if (id !== undefined) await this.tx(({ client }) => imports.claimBlobId(client, id));
    return new PostgresBlobWriter(this.pool, this.server, id);
  }

  readBlob(messageId: string): Readable {
    return readBlobStream(this.pool, this.server, messageId);
  }

  readBlobBytes(messageId: string): Promise<Buffer> {
    return readBlobBytes(this.pool, this.server, messageId);
  }

  async readHeaderBlocks(messageIds: readonly string[]): Promise<Map<string, Buffer>> {
    if (!Array.isArray(messageIds) || messageIds.some((id) => typeof id !== "string")) {
      throw new StoreError("invalid", "readHeaderBlocks needs a list of message ids (strings)");
    }
    const found = new Map<string, Buffer>();
    if (messageIds.length === 0) return found;
    const rows = await this.read<{ id: string; header: Buffer }>(
      "SELECT id, header FROM blobs WHERE id = ANY($1::text[]) AND complete AND header IS NOT NULL",
      [[...new Set(messageIds)]],
    );
    for (const row of rows) found.set(row.id, row.header);
    return found;
  }

  async saveHeaderBlocks(blocks: ReadonlyMap<string, Buffer>): Promise<void> {
    const entries = headerBlockEntries(blocks);
    if (entries.length === 0) return;
    await this.tx(async ({ client }) => {
      const ids = entries.map(([id]) => id);
      const sizes = await client.query<{ id: string; size: string }>(
        "SELECT id, size FROM blobs WHERE id = ANY($1::text[]) AND complete",
        [ids],
      );
      const known = new Map(sizes.rows.map((row) => [row.id, Number(row.size)]));
      const kept = entries.filter(([id]) => known.has(id));
      for (const [id, block] of kept) {
        if (!isHeaderBlockFor(block, known.get(id) as number)) throw notAHeaderBlock(id);
      }
      if (kept.length === 0) return;
      await client.query(
        `UPDATE blobs SET header = given.header
           FROM unnest($1::text[], $2::bytea[]) AS given(id, header)
          WHERE blobs.id = given.id AND blobs.header IS NULL`,
        [kept.map(([id]) => id), kept.map(([, block]) => block)],
      );
    });
  }

  // ---- messages ----

  /** Locks a finished body against removal until this transaction ends; returns its size. */
  private async finishedBlobSize(tx: Tx, blob: BlobRef): Promise<number> {
    const result = await tx.client.query<{ size: string; complete: boolean }>(
      "SELECT size, complete FROM blobs WHERE id = $1 FOR KEY SHARE",
      [blob.id],
    );
    const row = result.rows[0];
    if (!row?.complete) {
      throw new StoreError(
        "not-found",
        `no finished message body ${blob.id}; call finish() on its writer first`,
      );
    }
    return Number(row.size);
  }

  async deliver(input: DeliveryInput): Promise<DeliveryResult> {
    if (input.mailboxes.length === 0 && input.queue.length === 0) {
      throw new StoreError("invalid", "a delivery needs at least one mailbox or queue recipient");
    }
    const mailboxFlags = input.mailboxes.map((entry) => normalizeFlags(entry.flags ?? []));
    const sender = input.sender.trim().toLowerCase();
    const recipients = input.queue.map((entry) => {
      const recipient = entry.recipient.trim().toLowerCase();
      if (!recipient.includes("@")) {
        throw new StoreError("invalid", `queue recipient "${entry.recipient}" is not an address`);
      }
      return { id: newQueueId(), recipient, dsn: entry.dsn ?? {} };
    });
    return this.tx(async (tx) => {
      const size = await this.finishedBlobSize(tx, input.blob);
      const locked = await this.lockMailboxes(
        tx,
        input.mailboxes.map((entry) => entry.mailboxId),
      );
      const uids: Array<{ mailboxId: number; uid: number }> = [];
      const added = new Map<number, { userId: number; uids: number[]; modseq: number }>();
      for (const mailboxId of locked.keys()) {
        const indexes = input.mailboxes.flatMap((entry, index) =>
          entry.mailboxId === mailboxId ? [index] : [],
        );
        const { firstUid, modseq, userId } = await this.allocate(tx, mailboxId, indexes.length);
        added.set(mailboxId, { userId, uids: [], modseq });
        for (const [offset, index] of indexes.entries()) {
          const uid = firstUid + offset;
          await tx.client.query(
            `INSERT INTO messages (mailbox_id, uid, message_id, flags, internal_date, size, modseq)
             VALUES ($1, $2, $3, $4, $5, $6, $7)`,
            [mailboxId, uid, input.blob.id, mailboxFlags[index], input.internalDate, size, modseq],
          );
          added.get(mailboxId)?.uids.push(uid);
          uids[index] = { mailboxId, uid };
        }
      }
      if (recipients.length > 0) {
        const now = new Date();
        await tx.client.query(
          `INSERT INTO queue (id, message_id, sender, recipient, dsn, envelope_dsn, state, created_at, next_attempt_at)
           SELECT r.id, $2, $3, r.recipient, r.dsn, $4, 'queued', $5, $5
           FROM jsonb_to_recordset($1::jsonb) AS r(id text, recipient text, dsn jsonb)`,
          [JSON.stringify(recipients), input.blob.id, sender, JSON.stringify(input.envelopeDsn ?? {}), now],
        );
      }
      for (const [mailboxId, change] of added) {
        tx.events.push({
          kind: "exists",
          userId: change.userId,
          mailboxId,
          uids: change.uids,
          modseq: change.modseq,
        });
      }
      return { messageId: input.blob.id, uids, queueIds: recipients.map((entry) => entry.id) };
    });
  }

  async append(
    mailboxId: number,
    blob: BlobRef,
    flags: string[],
    internalDate: Date,
  ): Promise<MailboxMessage> {
    const normalized = normalizeFlags(flags);
    return this.tx(async (tx) => {
      const size = await this.finishedBlobSize(tx, blob);
      await this.lockMailboxes(tx, [mailboxId]);
      const { firstUid, modseq, userId } = await this.allocate(tx, mailboxId, 1);
      const result = await tx.client.query<MessageRow>(
        `INSERT INTO messages (mailbox_id, uid, message_id, flags, internal_date, size, modseq)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
        [mailboxId, firstUid, blob.id, normalized, internalDate, size, modseq],
      );
      tx.events.push({ kind: "exists", userId, mailboxId, uids: [firstUid], modseq });
      return toMessage(result.rows[0] as MessageRow);
    });
  }

  async listMessages(mailboxId: number, options?: ListMessagesOptions): Promise<MailboxMessage[]> {
    const { sinceModseq, uidFrom, uidTo } = checkListOptions(options);
    // Numbers come back as float8 and the date as epoch milliseconds: pg's own int8 (string) and
    // timestamptz (text parsing) conversions were most of the time spent listing a large mailbox.
    const changed = sinceModseq === undefined ? "" : " AND modseq > $4";
    const values =
      sinceModseq === undefined ? [mailboxId, uidFrom, uidTo] : [mailboxId, uidFrom, uidTo, sinceModseq];
    let rows: Array<[number, string, string[], number, number, number]>;
    try {
      const result = await this.pool.query<[number, string, string[], number, number, number]>({
        name: sinceModseq === undefined ? "mailroom_list_messages" : "mailroom_list_changed_messages",
        text: `SELECT uid::float8, message_id, flags, (extract(epoch FROM internal_date) * 1000)::float8,
                      size::float8, modseq::float8
               FROM messages WHERE mailbox_id = $1 AND uid BETWEEN $2 AND $3${changed} ORDER BY uid`,
        values,
        rowMode: "array",
      });
      rows = result.rows;
    } catch (error) {
      throw toStoreError(error, this.server);
    }
    return rows.map(([uid, messageId, flags, internalDate, size, modseq]) => ({
      mailboxId,
      uid,
      messageId,
      flags,
      internalDate: new Date(internalDate),
      size,
      modseq,
    }));
  }

  async getMessage(mailboxId: number, uid: number): Promise<MailboxMessage | null> {
    const rows = await this.read<MessageRow>("SELECT * FROM messages WHERE mailbox_id = $1 AND uid = $2", [
      mailboxId,
      uid,
    ]);
    return rows[0] ? toMessage(rows[0]) : null;
  }

  async updateFlags(
    mailboxId: number,
    uids: number[],
    operation: FlagOperation,
    flags: string[],
    options: { unchangedSince?: number } = {},
  ): Promise<FlagUpdateResult> {
    const given = normalizeFlags(flags);
    return this.tx(async (tx) => {
      await this.lockMailboxes(tx, [mailboxId]);
      const result = await tx.client.query<MessageRow>(
        "SELECT * FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) ORDER BY uid FOR UPDATE",
        [mailboxId, uids],
      );
      const modified: number[] = [];
      const changes: Array<{ row: MessageRow; flags: string[] }> = [];
      for (const row of result.rows) {
        if (options.unchangedSince !== undefined && Number(row.modseq) > options.unchangedSince) {
          modified.push(Number(row.uid));
          continue;
        }
        const next = applyFlagOperation(row.flags, operation, given);
        if (!sameFlags(row.flags, next)) changes.push({ row, flags: next });
      }
      if (changes.length === 0) return { updated: [], modified };
      const { modseq, userId } = await this.allocate(tx, mailboxId, 0);
      await tx.client.query(
        `UPDATE messages m SET flags = ARRAY(SELECT jsonb_array_elements_text(c.flags)), modseq = $3
         FROM jsonb_to_recordset($2::jsonb) AS c(uid bigint, flags jsonb)
         WHERE m.mailbox_id = $1 AND m.uid = c.uid`,
        [
          mailboxId,
          JSON.stringify(changes.map((change) => ({ uid: change.row.uid, flags: change.flags }))),
          modseq,
        ],
      );
      const updated = changes.map((change) => ({ ...toMessage(change.row), flags: change.flags, modseq }));
      tx.events.push({
        kind: "flags",
        userId,
        mailboxId,
        uids: updated.map((message) => message.uid),
        modseq,
      });
      return { updated, modified };
    });
  }

  async expunge(mailboxId: number, uids: number[]): Promise<number[]> {
    return this.tx(async (tx) => {
      await this.lockMailboxes(tx, [mailboxId]);
      return this.expungeLocked(tx, mailboxId, uids);
    });
  }

  private async expungeLocked(tx: Tx, mailboxId: number, uids: number[]): Promise<number[]> {
    const removed = await tx.client.query<{ uid: string; message_id: string }>(
      "DELETE FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) RETURNING uid, message_id",
      [mailboxId, uids],
    );
    if (removed.rows.length === 0) return [];
    const gone = removed.rows.map((row) => Number(row.uid)).sort((a, b) => a - b);
    const { modseq, userId } = await this.allocate(tx, mailboxId, 0);
    await tx.client.query(
      "INSERT INTO expunged (mailbox_id, uid, modseq) SELECT $1, unnest($2::bigint[]), $3",
      [mailboxId, gone, modseq],
    );
    await this.dropUnreferencedBlobs(
      tx,
      removed.rows.map((row) => row.message_id),
    );
    tx.events.push({ kind: "expunge", userId, mailboxId, uids: gone, modseq });
    return gone;
  }

  async expungedSince(mailboxId: number, modseq: number): Promise<number[]> {
    await this.mailboxOrThrow(mailboxId);
    const rows = await this.read<{ uid: string }>(
      "SELECT uid FROM expunged WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid",
      [mailboxId, modseq],
    );
    return rows.map((row) => Number(row.uid));
  }

  copyMessages(fromMailboxId: number, uids: number[], toMailboxId: number): Promise<CopyResult> {
    return this.tx((tx) => this.copyLocked(tx, fromMailboxId, uids, toMailboxId, false));
  }

  moveMessages(fromMailboxId: number, uids: number[], toMailboxId: number): Promise<CopyResult> {
    return this.tx((tx) => this.copyLocked(tx, fromMailboxId, uids, toMailboxId, true));
  }

  private async copyLocked(
    tx: Tx,
    from: number,
    uids: number[],
    to: number,
    move: boolean,
  ): Promise<CopyResult> {
    const locked = await this.lockMailboxes(tx, [from, to]);
    const target = locked.get(to) as MailboxRow;
    const sources = await tx.client.query<{ uid: string }>(
      "SELECT uid FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) ORDER BY uid FOR UPDATE",
      [from, uids],
    );
    const sourceUids = sources.rows.map((row) => Number(row.uid));
    if (sourceUids.length === 0) return { mapping: [], uidValidity: Number(target.uid_validity) };
    const { firstUid, modseq, userId, uidValidity } = await this.allocate(tx, to, sourceUids.length);
    await tx.client.query(
      `INSERT INTO messages (mailbox_id, uid, message_id, flags, internal_date, size, modseq)
       SELECT $3, $4 + row_number() OVER (ORDER BY uid) - 1, message_id, flags, internal_date, size, $5
       FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[])`,
      [from, sourceUids, to, firstUid, modseq],
    );
    const mapping = sourceUids.map((uid, index): [number, number] => [uid, firstUid + index]);
    tx.events.push({ kind: "exists", userId, mailboxId: to, uids: mapping.map(([, uid]) => uid), modseq });
    if (move) await this.expungeLocked(tx, from, sourceUids);
    return { mapping, uidValidity };
  }

  // ---- maildrop lock ----

  async lockMaildrop(userId: number): Promise<MaildropLock | null> {
    let client: pg.PoolClient;
    try {
      client = await this.lockPool.connect();
    } catch (error) {
      throw toStoreError(error, this.server);
    }
    // A checked-out client's errors would otherwise be unhandled; losing it also frees the lock.
    const onError = (error: Error) =>
      this.logger.warn({ err: error, userId }, "the connection holding a maildrop lock failed; lock lost");
    client.on("error", onError);
    // The int4 key wraps user ids beyond 2^31, which only matters past two billion users.
    const key = userId | 0;
    let acquired: boolean;
    try {
      const result = await client.query<{ locked: boolean }>(
        "SELECT pg_try_advisory_lock($1, $2) AS locked",
        [MAILDROP_LOCK_CLASS, key],
      );
      acquired = result.rows[0]?.locked === true;
    } catch (error) {
      client.off("error", onError);
      client.release(error as Error);
      throw toStoreError(error, this.server);
    }
    if (!acquired) {
      client.off("error", onError);
      client.release();
      return null;
    }
    let released: Promise<void> | null = null;
    const lock: MaildropLock = {
      release: () => {
        released ??= (async () => {
          this.heldLocks.delete(lock);
          try {
            await client.query("SELECT pg_advisory_unlock($1, $2)", [MAILDROP_LOCK_CLASS, key]);
            client.off("error", onError);
            client.release();
          } catch (error) {
            // Dropping the connection releases the lock all the same.
            client.off("error", onError);
            client.release(error as Error);
          }
        })();
        return released;
      },
    };
    this.heldLocks.add(lock);
    return lock;
  }

  // ---- queue ----

  async claimQueueEntries(now: Date, limit: number, leaseMs: number): Promise<QueueEntry[]> {
    if (limit <= 0) return [];
    const claimedUntil = new Date(now.getTime() + leaseMs);
    const rows = await this.tx(async ({ client }) => {
      // SKIP LOCKED: entries another node is claiming right now are simply not ours to take.
      const result = await client.query<QueueRow>(
        `WITH due AS (
           SELECT id FROM queue
           WHERE (state = 'queued' AND next_attempt_at <= $1) OR (state = 'delivering' AND claimed_until < $1)
           ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
         UPDATE queue q SET state = 'delivering', claimed_until = $3, claimed_by = $4, attempts = q.attempts + 1
         FROM due WHERE q.id = due.id RETURNING q.*`,
        [now, limit, claimedUntil, this.claimer],
      );
      return result.rows;
    });
    return rows
      .map(toQueueEntry)
      .sort((a, b) => a.nextAttemptAt.getTime() - b.nextAttemptAt.getTime() || a.id.localeCompare(b.id));
  }

  async deferQueueEntry(
    id: string,
    nextAttemptAt: Date,
    error: string,
    delayNotified?: boolean,
  ): Promise<void> {
    const rows = await this.read(
      `UPDATE queue SET state = 'queued', next_attempt_at = $2, last_error = $3, claimed_until = NULL,
         delay_notified = coalesce($4, delay_notified)
       WHERE id = $1 RETURNING id`,
      [id, nextAttemptAt, error, delayNotified ?? null],
    );
    if (rows.length === 0) throw new StoreError("not-found", `no queue entry ${id}`);
  }

  async completeQueueEntry(id: string): Promise<void> {
    await this.tx(async (tx) => {
      const removed = await tx.client.query<{ message_id: string }>(
        "DELETE FROM queue WHERE id = $1 RETURNING message_id",
        [id],
      );
      const row = removed.rows[0];
      if (!row) throw new StoreError("not-found", `no queue entry ${id}`);
      await this.dropUnreferencedBlobs(tx, [row.message_id]);
    });
  }

  async getQueueEntry(id: string): Promise<QueueEntry | null> {
    const rows = await this.read<QueueRow>("SELECT * FROM queue WHERE id = $1", [id]);
    return rows[0] ? toQueueEntry(rows[0]) : null;
  }

  async listQueue(): Promise<QueueEntry[]> {
    return (await this.read<QueueRow>("SELECT * FROM queue ORDER BY created_at, id")).map(toQueueEntry);
  }

  async retryQueue(id?: string): Promise<number> {
    const now = new Date();
    const rows =
      id === undefined
        ? await this.read("UPDATE queue SET next_attempt_at = $1 WHERE state = 'queued' RETURNING id", [now])
        : await this.read(
            "UPDATE queue SET next_attempt_at = $1 WHERE state = 'queued' AND id = $2 RETURNING id",
            [now, id],
          );
    return rows.length;
  }

  async renewQueueLeases(ids: readonly string[], until: Date): Promise<string[]> {
    if (ids.length === 0) return [];
    if (!(until instanceof Date) || Number.isNaN(until.getTime()))
      throw new StoreError("invalid", "the lease end must be a valid date");
    const rows = await this.read<{ id: string }>(
      `UPDATE queue SET claimed_until = $2
       WHERE id = ANY($1::text[]) AND state = 'delivering' AND claimed_by = $3 RETURNING id`,
      [[...ids], until, this.claimer],
    );
    return rows.map((row) => row.id);
  }

  // ---- authentication failures shared by all nodes (table auth_failures, schema 5) ----

  async recordAuthFailure(key: string, at: Date, windowMs: number): Promise<number> {
    checkAuthFailureKey(key, at);
    if (!Number.isFinite(windowMs) || windowMs <= 0)
      throw new StoreError("invalid", "the failure window must be a positive number of milliseconds");
    const cutoff = new Date(at.getTime() - windowMs);
    // One statement: prune, insert and count together. The count reads the snapshot taken before the
    // insert, hence the + 1. Pruning takes at most AUTH_FAILURE_PRUNE_BATCH rows per failure, skipping
    // rows another node is pruning right now, so a failure costs bounded work and nodes never wait on
    // each other; since each failure adds one row and removes up to a batch of expired ones, expired rows
    // cannot pile up.
    const rows = await this.read<{ failures: number }>(
      `WITH pruned AS (
         DELETE FROM auth_failures WHERE ctid = ANY (ARRAY(
           SELECT ctid FROM auth_failures WHERE at <= $3 LIMIT ${AUTH_FAILURE_PRUNE_BATCH}
           FOR UPDATE SKIP LOCKED))
       ), recorded AS (
         INSERT INTO auth_failures (key, at) VALUES ($1, $2)
       )
       SELECT count(*)::int + 1 AS failures FROM auth_failures WHERE key = $1 AND at > $3`,
      [key, at, cutoff],
    );
    return rows[0]?.failures ?? 1;
  }

  async recentAuthFailures(key: string, since: Date): Promise<number> {
    checkAuthFailureKey(key, since);
    const rows = await this.read<{ failures: number }>(
      "SELECT count(*)::int AS failures FROM auth_failures WHERE key = $1 AND at > $2",
      [key, since],
    );
    return rows[0]?.failures ?? 0;
  }

  // ---- import (mailroom migrate): bodies in ./import.ts ----

  hasBlobs(messageIds: readonly string[]): Promise<Set<string>> {
    return this.tx(({ client }) => imports.hasBlobs(client, messageIds));
  }

  listExpunged(mailboxId: number): Promise<ExpungedUid[]> {
    return this.tx(({ client }) => imports.listExpunged(client, mailboxId));
  }

  importMailbox(userId: number, mailbox: MailboxImport): Promise<Mailbox> {
    return this.tx(({ client }) => imports.importMailbox(client, userId, mailbox));
  }

  importMessages(mailboxId: number, messages: readonly MessageImport[]): Promise<void> {
    return this.tx(({ client }) => imports.importMessages(client, mailboxId, messages));
  }

  importExpunged(mailboxId: number, expunged: readonly ExpungedUid[]): Promise<void> {
    return this.tx(async (tx) => {
      const bodies = await imports.importExpunged(tx.client, mailboxId, expunged);
      await this.dropUnreferencedBlobs(tx, bodies);
    });
  }

  importQueueEntry(entry: QueueEntry): Promise<void> {
    return this.tx(({ client }) => imports.importQueueEntry(client, entry));
  }
}
