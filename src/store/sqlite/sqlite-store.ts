// The embedded store: one SQLite file in WAL mode for metadata, one file per message body.
// better-sqlite3 is synchronous, so each method runs its whole transaction in one turn of the event
// loop; nothing else can interleave with it inside this process, and BEGIN IMMEDIATE plus busy_timeout
// serialise it against other processes (the admin CLI) sharing the file.
//
// The parts share one SqliteDatabase (./database.ts). What only this backend has stays here: the sweep
// of orphaned body files, and close(), which lets accepted work finish first. It serves one node, so it
// has no authFailures part.

import type Database from "better-sqlite3";
import type { Logger } from "pino";
import type { FileBlobStore, OrphanSweepResult } from "../blobs/file-blob-store.js";
import type {
  BlobStore,
  DirectoryStore,
  EmailStore,
  IdentityStore,
  ImportStore,
  LockStore,
  MailboxEvents,
  MailboxStore,
  MessageStore,
  PushSubscriptionStore,
  QueueStore,
  SearchIndex,
  Store,
  SubmissionStore,
} from "../types.js";
import { SqliteBlobs } from "./blobs.js";
import { SqliteDatabase } from "./database.js";
import { SqliteDirectory } from "./directory.js";
import { SqliteEmails } from "./emails.js";
import { EventBus } from "./event-bus.js";
import { SqliteGreylist, SqliteSpamScans } from "./filter.js";
import { GroupCommit, type GroupCommitOptions } from "./group-commit.js";
import { SqliteIdentities } from "./identities.js";
import { SqliteImports } from "./import.js";
import { SqliteLocks } from "./locks.js";
import { SqliteMailboxes } from "./mailboxes.js";
import { SqliteMessages } from "./messages.js";
import { SqliteMetadata } from "./metadata.js";
import { SqliteMtaSts } from "./mta-sts.js";
import { SqlitePushSubscriptions } from "./push-subscriptions.js";
import { SqliteQueue } from "./queue.js";
import { SqliteQuotas } from "./quotas.js";
import { SqliteSearchIndex } from "./search-index.js";
import { SqliteSieveScripts } from "./sieve-scripts.js";
import { SqliteSubmissions } from "./submissions.js";
import { SqliteTraces } from "./traces.js";
import { SqliteUrlAuthKeys } from "./url-auth-keys.js";
import { SqliteVacation } from "./vacation.js";

/**
 * A body file no row names is swept only once it is this old: a younger one may belong to a delivery
 * still in flight here or in another process (the admin CLI and the server share the data directory).
 */
export const ORPHAN_BODY_GRACE_MS = 24 * 60 * 60 * 1000;
/** An open store sweeps orphaned body files at open and then this often. */
const ORPHAN_SWEEP_INTERVAL_MS = 24 * 60 * 60 * 1000;

export class SqliteStore implements Store {
  readonly kind = "sqlite";
  readonly directory: DirectoryStore;
  readonly mailboxes: MailboxStore;
  readonly messages: MessageStore;
  readonly emails: EmailStore;
  readonly blobs: BlobStore;
  readonly queue: QueueStore;
  readonly identities: IdentityStore;
  readonly submissions: SubmissionStore;
  readonly locks: LockStore;
  readonly vacation: SqliteVacation;
  readonly metadata: SqliteMetadata;
  readonly urlAuthKeys: SqliteUrlAuthKeys;
  readonly sieveScripts: SqliteSieveScripts;
  readonly mtaSts: SqliteMtaSts;
  readonly spamScans: SqliteSpamScans;
  readonly greylist: SqliteGreylist;
  readonly quotas: SqliteQuotas;
  readonly pushSubscriptions: PushSubscriptionStore;
  readonly events: MailboxEvents;
  readonly imports: ImportStore;
  readonly search: SearchIndex;
  readonly traces: SqliteTraces;
  private readonly database: SqliteDatabase;
  private readonly groupCommit: GroupCommit;
  /** The last sweep of orphaned body files started; each waits for the one before, so none overlap. */
  private orphanSweep: Promise<OrphanSweepResult> = Promise.resolve({ files: 0, bytes: 0 });
  private orphanSweepRunning = false;
  private readonly orphanSweepTimer: ReturnType<typeof setInterval>;

  constructor(
    db: Database.Database,
    dbPath: string,
    files: FileBlobStore,
    private readonly logger: Logger,
    groupCommit: Partial<GroupCommitOptions> = {},
  ) {
    const events = new EventBus(logger);
    this.events = events;
    this.database = new SqliteDatabase(db, dbPath, files, events);
    const blobs = new SqliteBlobs(this.database);
    this.blobs = blobs;
    this.groupCommit = new GroupCommit(this.database, blobs, logger, groupCommit);
    this.directory = new SqliteDirectory(this.database);
    this.mailboxes = new SqliteMailboxes(this.database);
    this.messages = new SqliteMessages(this.database, blobs, this.groupCommit);
    this.emails = new SqliteEmails(this.database);
    this.queue = new SqliteQueue(this.database);
    this.identities = new SqliteIdentities(this.database);
    this.submissions = new SqliteSubmissions(this.database);
    this.locks = new SqliteLocks(this.database);
    this.vacation = new SqliteVacation(this.database);
    this.metadata = new SqliteMetadata(this.database);
    this.urlAuthKeys = new SqliteUrlAuthKeys(this.database);
    this.sieveScripts = new SqliteSieveScripts(this.database);
    this.mtaSts = new SqliteMtaSts(this.database);
    this.spamScans = new SqliteSpamScans(this.database);
    this.greylist = new SqliteGreylist(this.database);
    this.quotas = new SqliteQuotas(this.database);
    this.pushSubscriptions = new SqlitePushSubscriptions(this.database);
    this.imports = new SqliteImports(this.database, blobs);
    this.search = new SqliteSearchIndex(this.database, blobs);
    this.traces = new SqliteTraces(this.database);
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
      if (this.database.closed) return { files: 0, bytes: 0 };
      this.orphanSweepRunning = true;
      try {
        const removed = await this.database.files.sweepOrphans({
          cutoff: (options.now ?? Date.now()) - (options.graceMs ?? ORPHAN_BODY_GRACE_MS),
          referenced: (ids) => this.referencedBodies(ids),
          stop: () => this.database.closed,
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

  /** The ids among `ids` that a message row or an upload names. */
  private referencedBodies(ids: string[]): Set<string> {
    // Once closing, the database may be gone: keeping everything is the safe answer.
    if (this.database.closed) return new Set(ids);
    const rows = this.database.all<{ id: string }>(
      `SELECT id FROM messages WHERE id IN (SELECT value FROM json_each(?))
       UNION SELECT blob_id FROM uploads WHERE blob_id IN (SELECT value FROM json_each(?))`,
      JSON.stringify(ids),
      JSON.stringify(ids),
    );
    const referenced = new Set(rows.map((row) => row.id));
    // Unreferenced by a commit not yet durable: a power loss could bring the row back.
    for (const id of ids) if (this.database.awaitsDurability(id)) referenced.add(id);
    return referenced;
  }

  async close(): Promise<void> {
    if (this.database.closed) return;
    this.database.stopAccepting();
    clearInterval(this.orphanSweepTimer);
    await this.orphanSweep;
    await this.database.settleInflight();
    await this.groupCommit.drain();
    await this.database.settleRelaxed();
    await this.database.walSync.close();
    this.database.close();
  }
}
