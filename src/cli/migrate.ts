// `mailroom migrate`: mirrors a SQLite installation into PostgreSQL. Each run makes the target match the
// source, copying only what differs, so an operator runs it once while the old node serves (long), then
// stops the node and runs it again (only the delta), then starts nodes on PostgreSQL.

import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { isDeepStrictEqual } from "node:util";
import pino from "pino";
import { openStore } from "../store/open.js";
import { openSqliteStore } from "../store/sqlite/index.js";
import {
  type ExpungedUid,
  type Mailbox,
  type MailboxMessage,
  type MessageImport,
  type QueueEntry,
  type Store,
  StoreError,
  type User,
} from "../store/types.js";
import { parseCommandArgs, stringOption, usageError } from "./args.js";
import { type CliCommand, CliError, type CliIo, ExitCode } from "./command.js";

const HELP_COMMAND = "mailroom migrate --help";

const HELP = `Usage: mailroom migrate --from sqlite:DIR --to postgres://USER:PASSWORD@HOST/DB [--dry-run]

Copy a single-node installation (SQLite) into PostgreSQL: domains, DKIM keys, users (password hashes
as they are), aliases, mailboxes, subscriptions (names without a mailbox too), messages (bytes, UIDs,
UIDVALIDITY, flags, MODSEQ kept) and the outbound queue. The source is only read, and may keep
serving while this runs.

Each run makes the target match the source and copies only what differs, so:
  1. run it while the old node serves (copies everything; may take long),
  2. stop the old node (mailroom serve) and run it again (copies the last changes; seconds),
  3. set store = "postgres://…" in the configuration and start the nodes.
Messages, subscriptions and queue entries gone from the source are removed from the target. A target
mailbox that holds messages under another UIDVALIDITY stops the run before anything is written.

Options:
  --from SOURCE   the data directory of the SQLite installation: sqlite:DIR or just DIR
  --to URL        the PostgreSQL database (default: the MAILROOM_STORE environment variable);
                  its schema is created or upgraded first
  --dry-run       show what would be copied, and write nothing but the schema
  -h, --help      show this help

Progress goes to stderr, the summary to stdout. Exit codes: 0 done, 1 failed (conflict), 64 usage,
66 no source, 69 PostgreSQL unreachable, 75 a store was busy or full (run again).
`;

const migrateOptions = {
  from: { type: "string" },
  to: { type: "string" },
  "dry-run": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** Mailbox entries handled per target transaction. */
const BATCH = 200;
const PROGRESS_INTERVAL_MS = 5000;
const TTY_REDRAW_MS = 100;

export interface MigrationSummary {
  domains: { added: number; unchanged: number };
  dkimKeys: { copied: number; unchanged: number };
  users: { added: number; updated: number; unchanged: number };
  aliases: { added: number; removed: number; unchanged: number };
  mailboxes: { created: number; updated: number; removed: number };
  subscriptions: { added: number; removed: number; unchanged: number };
  messages: { new: number; updated: number; unchanged: number; expunged: number; vanished: number };
  bodies: { copied: number; bytes: number };
  queue: { added: number; updated: number; unchanged: number; removed: number };
  /** Target users the source does not have: left as they are, named so the operator can decide. */
  extraUsers: string[];
}

function emptySummary(): MigrationSummary {
  return {
    domains: { added: 0, unchanged: 0 },
    dkimKeys: { copied: 0, unchanged: 0 },
    users: { added: 0, updated: 0, unchanged: 0 },
    aliases: { added: 0, removed: 0, unchanged: 0 },
    mailboxes: { created: 0, updated: 0, removed: 0 },
    subscriptions: { added: 0, removed: 0, unchanged: 0 },
    messages: { new: 0, updated: 0, unchanged: 0, expunged: 0, vanished: 0 },
    bodies: { copied: 0, bytes: 0 },
    queue: { added: 0, updated: 0, unchanged: 0, removed: 0 },
    extraUsers: [],
  };
}

const count = new Intl.NumberFormat("en-US");

export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** Progress on stderr: one rewritten line on a terminal, else a line every 5 s or every 10 %. */
export class MigrationProgress {
  private done = 0;
  private bytes = 0;
  private lastWrite: number;
  private lastDecile = 0;
  private drawn = false;

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean },
    private readonly total: number,
    private readonly now: () => number = Date.now,
  ) {
    this.lastWrite = now();
  }

  line(): string {
    // The source keeps changing while it is read: a mailbox may hold more than when it was counted.
    const total = Math.max(this.total, this.done);
    const percent = total === 0 ? 100 : Math.floor((this.done * 100) / total);
    return `messages ${count.format(this.done)}/${count.format(total)} (${percent}%) ${formatBytes(this.bytes)}`;
  }

  advance(messages: number, bytes: number): void {
    this.done += messages;
    this.bytes += bytes;
    const now = this.now();
    if (this.out.isTTY) {
      if (this.drawn && now - this.lastWrite < TTY_REDRAW_MS && this.done < this.total) return;
      this.out.write(`\r${this.line()}\x1b[K`);
      this.drawn = true;
      this.lastWrite = now;
      return;
    }
    const decile = this.total === 0 ? 10 : Math.floor((this.done * 10) / this.total);
    if (decile > this.lastDecile || now - this.lastWrite >= PROGRESS_INTERVAL_MS) {
      this.out.write(`${this.line()}\n`);
      this.lastDecile = decile;
      this.lastWrite = now;
    }
  }

  finish(): void {
    if (this.drawn) this.out.write("\n");
  }
}

