// The DeliveryAgent behind SMTP: recipient verdicts from routing, and the single-transaction commit of
// an accepted message to local mailboxes and the outbound queue.

import type { Readable } from "node:stream";
import type { Logger } from "pino";
import { parseAddresses } from "../mail/address-list.js";
import { headerFields, toCrlf } from "../mail/compose.js";
import { authorAddress, signMessage } from "../mail/dkim.js";
import type { DsnRecipient } from "../mail/dsn.js";
import { readHeaderBlock, skipOctets } from "../mail/headers.js";
import { sendNotice } from "../queue/bounce.js";
import type { VacationAction } from "../sieve/index.js";
import type {
  BlobRef,
  BlobWriter,
  DeliveryResult,
  QueueInput,
  RecipientDsn,
  Store,
  TraceEventInput,
  User,
} from "../store/types.js";
import { HEADER_BLOCK_LIMIT, StoreError } from "../store/types.js";
import { type Refusal, refusalReplyText, sendRefusalNotices } from "./refusal.js";
import { ownsAddress, resolveRecipient, splitAddress } from "./route.js";
import { KEEP, messageForScripts, planDelivery, type SievePlan } from "./sieve.js";
import { traceEvents } from "./trace.js";
import {
  type AcceptedMessage,
  type DeliveryAgent,
  type RecipientContext,
  type RecipientVerdict,
  ScriptRefusal,
  type SenderVerdict,
  type SignedMessage,
  type SigningContext,
} from "./types.js";
import { type DeliveredMessage, sendAutoReplies, sendScriptReply } from "./vacation.js";

/**
 * The store parts a delivery agent works with: routing, mailboxes, the commit, bodies and signing, and
 * the recipients' vacation settings, storage quotas and Sieve scripts.
 */
export type DeliveryStore = Pick<
  Store,
  | "directory"
  | "mailboxes"
  | "messages"
  | "blobs"
  | "vacation"
  | "quotas"
  | "sieveScripts"
  | "traces"
  | "spamScans"
>;

