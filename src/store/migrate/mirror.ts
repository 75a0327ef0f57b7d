// The migration engine behind `mailroom migrate`: makes one store match another, copying only what
// differs, so a run against a live source can be repeated for the delta. It reads the source with the
// ordinary parts and writes the target with them and the import family, which keeps ids, UIDs,
// UIDVALIDITY and MODSEQs as clients and logs have seen them.

import { isDeepStrictEqual } from "node:util";
import {
  type ExpungedUid,
  type Mailbox,
  type MailboxMessage,
  type MessageImport,
  type MetadataChange,
  type QueueEntry,
  type Store,
  StoreError,
  type User,
} from "../types.js";

/** Mailbox entries handled per target transaction. */
const BATCH = 200;

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
  vacation: { copied: number; unchanged: number };
  quotas: { copied: number; unchanged: number };
  /** JMAP identities and EmailSubmissions, matched by content: they get new ids in the target. */
  identities: { added: number; unchanged: number };
  submissions: { added: number; unchanged: number };
  sieveScripts: { copied: number; removed: number; unchanged: number };
  /** IMAP METADATA entries, on mailboxes and the server. */
  metadata: { copied: number; removed: number; unchanged: number };
  /** URLAUTH access keys of mailboxes, so URLs signed before the move still resolve after it. */
  urlAuthKeys: { copied: number; removed: number; unchanged: number };
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
    vacation: { copied: 0, unchanged: 0 },
    quotas: { copied: 0, unchanged: 0 },
    identities: { added: 0, unchanged: 0 },
    submissions: { added: 0, unchanged: 0 },
    sieveScripts: { copied: 0, removed: 0, unchanged: 0 },
    metadata: { copied: 0, removed: 0, unchanged: 0 },
    urlAuthKeys: { copied: 0, removed: 0, unchanged: 0 },
    extraUsers: [],
  };
}

/** Told how far the copy of mailbox entries has come, for a progress display. */
export interface MirrorProgress {
  /** Messages the source holds when counted; it may change while it is read. */
  start(totalMessages: number): void;
  advance(messages: number, bytes: number): void;
  finish(): void;
}

/** Target mailboxes that hold other messages under another UIDVALIDITY than the source's. */
export class MirrorConflict extends Error {
  constructor(readonly conflicts: readonly Conflict[]) {
    super(`${conflicts.length} target mailbox(es) hold other messages under another UIDVALIDITY`);
    this.name = "MirrorConflict";
  }
}

export interface Conflict {
  address: string;
  mailbox: string;
  source: number;
  target: number;
}