interface Conflict {
  address: string;
  mailbox: string;
  source: number;
  target: number;
}

/** Mailboxes the target holds with messages under another UIDVALIDITY than the source's. */
async function findConflicts(source: Store, target: Store, users: readonly User[]): Promise<Conflict[]> {
  const conflicts: Conflict[] = [];
  for (const user of users) {
    const targetUser = await target.getUser(user.address);
    if (targetUser === null) continue;
    for (const mailbox of await source.listMailboxes(user.id)) {
      const existing = await target.getMailbox(targetUser.id, mailbox.name);
      if (existing === null || existing.uidValidity === mailbox.uidValidity) continue;
      if ((await target.mailboxStatus(existing.id)).messages === 0) continue;
      conflicts.push({
        address: user.address,
        mailbox: mailbox.name,
        source: mailbox.uidValidity,
        target: existing.uidValidity,
      });
    }
  }
  return conflicts;
}

function sameMessage(a: MailboxMessage, b: MailboxMessage): boolean {
  return (
    a.messageId === b.messageId &&
    a.modseq === b.modseq &&
    a.internalDate.getTime() === b.internalDate.getTime() &&
    isDeepStrictEqual([...a.flags].sort(), [...b.flags].sort())
  );
}

/** What the target would hold after importing the entry (see Store.importQueueEntry). */
function importedQueueEntry(entry: QueueEntry): QueueEntry {
  if (entry.state !== "delivering") return entry;
  return {
    ...entry,
    state: "queued",
    nextAttemptAt: entry.claimedUntil ?? entry.nextAttemptAt,
    claimedUntil: null,
  };
}

function sameQueueEntry(a: QueueEntry, b: QueueEntry): boolean {
  return isDeepStrictEqual(
    { ...a, createdAt: a.createdAt.getTime(), nextAttemptAt: a.nextAttemptAt.getTime(), claimedUntil: null },
    { ...b, createdAt: b.createdAt.getTime(), nextAttemptAt: b.nextAttemptAt.getTime(), claimedUntil: null },
  );
}

class Mirror {
  readonly summary = emptySummary();
  private progress!: MigrationProgress;

  constructor(
    private readonly source: Store,
    private readonly target: Store,
    private readonly dryRun: boolean,
    private readonly stderr: CliIo["stderr"],
  ) {}