export function createDeliveryAgent(options: {
  store: DeliveryStore;
  logger: Logger;
  hostname?: string;
  /** Called after a commit that queued remote recipients, so the relay can start at once. */
  onQueued?: () => void;
  /**
   * Milliseconds between two vacation auto-replies to one sender ([smtp] vacation_period); without it,
   * no auto-replies are sent.
   */
  vacationPeriod?: number;
}): DeliveryAgent {
  const { store, logger } = options;
  const hostname = options.hostname ?? "localhost";

  /** Whether every one of these users is at or over their storage limit; a failed lookup counts as room. */
  async function allFull(users: readonly User[]): Promise<boolean> {
    for (const user of users) {
      try {
        // Most users have no limit: then the usage sum (every entry of theirs) is not read at all.
        if ((await store.quotas.getLimit(user.id)) === null) return false;
        const quota = await store.quotas.getQuota(user.id);
        if (quota.limit === null || quota.used < quota.limit) return false;
      } catch (err) {
        logger.warn({ err, user: user.address }, "quota lookup failed; taking the mail");
        return false;
      }
    }
    return true;
  }

  async function checkRecipient(address: string, context: RecipientContext): Promise<RecipientVerdict> {
    let resolution: Awaited<ReturnType<typeof resolveRecipient>>;
    try {
      resolution = await resolveRecipient(store, address);
    } catch (err) {
      logger.warn({ err, to: address }, "recipient lookup failed");
      return {
        kind: "reject",
        code: 451,
        enhanced: "4.3.0",
        text: `<${address}>: temporary failure looking up this recipient; try again later`,
      };
    }
    if (resolution.truncated.length > 0) {
      logger.warn({ to: address, cutAt: resolution.truncated }, "alias chain too deep; cut short");
    }
    if (resolution.localDomain) {
      if (
        resolution.users.length > 0 &&
        resolution.remote.length === 0 &&
        (await allFull(resolution.users))
      ) {
        // RFC 3463 5.2.2 mailbox full; 552 as RFC 5321 §4.2.3 has it for exceeded storage. Mail for an
        // alias that still reaches someone with room is taken (and may take the others over their limit).
        return {
          kind: "reject",
          code: 552,
          enhanced: "5.2.2",
          text: `<${address}>: mailbox full; the recipient must delete mail before more can arrive`,
        };
      }
      if (resolution.users.length > 0 || resolution.remote.length > 0) return { kind: "local" };
      return { kind: "reject", code: 550, enhanced: "5.1.1", text: `<${address}>: no such user here` };
    }
    // Only authenticated users may relay: anything else would make this an open relay.
    if (context.authenticated) return { kind: "remote" };
    return { kind: "reject", code: 554, enhanced: "5.7.1", text: `<${address}>: relay access denied` };
  }

  /**
   * The mailbox a script files into: created for :create (RFC 5490 §3.2), else INBOX when it does not
   * exist (RFC 5228 §4.1: a fileinto that cannot be done is a keep), logged.
   */
  async function scriptMailbox(user: User, target: SievePlan["file"][number]) {
    const found = await store.mailboxes.getMailbox(user.id, target.mailbox);
    if (found !== null || target.mailbox === "INBOX") return found;
    if (target.create) {
      try {
        return await store.mailboxes.createMailbox(user.id, target.mailbox);
      } catch (err) {
        // Another delivery may have created it meanwhile; any other refusal (a bad name) is a keep.
        const raced = await store.mailboxes.getMailbox(user.id, target.mailbox);
        if (raced !== null) return raced;
        logger.warn(
          { err, user: user.address, mailbox: target.mailbox },
          "sieve: mailbox not created; kept in INBOX",
        );
        return null;
      }
    }
    logger.info({ user: user.address, mailbox: target.mailbox }, "sieve: no such mailbox; kept in INBOX");
    return null;
  }

  /** The user's mailbox with the \\Junk special use (RFC 6154), if any. */
  async function junkMailbox(user: User) {
    const all = await store.mailboxes.listMailboxes(user.id);
    return all.find((mailbox) => mailbox.specialUse === "\\Junk") ?? null;
  }

  async function commit(message: AcceptedMessage): Promise<DeliveryResult> {
    const mailboxes: Array<{ mailboxId: number; flags: string[] }> = [];
    const delivered: DsnRecipient[] = [];
    const seenUsers = new Set<number>();
    const localRecipients: Array<DeliveredMessage["recipients"][number]> = [];
    const queue: QueueInput[] = [];
    const queued = new Set<string>();
    const at = message.receivedAt;
    const trace: TraceEventInput[] = [];
    // The session came first: before the RCPT refusals it saw.
    const began = new Date(
      Math.min(at.getTime(), ...(message.refused ?? []).map((each) => each.at.getTime())),
    );
    if (message.origin) trace.push(traceEvents.session(began, message.sender, message.origin));
    for (const refusal of message.refused ?? []) {
      trace.push(traceEvents.refused(refusal.at, refusal.address, refusal.reply));
    }

    if (message.holdUntil !== undefined) return hold(message, message.holdUntil, trace);

    for (const recipient of message.recipients) {
      const resolution = await resolveRecipient(store, recipient.address);
      trace.push(traceEvents.accepted(at, recipient.address.trim().toLowerCase()));
      for (const step of resolution.steps) trace.push(traceEvents.route(at, step.via, step.from, step.to));
      if (resolution.users.length === 0 && resolution.remote.length === 0) {
        // Accepted at RCPT time but gone since (user or alias removed): refuse rather than drop it.
        throw new StoreError("not-found", `<${recipient.address}>: no longer exists here`);
      }
      for (const user of resolution.users) {
        if (seenUsers.has(user.id)) continue;
        seenUsers.add(user.id);
        localRecipients.push({ user, address: recipient.address.trim().toLowerCase() });
      }
      const given = recipient.address.trim().toLowerCase();
      if (resolution.users.length > 0 && recipient.dsn?.notify?.includes("SUCCESS")) {
        delivered.push({
          finalRecipient: given,
          ...(recipient.dsn.orcpt !== undefined ? { originalRecipient: recipient.dsn.orcpt } : {}),
          action: "delivered",
          status: "2.0.0",
          diagnostic: "delivered to the recipient's mailbox",
          diagnosticType: "x-mailroom",
        });
      }
      for (const target of resolution.remote) {
        if (queued.has(target)) continue;
        queued.add(target);
        queue.push({ recipient: target, dsn: forwardedDsn(recipient.dsn, given, target) });
        trace.push(traceEvents.queued(at, target));
      }
    }

    // Read only when some recipient has an active script; unreadable, every script is a keep.
    const bytes =
      localRecipients.length === 0
        ? null
        : await messageForScripts(
            store,
            localRecipients.map(({ user }) => user),
            message.blob.id,
          ).catch((err: unknown) => {
            logger.warn({ err, messageId: message.blob.id }, "sieve: message unreadable; scripts not run");
            return null;
          });
    const kept: typeof localRecipients = [];
    const refusals: Refusal[] = [];
    const scriptReplies: Array<{ local: (typeof localRecipients)[number]; action: VacationAction }> = [];
    for (const local of localRecipients) {
      const { user } = local;
      const plan =
        bytes === null
          ? KEEP
          : await planDelivery({ store, logger }, user, bytes, {
              from: message.sender,
              to: local.address,
              ...(message.spam ? { spam: message.spam } : {}),
            });
      const inbox = await store.mailboxes.getMailbox(user.id, "INBOX");
      if (!inbox) throw new StoreError("not-found", `${user.address} has no INBOX`);
      // Quarantine (DMARC p=quarantine) turns the keep into Junk; without a Junk mailbox it stays a keep.
      const keep = message.junk ? ((await junkMailbox(user)) ?? inbox) : inbox;
      if (plan !== KEEP) {
        trace.push(
          traceEvents.sieve(at, user.address, {
            file: plan.file.map((target) => target.mailbox),
            redirect: plan.redirect,
            discard: plan.file.length === 0 && plan.reject === null,
            reject: plan.reject === null ? null : plan.reject.extended ? "ereject" : "reject",
            notDone: plan.unsupported,
          }),
        );
      }
      for (const target of plan.file) {
        const mailbox = target.mailbox === "INBOX" ? keep : ((await scriptMailbox(user, target)) ?? inbox);
        trace.push(
          traceEvents.mailbox(at, user.address, mailbox.name, mailbox.id !== inbox.id && mailbox === keep),
        );
        const twin = mailboxes.find((entry) => entry.mailboxId === mailbox.id);
        if (twin === undefined) mailboxes.push({ mailboxId: mailbox.id, flags: target.flags });
        else twin.flags = [...new Set([...twin.flags, ...target.flags])];
      }
      if (plan.reject !== null) refusals.push({ ...local, ...plan.reject });
      // A script's vacation answers instead of the VacationResponse: one reply per message (RFC 3834 §2).
      if (plan.vacation !== null) scriptReplies.push({ local, action: plan.vacation });
      else if (plan.file.length > 0) kept.push(local);
      for (const target of plan.redirect) {
        const address = target.toLowerCase();
        if (queued.has(address)) continue;
        queued.add(address);
        queue.push({ recipient: address });
        trace.push(traceEvents.queued(at, address));
      }
    }
    if (
      message.canRefuse &&
      refusals.length > 0 &&
      refusals.length === localRecipients.length &&
      queue.length === 0
    ) {
      // RFC 5429 §2.1.1: refused in the SMTP dialogue, so the sending server reports it (ereject must be
      // refused so when it can be; reject may). Nothing is committed.
      logger.info(
        { messageId: message.blob.id, recipients: refusals.map((each) => each.address) },
        "sieve: rejected by every recipient's script",
      );
      throw new ScriptRefusal(refusalReplyText(refusals[0]!.reason));
    }
    const refused = async (messageId: string) => {
      if (refusals.length === 0 || bytes === null) return;
      await sendRefusalNotices(
        { store, logger, hostname, ...(options.onQueued ? { onQueued: options.onQueued } : {}) },
        {
          messageId,
          sender: message.sender,
          envelopeDsn: message.envelopeDsn ?? {},
          receivedAt: message.receivedAt,
          bytes,
        },
        refusals,
      );
    };
    if (mailboxes.length === 0 && queue.length === 0) {
      // Every recipient's script discarded or rejected it (RFC 5228 §4.5): accepted, and stored nowhere.
      logger.info({ messageId: message.blob.id }, "sieve: discarded or rejected for every recipient");
      await refused(message.blob.id);
      await recordTrace(message.blob.id, trace);
      return { messageId: message.blob.id, uids: [], queueIds: [] };
    }

    const result = await store.messages.deliver({
      blob: message.blob,
      sender: message.sender,
      internalDate: message.receivedAt,
      mailboxes,
      queue,
      ...(message.envelopeDsn ? { envelopeDsn: message.envelopeDsn } : {}),
      trace,
    });
    logger.debug(
      { messageId: result.messageId, mailboxes: mailboxes.length, queued: queue.length },
      "message committed",
    );
    if (message.spam) {
      // After the commit: the message is safe already, and a scan that cannot be kept is only logged.
      await store.spamScans
        .recordScan(result.messageId, message.spam)
        .catch((err: unknown) =>
          logger.warn({ err, messageId: result.messageId }, "the spam scan could not be stored"),
        );
    }
    if (queue.length > 0) options.onQueued?.();
    if (delivered.length > 0) {
      // RFC 3461 §5.2.2: as the final MTA for these recipients we owe the success notice they asked for.
      // The message is already committed; a notice that cannot be made is logged, never a reason to fail.
      const subject = {
        messageId: result.messageId,
        sender: message.sender,
        envelopeDsn: message.envelopeDsn ?? {},
        createdAt: message.receivedAt,
      };
      const sentAt = new Date();
      const notice = await sendNotice(
        { store, logger, hostname, deliver: (input) => store.messages.deliver(input) },
        subject,
        delivered,
        sentAt,
      ).catch((err: unknown) => {
        logger.warn({ err, messageId: result.messageId }, "success notice could not be sent");
        return null;
      });
      if (notice !== null) {
        const recipients = delivered.map((each) => each.finalRecipient);
        await recordTrace(result.messageId, [traceEvents.dsn(sentAt, notice, "delivered", recipients)]);
      }
    }
    await refused(result.messageId);
    for (const { local, action } of scriptReplies) {
      await sendScriptReply(
        { store, logger, ...(options.onQueued ? { onQueued: options.onQueued } : {}) },
        { messageId: result.messageId, sender: message.sender },
        local,
        action,
      );
    }
    if (options.vacationPeriod !== undefined && kept.length > 0) {
      await sendAutoReplies(
        {
          store,
          logger,
          period: options.vacationPeriod,
          ...(options.onQueued ? { onQueued: options.onQueued } : {}),
        },
        { messageId: result.messageId, sender: message.sender, recipients: kept },
      );
    }
    return result;
  }

  /**
   * A held message (RFC 4865): one queue entry per recipient, due at the release time. A recipient of a
   * local domain is queued as given, marked local, so that at release the runner commits it through
   * this agent as if it had just arrived (routing, Sieve, quotas, vacation then); remote ones as the
   * relay sends them. Nothing reaches a mailbox now.
   */
  async function hold(
    message: AcceptedMessage,
    until: Date,
    trace: TraceEventInput[],
  ): Promise<DeliveryResult> {
    const at = message.receivedAt;
    const queue: QueueInput[] = [];
    const queued = new Set<string>();
    trace.push(traceEvents.held(at, until));
    for (const recipient of message.recipients) {
      const given = recipient.address.trim().toLowerCase();
      const resolution = await resolveRecipient(store, recipient.address);
      trace.push(traceEvents.accepted(at, given));
      if (resolution.users.length === 0 && resolution.remote.length === 0) {
        throw new StoreError("not-found", `<${recipient.address}>: no longer exists here`);
      }
      const targets = resolution.localDomain
        ? [{ recipient: given, local: true, dsn: recipient.dsn }]
        : resolution.remote.map((target) => ({
            recipient: target,
            local: false,
            dsn: forwardedDsn(recipient.dsn, given, target),
          }));
      for (const target of targets) {
        if (queued.has(target.recipient)) continue;
        queued.add(target.recipient);
        queue.push({
          recipient: target.recipient,
          ...(target.dsn ? { dsn: target.dsn } : {}),
          ...(target.local ? { local: true } : {}),
        });
        trace.push(traceEvents.queued(at, target.recipient, target.local));
      }
    }
    const result = await store.messages.deliver({
      blob: message.blob,
      sender: message.sender,
      internalDate: message.receivedAt,
      mailboxes: [],
      queue,
      holdUntil: until,
      ...(message.envelopeDsn ? { envelopeDsn: message.envelopeDsn } : {}),
      trace,
    });
    logger.debug(
      { messageId: result.messageId, queued: queue.length, until: until.toISOString() },
      "message held for future release",
    );
    options.onQueued?.();
    return result;
  }

  /** Trace events outside a delivery's transaction; a failure is logged, never the caller's. */
  async function recordTrace(messageId: string, events: TraceEventInput[]): Promise<void> {
    await store.traces
      .record(messageId, events)
      .catch((err: unknown) => logger.warn({ err, messageId }, "trace events not recorded"));
  }

  async function checkSender(address: string, context: RecipientContext): Promise<SenderVerdict> {
    const user = context.authenticated;
    // RFC 5321 §4.5.5 and RFC 8098 §2.1: notifications (a read receipt from the user's mail program
    // among them) are sent with the null reverse path, so <> stays open to authenticated users.
    if (user === null || address === "") return { kind: "accept" };
    let owned: boolean;
    try {
      owned = await ownsAddress(store, address, user);
    } catch (err) {
      logger.warn({ err, from: address }, "sender lookup failed");
      return {
        kind: "reject",
        code: 451,
        enhanced: "4.3.0",
        text: `<${address}>: temporary failure checking this sender; try again later`,
      };
    }
    if (owned) return { kind: "accept" };
    return {
      kind: "reject",
      code: 550,
      enhanced: "5.7.1",
      text: `<${address}>: not owned by user ${user.address}; send from your own address or one of its aliases`,
    };
  }

  async function checkHeaderSenders(blob: BlobRef, context: RecipientContext): Promise<SenderVerdict> {
    const user = context.authenticated;
    if (user === null) return { kind: "accept" };
    const refuse = (text: string): SenderVerdict => ({ kind: "reject", code: 550, enhanced: "5.7.1", text });
    try {
      const block = await readHeaderBlock(store.blobs.readBlob(blob.id), HEADER_BLOCK_LIMIT);
      if (block.length < blob.size && !/\n\r?\n$/.test(block.toString("latin1"))) {
        return refuse(
          `the header section is longer than ${HEADER_BLOCK_LIMIT} octets, so its From: cannot be checked; shorten the header`,
        );
      }
      // Bare CR or LF count as line ends here, so no field can hide inside another one's line.
      for (const [name, value] of headerFields(toCrlf(block).toString("utf8"))) {
        const field = AUTHOR_FIELDS.get(name.toLowerCase());
        if (field === undefined) continue;
        const addresses = parseAddresses(value);
        if (addresses.length === 0) {
          return refuse(`the ${field} header names no address; put your own address (${user.address}) there`);
        }
        for (const address of addresses) {
          if (!(await ownsAddress(store, address, user))) {
            return refuse(
              `the ${field} header names <${address}>, which is not an address of user ${user.address}; put your own address or one of its aliases there`,
            );
          }
        }
      }
      return { kind: "accept" };
    } catch (err) {
      logger.warn({ err, messageId: blob.id }, "header sender check failed");
      return {
        kind: "reject",
        code: 451,
        enhanced: "4.3.0",
        text: "temporary failure checking the From: header; try again later",
      };
    }
  }

  async function sign(blob: BlobRef, context: SigningContext): Promise<SignedMessage | null> {
    const author = authorAddress(await readHeaderBlock(store.blobs.readBlob(blob.id)));
    const domain = author === null ? null : splitAddress(author)?.domain;
    if (!author || !domain) return null;
    const key = await store.directory.getDkimKey(domain).catch((err: unknown) => {
      if (err instanceof StoreError && err.code === "invalid") return null;
      throw err;
    });
    if (key === null) return null;
    // Signing a From: the user does not own would lend the domain's name to a forgery.
    if (!(await ownsAddress(store, author, context.authenticated))) {
      logger.info(
        { from: author, user: context.authenticated.address },
        "not DKIM-signed: From: not the user's",
      );
      return null;
    }
    const signature = await signMessage(store.blobs.readBlob(blob.id), domain, key);
    const writer = await store.blobs.createBlobWriter();
    try {
      const prefix = Buffer.concat([context.traceFor(writer.id), Buffer.from(signature)]);
      await copyReplacingPrefix(store.blobs.readBlob(blob.id), writer, context.traceLength, prefix);
      return { blob: await writer.finish(), discard: () => writer.abort() };
    } catch (err) {
      await writer.abort().catch(() => undefined);
      throw err;
    }
  }

  return {
    checkRecipient,
    checkSender,
    checkHeaderSenders,
    sign,
    commit,
    createBlobWriter: (): Promise<BlobWriter> => store.blobs.createBlobWriter(),
  };
}

/**
 * The header fields whose addresses must all be the user's, and how replies name them: the author
 * (RFC 5322 §3.6.2) and, when present, who sent it on the author's behalf. Every occurrence counts, so a
 * second From: cannot slip past the first.
 */
const AUTHOR_FIELDS: ReadonlyMap<string, string> = new Map([
  ["from", "From:"],
  ["sender", "Sender:"],
]);

/** Streams `source` into `writer` with its first `skip` octets replaced by `prefix`. */
async function copyReplacingPrefix(
  source: Readable,
  writer: BlobWriter,
  skip: number,
  prefix: Buffer,
): Promise<void> {
  await writer.write(prefix);
  for await (const chunk of skipOctets(source, skip)) await writer.write(chunk);
}

/**
 * The DSN parameters a queue entry carries. When an alias sent the message on to another address, the
 * original recipient is kept as ORCPT, so a bounce names the address the sender actually used
 * (RFC 3461 §4.2: ORCPT "is to be used to convey the original recipient address").
 */
function forwardedDsn(
  dsn: RecipientDsn | undefined,
  given: string,
  target: string,
): RecipientDsn | undefined {
  if (given === target) return dsn;
  return { ...dsn, orcpt: dsn?.orcpt ?? `rfc822;${given}` };
}