/** Mailboxes the target holds with messages under another UIDVALIDITY than the source's. */
async function findConflicts(source: Store, target: Store, users: readonly User[]): Promise<Conflict[]> {
  const conflicts: Conflict[] = [];
  for (const user of users) {
    const targetUser = await target.directory.getUser(user.address);
    if (targetUser === null) continue;
    for (const mailbox of await source.mailboxes.listMailboxes(user.id)) {
      const existing = await target.mailboxes.getMailbox(targetUser.id, mailbox.name);
      if (existing === null || existing.uidValidity === mailbox.uidValidity) continue;
      if ((await target.mailboxes.mailboxStatus(existing.id)).messages === 0) continue;
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
    a.emailId === b.emailId &&
    a.threadId === b.threadId &&
    a.internalDate.getTime() === b.internalDate.getTime() &&
    a.savedDate.getTime() === b.savedDate.getTime() &&
    isDeepStrictEqual([...a.flags].sort(), [...b.flags].sort())
  );
}

/** What the target would hold after importing the entry (see ImportStore.importQueueEntry). */
function importedQueueEntry(entry: QueueEntry): QueueEntry {
  if (entry.state !== "delivering") return entry;
  return {
    ...entry,
    state: "queued",
    nextAttemptAt: entry.claimedUntil ?? entry.nextAttemptAt,
    claimedUntil: null,
  };
}

const times = (entry: QueueEntry) => ({
  createdAt: entry.createdAt.getTime(),
  nextAttemptAt: entry.nextAttemptAt.getTime(),
  holdUntil: entry.holdUntil?.getTime() ?? null,
});

function sameQueueEntry(a: QueueEntry, b: QueueEntry): boolean {
  return isDeepStrictEqual(
    { ...a, ...times(a), claimedUntil: null },
    { ...b, ...times(b), claimedUntil: null },
  );
}

class Mirror {
  readonly summary = emptySummary();

  constructor(
    private readonly source: Store,
    private readonly target: Store,
    private readonly dryRun: boolean,
    private readonly progress: MirrorProgress,
  ) {}

  async run(): Promise<MigrationSummary> {
    const { source, target } = this;
    const users = await source.directory.listUsers();
    const conflicts = await findConflicts(source, target, users);
    if (conflicts.length > 0) throw new MirrorConflict(conflicts);
    await this.domains();
    await this.users(users);
    await this.aliases();
    let total = 0;
    for (const user of users) {
      for (const mailbox of await source.mailboxes.listMailboxes(user.id)) {
        total += (await source.mailboxes.mailboxStatus(mailbox.id)).messages;
      }
    }
    this.progress.start(total);
    for (const user of users) {
      await this.mailboxesOf(user);
      await this.subscriptionsOf(user);
      await this.vacationOf(user);
      await this.quotaOf(user);
      await this.sieveScriptsOf(user);
      await this.metadataOf(user);
      await this.urlAuthKeysOf(user);
      await this.accountOf(user);
      await this.identitiesOf(user);
      await this.submissionsOf(user);
    }
    await this.queue();
    this.progress.finish();
    return this.summary;
  }

  private async domains(): Promise<void> {
    for (const domain of await this.source.directory.listDomains()) {
      if ((await this.target.directory.getDomain(domain.name)) === null) {
        this.summary.domains.added++;
        if (!this.dryRun) await this.target.directory.addDomain(domain.name);
      } else {
        this.summary.domains.unchanged++;
      }
      const key = await this.source.directory.getDkimKey(domain.name);
      if (key === null) continue;
      const existing = await this.target.directory.getDkimKey(domain.name);
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
        await this.target.directory.setDkimKey(domain.name, {
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
      const existing = await this.target.directory.getUser(user.address);
      if (existing === null) {
        this.summary.users.added++;
        if (!this.dryRun) {
          await this.target.directory.addUser(user.address, credentials, {
            admin: user.admin,
            name: user.name,
          });
          if (user.disabled) await this.target.directory.setDisabled(user.address, true);
        }
      } else if (
        existing.passwordHash !== credentials.passwordHash ||
        existing.scramSha256 !== credentials.scramSha256 ||
        existing.admin !== user.admin ||
        existing.disabled !== user.disabled ||
        existing.name !== user.name
      ) {
        this.summary.users.updated++;
        if (!this.dryRun) {
          await this.target.directory.setCredentials(user.address, credentials);
          await this.target.directory.setAdmin(user.address, user.admin);
          await this.target.directory.setDisabled(user.address, user.disabled);
          await this.target.directory.setName(user.address, user.name);
        }
      } else {
        this.summary.users.unchanged++;
      }
    }
    for (const user of await this.target.directory.listUsers()) {
      if (!wanted.has(user.address)) this.summary.extraUsers.push(user.address);
    }
  }

  private async aliases(): Promise<void> {
    const key = (alias: { source: string; destination: string }) => `${alias.source}\n${alias.destination}`;
    const wanted = await this.source.directory.listAliases();
    const present = new Set((await this.target.directory.listAliases()).map(key));
    for (const alias of wanted) {
      if (present.delete(key(alias))) {
        this.summary.aliases.unchanged++;
        continue;
      }
      this.summary.aliases.added++;
      if (!this.dryRun) await this.target.directory.addAlias(alias.source, alias.destination);
    }
    for (const extra of present) {
      const [from, to] = extra.split("\n") as [string, string];
      this.summary.aliases.removed++;
      if (!this.dryRun) await this.target.directory.removeAlias(from, to);
    }
  }

  private async mailboxesOf(user: User): Promise<void> {
    const targetUser = await this.target.directory.getUser(user.address);
    const sourceMailboxes = await this.source.mailboxes.listMailboxes(user.id);
    const names = new Set(sourceMailboxes.map((mailbox) => mailbox.name));
    for (const mailbox of sourceMailboxes) {
      const existing =
        targetUser === null ? null : await this.target.mailboxes.getMailbox(targetUser.id, mailbox.name);
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
        into = await this.target.imports.importMailbox(targetUser.id, {
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
    for (const extra of await this.target.mailboxes.listMailboxes(targetUser.id)) {
      if (names.has(extra.name) || extra.name === "INBOX") continue;
      this.summary.mailboxes.removed++;
      if (!this.dryRun) await this.target.mailboxes.deleteMailbox(targetUser.id, extra.name);
    }
  }

  /** The account's MODSEQ and email id counters, so ids and states given in the source stay unique. */
  /** Live identities only: their tombstones mean nothing to a client of the target, whose state starts anew. */
  private identitiesOf(user: User): Promise<void> {
    return this.byContent(
      user,
      this.summary.identities,
      async (store, userId) => (await store.identities.list(userId)).identities,
      ({ id: _, ...fields }) => fields,
      (userId, fields) => this.target.identities.create(userId, fields),
    );
  }

  /** Message ids are kept by the import, so a copied submission still hears its recipients' outcomes. */
  private submissionsOf(user: User): Promise<void> {
    return this.byContent(
      user,
      this.summary.submissions,
      async (store, userId) => (await store.submissions.list(userId)).submissions,
      ({ id: _, ...fields }) => fields,
      (userId, fields) => this.target.submissions.create(userId, fields),
      // The relay's later outcomes do not make a submission another one.
      ({ deliveryStatus: __, ...rest }) => rest,
    );
  }

  /** Copies the user's objects the target lacks, compared by their fields without the id. */
  private async byContent<T extends { id: number }, F>(
    user: User,
    counts: { added: number; unchanged: number },
    list: (store: Store, userId: number) => Promise<T[]>,
    fieldsOf: (object: T) => F,
    create: (userId: number, fields: F) => Promise<unknown>,
    compared: (fields: F) => unknown = (fields) => fields,
  ): Promise<void> {
    const targetUser = await this.target.directory.getUser(user.address);
    const key = (object: T) => JSON.stringify(compared(fieldsOf(object)));
    const present = new Set(targetUser === null ? [] : (await list(this.target, targetUser.id)).map(key));
    for (const object of await list(this.source, user.id)) {
      if (present.has(key(object))) {
        counts.unchanged++;
        continue;
      }
      counts.added++;
      if (!this.dryRun && targetUser !== null) await create(targetUser.id, fieldsOf(object));
    }
  }

  private async accountOf(user: User): Promise<void> {
    const targetUser = await this.target.directory.getUser(user.address);
    if (this.dryRun || targetUser === null) return;
    await this.target.imports.importAccountCounters(
      targetUser.id,
      await this.source.imports.accountCounters(user.id),
    );
  }

  /**
   * Subscriptions are names apart from mailboxes (RFC 9051 §6.3.9): a name subscribed in the source
   * whose mailbox is gone is copied too, so LIST (SUBSCRIBED) still shows it as \NonExistent.
   */
  private async subscriptionsOf(user: User): Promise<void> {
    const targetUser = await this.target.directory.getUser(user.address);
    const present = new Set(
      targetUser === null ? [] : await this.target.mailboxes.listSubscriptions(targetUser.id),
    );
    for (const name of await this.source.mailboxes.listSubscriptions(user.id)) {
      if (present.delete(name)) {
        this.summary.subscriptions.unchanged++;
        continue;
      }
      this.summary.subscriptions.added++;
      if (!this.dryRun && targetUser !== null)
        await this.target.mailboxes.setSubscribed(targetUser.id, name, true);
    }
    for (const name of present) {
      this.summary.subscriptions.removed++;
      if (!this.dryRun && targetUser !== null)
        await this.target.mailboxes.setSubscribed(targetUser.id, name, false);
    }
  }

  /**
   * The vacation setting. The reply log is not copied: at worst a sender gets one more auto-reply
   * after the move, which RFC 3834 §2's once-per-period rule tolerates.
   */
  private async vacationOf(user: User): Promise<void> {
    const setting = await this.source.vacation.getVacation(user.id);
    const targetUser = await this.target.directory.getUser(user.address);
    const current = targetUser === null ? null : await this.target.vacation.getVacation(targetUser.id);
    if (current !== null && isDeepStrictEqual(current, setting)) {
      this.summary.vacation.unchanged++;
      return;
    }
    this.summary.vacation.copied++;
    if (!this.dryRun && targetUser !== null) await this.target.vacation.setVacation(targetUser.id, setting);
  }

  /** The storage limit (the usage follows from the messages). */
  private async quotaOf(user: User): Promise<void> {
    const { limit } = await this.source.quotas.getQuota(user.id);
    const targetUser = await this.target.directory.getUser(user.address);
    const current = targetUser === null ? null : (await this.target.quotas.getQuota(targetUser.id)).limit;
    if (targetUser !== null && current === limit) {
      this.summary.quotas.unchanged++;
      return;
    }
    this.summary.quotas.copied++;
    if (!this.dryRun && targetUser !== null) await this.target.quotas.setQuota(targetUser.id, limit);
  }

  /** The user's Sieve scripts, with which one is active; scripts only the target has go. */
  private async sieveScriptsOf(user: User): Promise<void> {
    const wanted = await this.source.sieveScripts.listScripts(user.id);
    const targetUser = await this.target.directory.getUser(user.address);
    const present = targetUser === null ? [] : await this.target.sieveScripts.listScripts(targetUser.id);
    const write = !this.dryRun && targetUser !== null;
    const counts = this.summary.sieveScripts;
    for (const script of wanted) {
      const current = present.find((other) => other.name === script.name);
      if (current !== undefined && isDeepStrictEqual(current, script)) {
        counts.unchanged++;
        continue;
      }
      counts.copied++;
      if (write) await this.target.sieveScripts.putScript(targetUser.id, script.name, script.source);
    }
    for (const script of present) {
      if (wanted.some((other) => other.name === script.name)) continue;
      counts.removed++;
      if (write) await this.target.sieveScripts.deleteScript(targetUser.id, script.name);
    }
    const active = wanted.find((script) => script.active)?.name ?? null;
    if (write && active !== (present.find((script) => script.active)?.name ?? null)) {
      await this.target.sieveScripts.activateScript(targetUser.id, active);
    }
  }

  /**
   * The METADATA entries of the server and of each mailbox (matched by name, after mailboxesOf made
   * them); entries only the target has go. The target's entry limit does not apply to a copy.
   */
  private async metadataOf(user: User): Promise<void> {
    const targetUser = await this.target.directory.getUser(user.address);
    const everything = ["/private", "/shared"];
    const places: Array<{ from: number | null; name: string | null }> = [{ from: null, name: null }];
    for (const mailbox of await this.source.mailboxes.listMailboxes(user.id)) {
      places.push({ from: mailbox.id, name: mailbox.name });
    }
    const counts = this.summary.metadata;
    for (const { from, name } of places) {
      const wanted = await this.source.metadata.getMetadata(user.id, from, everything, "infinity");
      let into: number | null = null;
      if (targetUser !== null && name !== null) {
        into = (await this.target.mailboxes.getMailbox(targetUser.id, name))?.id ?? null;
        if (into === null) {
          counts.copied += wanted.length;
          continue;
        }
      }
      const present =
        targetUser === null
          ? []
          : await this.target.metadata.getMetadata(targetUser.id, into, everything, "infinity");
      const changes: MetadataChange[] = [];
      for (const entry of wanted) {
        const current = present.find((other) => other.entry === entry.entry);
        if (current?.value.equals(entry.value)) counts.unchanged++;
        else changes.push(entry);
      }
      for (const entry of present) {
        if (!wanted.some((other) => other.entry === entry.entry))
          changes.push({ entry: entry.entry, value: null });
      }
      counts.copied += changes.filter((change) => change.value !== null).length;
      counts.removed += changes.filter((change) => change.value === null).length;
      if (!this.dryRun && targetUser !== null && changes.length > 0) {
        await this.target.metadata.setMetadata(targetUser.id, into, changes, Number.MAX_SAFE_INTEGER);
      }
    }
  }

  /**
   * Each mailbox's URLAUTH key (matched by name), so a URL signed before the move still resolves: the
   * target keeps the UIDVALIDITY and UIDs, and the token depends on nothing else. A key only the target
   * has goes, as RESETKEY would.
   */
  private async urlAuthKeysOf(user: User): Promise<void> {
    const targetUser = await this.target.directory.getUser(user.address);
    const counts = this.summary.urlAuthKeys;
    for (const mailbox of await this.source.mailboxes.listMailboxes(user.id)) {
      const wanted = await this.source.urlAuthKeys.accessKey(user.id, mailbox.id, null);
      const into =
        targetUser === null ? null : await this.target.mailboxes.getMailbox(targetUser.id, mailbox.name);
      const present =
        targetUser === null || into === null
          ? null
          : await this.target.urlAuthKeys.accessKey(targetUser.id, into.id, null);
      if (wanted === null ? present === null : present?.equals(wanted)) {
        if (wanted !== null) counts.unchanged++;
        continue;
      }
      if (wanted === null) counts.removed++;
      else counts.copied++;
      if (this.dryRun || targetUser === null || into === null) continue;
      if (present !== null) await this.target.urlAuthKeys.resetAccessKeys(targetUser.id, into.id);
      if (wanted !== null) await this.target.urlAuthKeys.accessKey(targetUser.id, into.id, wanted);
    }
  }

  /** `into` is null in a dry run for a mailbox the target does not have yet. */
  private async messages(from: Mailbox, into: Mailbox | null): Promise<void> {
    const wanted = await this.source.messages.listMessages(from.id);
    const present = new Map(
      (into === null ? [] : await this.target.messages.listMessages(into.id)).map((message) => [
        message.uid,
        message,
      ]),
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
      const have = await this.target.imports.hasBlobs(changed.map((message) => message.messageId));
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
          savedDate: message.savedDate,
          modseq: message.modseq,
          emailId: message.emailId,
          threadId: message.threadId,
        });
      }
      if (!this.dryRun && into !== null && imports.length > 0)
        await this.target.imports.importMessages(into.id, imports);
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
    const history = await this.source.imports.listExpunged(from.id);
    const recorded = new Map(
      (into === null ? [] : await this.target.imports.listExpunged(into.id)).map((entry) => [
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
      await this.target.imports.importExpunged(into.id, updates);
  }

  /** Copies one body, keeping its id; its size, or null when the source no longer has it. */
  private async copyBody(id: string): Promise<number | null> {
    if (this.dryRun) {
      // Counted by streaming the source's bytes: nothing is written, nothing held in memory.
      return this.sizeInSource(id);
    }
    const writer = await this.target.blobs.createBlobWriter({ id });
    try {
      for await (const chunk of this.source.blobs.readBlob(id)) await writer.write(chunk as Uint8Array);
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
      for await (const chunk of this.source.blobs.readBlob(id)) size += (chunk as Uint8Array).byteLength;
      this.summary.bodies.copied++;
      this.summary.bodies.bytes += size;
      return size;
    } catch (error) {
      if (error instanceof StoreError && error.code === "not-found") return null;
      throw error;
    }
  }

  private async queue(): Promise<void> {
    const wanted = (await this.source.queue.list()).map(importedQueueEntry);
    const present = new Map((await this.target.queue.list()).map((entry) => [entry.id, entry]));
    const have = await this.target.imports.hasBlobs(wanted.map((entry) => entry.messageId));
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
      if (!this.dryRun) await this.target.imports.importQueueEntry(entry);
    }
    for (const id of present.keys()) {
      this.summary.queue.removed++;
      if (!this.dryRun) await this.target.queue.complete(id);
    }
  }
}

/**
 * Makes `target` match `source`, copying only what differs; returns what it did or, with dryRun, would
 * do. Throws MirrorConflict, having written nothing, when a target mailbox holds other messages.
 */
export function mirrorStore(
  source: Store,
  target: Store,
  options: { dryRun?: boolean; progress?: MirrorProgress } = {},
): Promise<MigrationSummary> {
  const progress = options.progress ?? { start() {}, advance() {}, finish() {} };
  return new Mirror(source, target, options.dryRun === true, progress).run();
}