  async run(): Promise<MigrationSummary> {
    const { source, target } = this;
    const users = await source.listUsers();
    const conflicts = await findConflicts(source, target, users);
    if (conflicts.length > 0) {
      const lines = conflicts.map(
        (c) =>
          `  ${c.address} mailbox "${c.mailbox}": UIDVALIDITY ${c.target} in the target, ${c.source} in the source`,
      );
      throw new CliError(
        `the target already holds other messages in ${conflicts.length === 1 ? "a mailbox" : "mailboxes"} of the source:\n${lines.join("\n")}\n` +
          "nothing was copied; migrate into an empty database, or remove these users from the target first " +
          "(mailroom user remove, with MAILROOM_STORE set to the target)",
        ExitCode.failure,
      );
    }
    await this.domains();
    await this.users(users);
    await this.aliases();
    let total = 0;
    for (const user of users) {
      for (const mailbox of await source.listMailboxes(user.id)) {
        total += (await source.mailboxStatus(mailbox.id)).messages;
      }
    }
    this.progress = new MigrationProgress(this.stderr, total);
    for (const user of users) {
      await this.mailboxesOf(user);
      await this.subscriptionsOf(user);
    }
    await this.queue();
    this.progress.finish();
    return this.summary;
  }

  private async domains(): Promise<void> {
    for (const domain of await this.source.listDomains()) {
      if ((await this.target.getDomain(domain.name)) === null) {
        this.summary.domains.added++;
        if (!this.dryRun) await this.target.addDomain(domain.name);
      } else {
        this.summary.domains.unchanged++;
      }
      const key = await this.source.getDkimKey(domain.name);
      if (key === null) continue;
      const existing = await this.target.getDkimKey(domain.name);
      const same =
        existing !== null &&
        existing.selector === key.selector &&
        existing.privateKeyPem === key.privateKeyPem &&
        existing.algorithm === key.algorithm;
      if (same) {
        this.summary.dkimKeys.unchanged++;
        continue;
      }
      this.summary.dkimKeys.copied++;
      if (!this.dryRun) {
        await this.target.setDkimKey(domain.name, {
          selector: key.selector,
          privateKeyPem: key.privateKeyPem,
          algorithm: key.algorithm,
        });
      }
    }
  }

  private async users(users: readonly User[]): Promise<void> {
    const wanted = new Set(users.map((user) => user.address));
    for (const user of users) {
      // Credentials are copied as stored: scrypt hash and SCRAM verifier, never re-derived.
      const credentials = { passwordHash: user.passwordHash, scramSha256: user.scramSha256 };
      const existing = await this.target.getUser(user.address);
      if (existing === null) {
        this.summary.users.added++;
        if (!this.dryRun) await this.target.addUser(user.address, credentials);
      } else if (
        existing.passwordHash !== credentials.passwordHash ||
        existing.scramSha256 !== credentials.scramSha256
      ) {
        this.summary.users.updated++;
        if (!this.dryRun) await this.target.setCredentials(user.address, credentials);
      } else {
        this.summary.users.unchanged++;
      }
    }
    for (const user of await this.target.listUsers()) {
      if (!wanted.has(user.address)) this.summary.extraUsers.push(user.address);
    }
  }

  private async aliases(): Promise<void> {
    const key = (alias: { source: string; destination: string }) => `${alias.source}\n${alias.destination}`;
    const wanted = await this.source.listAliases();
    const present = new Set((await this.target.listAliases()).map(key));
    for (const alias of wanted) {
      if (present.delete(key(alias))) {
        this.summary.aliases.unchanged++;
        continue;
      }
      this.summary.aliases.added++;
      if (!this.dryRun) await this.target.addAlias(alias.source, alias.destination);
    }
    for (const extra of present) {
      const [from, to] = extra.split("\n") as [string, string];
      this.summary.aliases.removed++;
      if (!this.dryRun) await this.target.removeAlias(from, to);
    }
  }

  private async mailboxesOf(user: User): Promise<void> {
    const targetUser = await this.target.getUser(user.address);
    const sourceMailboxes = await this.source.listMailboxes(user.id);
    const names = new Set(sourceMailboxes.map((mailbox) => mailbox.name));
    for (const mailbox of sourceMailboxes) {
      const existing = targetUser === null ? null : await this.target.getMailbox(targetUser.id, mailbox.name);
      if (existing === null) this.summary.mailboxes.created++;
      else if (
        existing.uidValidity !== mailbox.uidValidity ||
        existing.uidNext !== mailbox.uidNext ||
        existing.highestModseq !== mailbox.highestModseq ||
        existing.subscribed !== mailbox.subscribed ||
        existing.specialUse !== mailbox.specialUse
      ) {
        this.summary.mailboxes.updated++;
      }
      let into: Mailbox | null = existing;
      if (!this.dryRun && targetUser !== null) {
        into = await this.target.importMailbox(targetUser.id, {
          name: mailbox.name,
          specialUse: mailbox.specialUse,
          subscribed: mailbox.subscribed,
          uidValidity: mailbox.uidValidity,
          uidNext: mailbox.uidNext,
          highestModseq: mailbox.highestModseq,
        });
      }
      await this.messages(mailbox, into !== null && into.uidValidity === mailbox.uidValidity ? into : null);
    }
    if (targetUser === null) return;
    for (const extra of await this.target.listMailboxes(targetUser.id)) {
      if (names.has(extra.name) || extra.name === "INBOX") continue;
      this.summary.mailboxes.removed++;
      if (!this.dryRun) await this.target.deleteMailbox(targetUser.id, extra.name);
    }
  }

