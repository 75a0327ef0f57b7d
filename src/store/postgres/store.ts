// The Store on PostgreSQL, for several mailroom nodes sharing one database. Every method is one
// transaction. Numbers IMAP exposes are allocated under the mailbox row's lock (UPDATE … RETURNING), so
// nodes never hand out the same UID or MODSEQ; mailboxes are always locked in id order, and the rare
// deadlock or serialization failure left is retried. Events travel through NOTIFY (see events.ts).
// The parts share one PostgresDatabase (database.ts): its pools, its transactions and its event bus.

import type pg from "pg";
import type { Store } from "../types.js";
import { PostgresAuthFailures } from "./auth-failures.js";
import { PostgresBlobs } from "./blobs.js";
import { PostgresDatabase, type PostgresDatabaseOptions } from "./database.js";
import { PostgresDirectory } from "./directory.js";
import { PostgresEmails } from "./emails.js";
import type { NotifyEventBus } from "./events.js";
import { PostgresGreylist, PostgresSpamScans } from "./filter.js";
import { PostgresIdentities } from "./identities.js";
import { PostgresImports } from "./import.js";
import { PostgresLocks } from "./locks.js";
import { PostgresMailboxes } from "./mailboxes.js";
import { PostgresMessages } from "./messages.js";
import { PostgresMetadata } from "./metadata.js";
import { PostgresMtaSts } from "./mta-sts.js";
import { PostgresPushSubscriptions } from "./push-subscriptions.js";
import { PostgresQueue } from "./queue.js";
import { PostgresQuotas } from "./quotas.js";
import { PostgresSearchIndex } from "./search-index.js";
import { PostgresSieveScripts } from "./sieve-scripts.js";
import { PostgresSubmissions } from "./submissions.js";
import { PostgresTraces } from "./traces.js";
import { PostgresUrlAuthKeys } from "./url-auth-keys.js";
import { PostgresVacation } from "./vacation.js";

export class PostgresStore implements Store {
  readonly kind = "postgres";
  readonly directory: PostgresDirectory;
  readonly mailboxes: PostgresMailboxes;
  readonly messages: PostgresMessages;
  readonly emails: PostgresEmails;
  readonly blobs: PostgresBlobs;
  readonly queue: PostgresQueue;
  readonly identities: PostgresIdentities;
  readonly submissions: PostgresSubmissions;
  readonly locks: PostgresLocks;
  readonly vacation: PostgresVacation;
  readonly metadata: PostgresMetadata;
  readonly urlAuthKeys: PostgresUrlAuthKeys;
  readonly sieveScripts: PostgresSieveScripts;
  readonly mtaSts: PostgresMtaSts;
  readonly spamScans: PostgresSpamScans;
  readonly greylist: PostgresGreylist;
  readonly quotas: PostgresQuotas;
  readonly pushSubscriptions: PostgresPushSubscriptions;
  readonly events: NotifyEventBus;
  readonly imports: PostgresImports;
  readonly search: PostgresSearchIndex;
  readonly traces: PostgresTraces;
  /** PostgreSQL serves several nodes, so failures are counted where all of them see them. */
  readonly authFailures: PostgresAuthFailures;
  private readonly database: PostgresDatabase;
  private maintenance: Promise<void> = Promise.resolve();

  constructor(options: PostgresDatabaseOptions) {
    this.database = new PostgresDatabase(options);
    this.directory = new PostgresDirectory(this.database);
    this.mailboxes = new PostgresMailboxes(this.database);
    this.messages = new PostgresMessages(this.database);
    this.emails = new PostgresEmails(this.database);
    this.blobs = new PostgresBlobs(this.database);
    this.queue = new PostgresQueue(this.database);
    this.identities = new PostgresIdentities(this.database);
    this.submissions = new PostgresSubmissions(this.database);
    this.locks = new PostgresLocks(this.database);
    this.vacation = new PostgresVacation(this.database);
    this.metadata = new PostgresMetadata(this.database);
    this.urlAuthKeys = new PostgresUrlAuthKeys(this.database);
    this.sieveScripts = new PostgresSieveScripts(this.database);
    this.mtaSts = new PostgresMtaSts(this.database);
    this.spamScans = new PostgresSpamScans(this.database);
    this.greylist = new PostgresGreylist(this.database);
    this.quotas = new PostgresQuotas(this.database);
    this.pushSubscriptions = new PostgresPushSubscriptions(this.database);
    this.events = this.database.events;
    this.imports = new PostgresImports(this.database);
    this.search = new PostgresSearchIndex(this.database);
    this.traces = new PostgresTraces(this.database);
    this.authFailures = new PostgresAuthFailures(this.database);
  }

  /** The client for migrations at open; released by the caller. */
  connect(): Promise<pg.PoolClient> {
    return this.database.pool.connect();
  }

  async start(): Promise<void> {
    await this.events.start();
    this.maintenance = this.database.sweepOrphanBlobs();
  }

  async close(): Promise<void> {
    await this.maintenance;
    await this.locks.releaseAll();
    await this.events.close();
    await this.database.end();
  }
}