  /**
   * Subscriptions are names apart from mailboxes (RFC 9051 §6.3.9): a name subscribed in the source
   * whose mailbox is gone is copied too, so LIST (SUBSCRIBED) still shows it as \NonExistent.
   */
  private async subscriptionsOf(user: User): Promise<void> {
    const targetUser = await this.target.getUser(user.address);
    const present = new Set(targetUser === null ? [] : await this.target.listSubscriptions(targetUser.id));
    for (const name of await this.source.listSubscriptions(user.id)) {
      if (present.delete(name)) {
        this.summary.subscriptions.unchanged++;
        continue;
      }
      this.summary.subscriptions.added++;
      if (!this.dryRun && targetUser !== null) await this.target.setSubscribed(targetUser.id, name, true);
    }
    for (const name of present) {
      this.summary.subscriptions.removed++;
      if (!this.dryRun && targetUser !== null) await this.target.setSubscribed(targetUser.id, name, false);
    }
  }

  /** `into` is null in a dry run for a mailbox the target does not have yet. */
  private async messages(from: Mailbox, into: Mailbox | null): Promise<void> {
    const wanted = await this.source.listMessages(from.id);
    const present = new Map(
      (into === null ? [] : await this.target.listMessages(into.id)).map((message) => [message.uid, message]),
    );
    for (let start = 0; start < wanted.length; start += BATCH) {
      const batch = wanted.slice(start, start + BATCH);
      const changed = batch.filter((message) => {
        const current = present.get(message.uid);
        if (current === undefined) return true;
        if (sameMessage(current, message)) {
          this.summary.messages.unchanged++;
          return false;
        }
        return true;
      });
      const imports: MessageImport[] = [];
      let bytes = 0;
      const have = await this.target.hasBlobs(changed.map((message) => message.messageId));
      for (const message of changed) {
        if (!have.has(message.messageId)) {
          const copied = await this.copyBody(message.messageId);
          if (copied === null) {
            // Expunged in the source after it was listed: the next run records the expunge.
            this.summary.messages.vanished++;
            continue;
          }
          have.add(message.messageId);
          bytes += copied;
        }
        if (present.has(message.uid)) this.summary.messages.updated++;
        else this.summary.messages.new++;
        imports.push({
          uid: message.uid,
          blob: { id: message.messageId, size: message.size },
          flags: message.flags,
          internalDate: message.internalDate,
          modseq: message.modseq,
        });
      }
      if (!this.dryRun && into !== null && imports.length > 0)
        await this.target.importMessages(into.id, imports);
      this.progress.advance(batch.length, bytes);
    }
    await this.expunged(from, into, new Set(wanted.map((message) => message.uid)), present);
  }

  private async expunged(
    from: Mailbox,
    into: Mailbox | null,
    sourceUids: Set<number>,
    present: Map<number, MailboxMessage>,
  ): Promise<void> {
    const history = await this.source.listExpunged(from.id);
    const recorded = new Map(
      (into === null ? [] : await this.target.listExpunged(into.id)).map((entry) => [
        entry.uid,
        entry.modseq,
      ]),
    );
    const byUid = new Map(history.map((entry) => [entry.uid, entry.modseq]));
    const updates: ExpungedUid[] = history.filter((entry) => recorded.get(entry.uid) !== entry.modseq);
    for (const uid of present.keys()) {
      if (sourceUids.has(uid)) continue;
      this.summary.messages.expunged++;
      // Gone from the source without a history row (it was listed before the expunge): the source's
      // HIGHESTMODSEQ is at or above the expunge's MODSEQ, so QRESYNC clients still learn of it.
      if (!byUid.has(uid)) updates.push({ uid, modseq: from.highestModseq });
    }
    if (!this.dryRun && into !== null && updates.length > 0)
      await this.target.importExpunged(into.id, updates);
  }

  /** Copies one body, keeping its id; its size, or null when the source no longer has it. */
  private async copyBody(id: string): Promise<number | null> {
    if (this.dryRun) {
      // Counted by streaming the source's bytes: nothing is written, nothing held in memory.
      return this.sizeInSource(id);
    }
    const writer = await this.target.createBlobWriter({ id });
    try {
      for await (const chunk of this.source.readBlob(id)) await writer.write(chunk as Uint8Array);
      const ref = await writer.finish();
      this.summary.bodies.copied++;
      this.summary.bodies.bytes += ref.size;
      return ref.size;
    } catch (error) {
      await writer.abort().catch(() => {});
      if (error instanceof StoreError && error.code === "not-found") return null;
      throw error;
    }
  }

  private async sizeInSource(id: string): Promise<number | null> {
    try {
      let size = 0;
      for await (const chunk of this.source.readBlob(id)) size += (chunk as Uint8Array).byteLength;
      this.summary.bodies.copied++;
      this.summary.bodies.bytes += size;
      return size;
    } catch (error) {
      if (error instanceof StoreError && error.code === "not-found") return null;
      throw error;
    }
  }

  private async queue(): Promise<void> {
    const wanted = (await this.source.listQueue()).map(importedQueueEntry);
    const present = new Map((await this.target.listQueue()).map((entry) => [entry.id, entry]));
    const have = await this.target.hasBlobs(wanted.map((entry) => entry.messageId));
    for (const entry of wanted) {
      const current = present.get(entry.id);
      present.delete(entry.id);
      if (current !== undefined && sameQueueEntry(current, entry)) {
        this.summary.queue.unchanged++;
        continue;
      }
      if (!have.has(entry.messageId)) {
        if ((await this.copyBody(entry.messageId)) === null) continue; // delivered meanwhile
        have.add(entry.messageId);
      }
      if (current === undefined) this.summary.queue.added++;
      else this.summary.queue.updated++;
      if (!this.dryRun) await this.target.importQueueEntry(entry);
    }
    for (const id of present.keys()) {
      this.summary.queue.removed++;
      if (!this.dryRun) await this.target.completeQueueEntry(id);
    }
  }
}

/** Makes `target` match `source` (see the command's help); returns what it did or would do. */
export function mirrorStore(
  source: Store,
  target: Store,
  options: { dryRun?: boolean; progress: CliIo["stderr"] },
): Promise<MigrationSummary> {
  return new Mirror(source, target, options.dryRun === true, options.progress).run();
}

export function formatSummary(summary: MigrationSummary, seconds: number, dryRun: boolean): string {
  const s = summary;
  const n = (value: number) => count.format(value);
  const lines = [
    dryRun
      ? "dry run: nothing was copied; a run would make these changes:"
      : `done in ${seconds.toFixed(1)} s`,
    `  domains    ${n(s.domains.added)} added, ${n(s.domains.unchanged)} unchanged`,
    `  dkim keys  ${n(s.dkimKeys.copied)} copied, ${n(s.dkimKeys.unchanged)} unchanged`,
    `  users      ${n(s.users.added)} added, ${n(s.users.updated)} updated, ${n(s.users.unchanged)} unchanged`,
    `  aliases    ${n(s.aliases.added)} added, ${n(s.aliases.removed)} removed, ${n(s.aliases.unchanged)} unchanged`,
    `  mailboxes  ${n(s.mailboxes.created)} created, ${n(s.mailboxes.updated)} updated, ${n(s.mailboxes.removed)} removed`,
    `  subscriptions ${n(s.subscriptions.added)} added, ${n(s.subscriptions.removed)} removed, ${n(s.subscriptions.unchanged)} unchanged`,
    `  messages   ${n(s.messages.new)} new, ${n(s.messages.updated)} updated, ${n(s.messages.unchanged)} unchanged, ${n(s.messages.expunged)} expunged`,
    `  bodies     ${n(s.bodies.copied)} copied (${formatBytes(s.bodies.bytes)})`,
    `  queue      ${n(s.queue.added)} added, ${n(s.queue.updated)} updated, ${n(s.queue.unchanged)} unchanged, ${n(s.queue.removed)} removed`,
  ];
  if (s.messages.vanished > 0) {
    lines.push(
      `  ${n(s.messages.vanished)} message(s) went from the source while copying; run again to settle`,
    );
  }
  if (s.extraUsers.length > 0) {
    lines.push(`  left alone: users only the target has: ${s.extraUsers.join(", ")}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The data directory named by --from: "sqlite:DIR" or a bare directory. */
export function sourceDirectory(from: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(from)) {
    throw usageError(
      `--from must name a SQLite data directory (sqlite:DIR), not ${from.split(":")[0]}://…`,
      HELP_COMMAND,
    );
  }
  const dir = from.startsWith("sqlite:") ? from.slice("sqlite:".length) : from;
  if (dir.length === 0)
    throw usageError("--from sqlite: needs a directory, e.g. sqlite:/var/lib/mailroom", HELP_COMMAND);
  return resolve(dir);
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "the --to URL";
  }
}

async function openSource(dir: string): Promise<Store> {
  const database = join(dir, "mailroom.db");
  try {
    await stat(database);
  } catch {
    throw new CliError(
      `no mailroom database at ${database}; point --from at the data directory of the installation (data_dir in its configuration)`,
      ExitCode.noInput,
    );
  }
  try {
    return await openSqliteStore({ dataDir: dir, logger: pino({ level: "silent" }) });
  } catch (error) {
    if (error instanceof StoreError) {
      throw new CliError(`cannot open the source ${dir}: ${error.message}`, ExitCode.noInput);
    }
    throw error;
  }
}

async function openTarget(url: string): Promise<Store> {
  try {
    return await openStore({ store: url, dataDir: "", logger: pino({ level: "silent" }) });
  } catch (error) {
    if (error instanceof StoreError) {
      throw new CliError(
        `cannot open the target ${redact(url)}: ${error.message.replace("store in the config", "the --to URL")}`,
        error.code === "invalid" ? ExitCode.usage : ExitCode.unavailable,
      );
    }
    throw error;
  }
}

async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, migrateOptions, HELP_COMMAND);
  if (values.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  if (positionals.length > 0) throw usageError(`unexpected argument '${positionals[0]}'`, HELP_COMMAND);
  const from = stringOption(values, "from");
  if (from === undefined) throw usageError("missing --from sqlite:DIR", HELP_COMMAND);
  const to = stringOption(values, "to") ?? io.env.MAILROOM_STORE;
  if (to === undefined || to === "") {
    throw usageError("missing --to postgres://… (or set MAILROOM_STORE)", HELP_COMMAND);
  }
  if (!/^postgres(ql)?:\/\//i.test(to)) {
    throw usageError(`--to must be a PostgreSQL URL like postgres://user:password@host/db`, HELP_COMMAND);
  }
  const dryRun = values["dry-run"] === true;
  const dir = sourceDirectory(from);
  const started = Date.now();
  const source = await openSource(dir);
  try {
    const target = await openTarget(to);
    try {
      io.stderr.write(`${dryRun ? "checking" : "copying"} sqlite:${dir} → ${redact(to)}\n`);
      const summary = await mirrorStore(source, target, { dryRun, progress: io.stderr });
      io.stdout.write(formatSummary(summary, (Date.now() - started) / 1000, dryRun));
      return ExitCode.ok;
    } catch (error) {
      if (error instanceof StoreError && (error.code === "unavailable" || error.code === "full")) {
        throw new CliError(
          `${error.message}\nwhat was copied so far stays; run mailroom migrate again to continue`,
          error.code === "full" ? ExitCode.tempFail : ExitCode.unavailable,
        );
      }
      throw error;
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

export const migrateCommand: CliCommand = {
  name: "migrate",
  summary: "copy a SQLite installation into PostgreSQL (re-runnable mirror)",
  help: HELP,
  run,
};
