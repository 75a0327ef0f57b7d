// The queue runner (accept → queue → scheduler → transport): claims due queue entries, groups them per
// message and recipient domain, relays each group in one SMTP transaction, and records every
// recipient's outcome — delivered, retried later with backoff, or returned to the sender.
//
// Crash safety: an entry is recorded before and after each attempt. The lease taken by
// claimQueueEntries is the "before"; completeQueueEntry/deferQueueEntry right after the remote's reply
// is the "after". A crash between the remote's 250 and that record leaves the entry leased; once the
// lease runs out another runner sends it again. That duplicate is the price of never losing mail, which
// RFC 5321 §6.1 asks for: a receiver must not lose a message it accepted, duplicates are tolerable.
//
// Long deliveries: while a group is being relayed its leases are renewed every lease/3, so a slow remote
// does not let the lease run out and another node send the same message in parallel. An entry whose
// renewal reports it no longer held (its lease ran out anyway, e.g. the database was unreachable, and
// another runner took it over) has its outcome left unrecorded: the runner now holding it records its
// own, and recording both would complete or defer the entry twice and send duplicate notices.
//
// One notice per message (issue 16; RFC 3464 reports many recipients in one): a message's entries are
// grouped per recipient domain, and the notices its groups call for are gathered until no group of that
// message is waiting or being delivered by this runner; then one report per kind (failed, delayed,
// relayed) lists them all. The entries a gathered notice reports on are recorded only after it is
// committed, as before (a crash repeats a notice rather than losing it), and their leases are renewed
// while they wait. A recipient that fails at a later retry, when the rest are done, gets a later notice.

import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";
import type { Logger } from "pino";
import { splitAddress } from "../delivery/route.js";
import { createTraceRecorder, traceEvents } from "../delivery/trace.js";
import type { DsnRecipient } from "../mail/dsn.js";
import type { Metrics } from "../metrics/metrics.js";
import type { DeliveryInput, DeliveryResult, QueueEntry, Store } from "../store/types.js";
import { loadOutgoing } from "./body.js";
import { outgoingBody, sendNotice } from "./bounce.js";
import { createCompleteBatch } from "./complete-batch.js";
import type { RelayConfig } from "./config.js";
import { type CachedResolve, createDnsResolver } from "./dns.js";
import { createMxLookup, type MxLookup } from "./mx.js";
import { dueForDelayNotice, hasExpired, queuedSince, retryDelay, wantsNotice } from "./retry.js";
import { fetchStsPolicy } from "./sts-fetch.js";
import { StsPolicies } from "./sts-policy.js";
import { previousUtcDay, sendTlsReports, type TlsReportRun, utcDay } from "./tls-reporter.js";
import {
  type Connect,
  type RecipientResult,
  RelayTransport,
  type Transport,
  type TransportSts,
} from "./transport.js";

/** The store parts the relay uses: the queue, bodies to send, and routing and the commit of notices. */
/** `submissions`, when there, hears each recipient's outcome (a JMAP EmailSubmission's deliveryStatus). */
/** `traces`, when there, gets each attempt and notice for the message's delivery trace. */
/** `mtaSts`, when there (and [relay] mta_sts on), keeps MTA-STS policies and TLS-RPT counts. */
export type RelayStore = Pick<Store, "queue" | "blobs" | "messages" | "mailboxes" | "directory"> &
  Partial<Pick<Store, "submissions" | "traces" | "mtaSts">>;

export interface QueueRunnerOptions {
  store: RelayStore;
  logger: Logger;
  config: RelayConfig;
  /** This server's name: EHLO (unless config.heloName) and Reporting-MTA of notices. */
  hostname: string;
  /** Counts each attempt's outcome (delivered, deferred, bounced) for /metrics. */
  metrics?: Pick<Metrics, "deliveryAttempt">;
  /** Commits delivery notices; store.messages.deliver when absent (the server may pass its group commit). */
  deliverLocal?: (input: DeliveryInput) => Promise<DeliveryResult>;
  /** The clock for due times, backoff and expiry; tests move it instead of waiting. */
  now?: () => Date;
  /** MX resolution; from config.resolver when absent. */
  lookup?: MxLookup;
  /** Opens SMTP connections; the SMTP client's connectSmtp when absent. */
  connect?: Connect;
  /** The cached resolver for MX, MTA-STS and TLS-RPT lookups; from config.resolver when absent. */
  resolve?: CachedResolve;
  /** Takes the place of the SMTP relay (capture mode); lookup and connect are then never used. */
  transport?: Transport;
  /**
   * Delivers entries marked local (a held message's recipients here, RFC 4865) once released. Without
   * it such entries are deferred, never relayed.
   */
  localDelivery?: Transport;
}

export interface QueueRunner {
  /** Finishes the deliveries under way, releases unstarted claims, closes pooled connections. */
  stop(): Promise<void>;
  /**
   * Looks at the queue now instead of at the next poll (e.g. after new mail was queued, or on
   * `mailroom queue retry`'s SIGUSR1). Calls during a pass coalesce into one more pass after it.
   */
  wake(): void;
  /** Runs one pass now and resolves when every delivery it started has been recorded. */
  runNow(): Promise<void>;
  /** The TLS-RPT run for `day` (the previous UTC day when absent), as the hourly check does it. */
  sendTlsReports(day?: string): Promise<TlsReportRun>;
}

/** How often the runner looks whether yesterday's TLS reports are due (claimed once per day in the store). */
const TLS_REPORT_CHECK_MS = 60 * 60_000;
const TLS_REPORT_FIRST_CHECK_MS = 60_000;
/** Past an entry's due time, so the claim made then (with the runner's clock) finds it due. */
const DUE_MARGIN_MS = 5;
/** How soon to look again at an entry that is due but was not claimed. */
const DUE_AGAIN_MS = 1000;

/** The system's CA roots plus [relay] tls_ca_file, or undefined when there is no such file. */
export function relayCertificateAuthorities(config: RelayConfig): string[] | undefined {
  if (config.tlsCaFile === null) return undefined;
  let extra: string;
  try {
    extra = readFileSync(config.tlsCaFile, "utf8");
  } catch (err) {
    throw new Error(
      `cannot read relay.tls_ca_file ${config.tlsCaFile} (${(err as NodeJS.ErrnoException).code}); fix the path or unset it`,
    );
  }
  return [...rootCertificates, extra];
}

/** RFC 5321 §4.5.3.1.8: every server takes at least 100 recipients per transaction. */
const MAX_GROUP_RECIPIENTS = 100;
/**
 * Entries claimed per delivery slot: the runner holds at most concurrency × this many waiting groups,
 * and claims again once fewer than `concurrency` wait — one claim (one commit) per many deliveries
 * rather than one per freed slot, without hoarding leases other nodes could use.
 */
const CLAIM_PER_SLOT = 10;

interface Group {
  messageId: string;
  domain: string;
  /** Entries for mailboxes here (see QueueEntry.local), which go to localDelivery. */
  local: boolean;
  entries: QueueEntry[];
  /** When this runner's lease on the entries began (the clock of `now`). */
  claimedAt: number;
}

/** What a message's finished groups left to report, and the records that wait for the report. */
interface Gathered {
  /** The first entry: sender, envelope and arrival, the same for every entry of the message. */
  subject: QueueEntry;
  failed: DsnRecipient[];
  delayed: DsnRecipient[];
  relayed: DsnRecipient[];
  /** The entries reported on, each with its record, run after the notices. */
  entries: QueueEntry[];
  updates: Array<() => Promise<void>>;
  /** Lease renewals of entries that wait for other groups. */
  leases: Array<{ finish(): Promise<Set<string>> }>;
}

function groupEntries(
  entries: QueueEntry[],
  claimedAt: number,
): { groups: Group[]; unroutable: QueueEntry[] } {
  const byKey = new Map<string, Group>();
  const groups: Group[] = [];
  const unroutable: QueueEntry[] = [];
  for (const entry of entries) {
    const domain = splitAddress(entry.recipient)?.domain.toLowerCase();
    if (!domain) {
      unroutable.push(entry);
      continue;
    }
    const key = `${entry.messageId}\u0000${domain}\u0000${entry.local}`;
    let group = byKey.get(key);
    if (!group || group.entries.length >= MAX_GROUP_RECIPIENTS) {
      group = { messageId: entry.messageId, domain, local: entry.local, entries: [], claimedAt };
      byKey.set(key, group);
      groups.push(group);
    }
    group.entries.push(entry);
  }
  return { groups, unroutable };
}

export function startQueueRunner(options: QueueRunnerOptions): QueueRunner {
  const { store, logger, config, hostname } = options;
  const now = options.now ?? (() => new Date());
  const deliver = options.deliverLocal ?? ((input: DeliveryInput) => store.messages.deliver(input));
  const resolve = options.resolve ?? createDnsResolver({ server: config.resolver });
  const mtaSts = store.mtaSts;
  let sts: TransportSts | undefined;
  if (config.mtaSts && mtaSts) {
    const ca = relayCertificateAuthorities(config);
    sts = {
      policies: new StsPolicies({
        store: { mtaSts },
        resolve,
        fetch: (domain) =>
          fetchStsPolicy(domain, {
            resolve,
            port: config.mtaStsPort,
            timeout: config.mtaStsFetchTimeout,
            maxSize: config.mtaStsMaxPolicySize,
            ...(ca ? { ca } : {}),
          }),
        now,
        logger,
      }),
      record: (row) => {
        if (!config.tlsReports) return;
        mtaSts
          .recordTlsSessions(utcDay(now()), row)
          .catch((err: unknown) =>
            logger.warn({ err, domain: row.policyDomain }, "relay: could not count a TLS session"),
          );
      },
      ...(ca ? { ca } : {}),
    };
  }
  const transport =
    options.transport ??
    new RelayTransport({
      config,
      heloName: config.heloName ?? hostname,
      lookup: options.lookup ?? createMxLookup({ server: config.resolver, resolve }),
      logger,
      ...(options.connect ? { connect: options.connect } : {}),
      ...(sts ? { sts } : {}),
    });
  const localTransport: Transport = options.localDelivery ?? {
    async deliver(_domain, message) {
      return message.recipients.map(({ address }) => ({
        address,
        status: "temporary",
        enhanced: "4.3.0",
        detail: "no local delivery is configured for released messages; retried",
        fromRemote: false,
        remoteMta: null,
        remoteHandlesDsn: false,
      }));
    },
    async close() {},
  };
  const notices = { store, logger, hostname, deliver };
  const reportContext = mtaSts
    ? { store: { ...store, mtaSts }, resolve, hostname, deliver, logger, now }
    : null;
  const tlsReports = async (day: string): Promise<TlsReportRun> => {
    if (!reportContext) return { claimed: false, sent: [], skipped: [] };
    const run = await sendTlsReports(reportContext, day);
    // The reports are queued: send them now rather than at the next poll.
    if (run.sent.length > 0) void tick();
    return run;
  };
  const reportCheck = (): void => {
    tlsReports(previousUtcDay(now())).catch((err: unknown) =>
      logger.error({ err }, "relay: the daily TLS report run failed; trying again in an hour"),
    );
  };
  const reportTimer =
    config.tlsReports && reportContext ? setInterval(reportCheck, TLS_REPORT_CHECK_MS) : null;
  // A server restarted more often than hourly still reports: the first check comes soon after start.
  const firstReportCheck = reportTimer ? setTimeout(reportCheck, TLS_REPORT_FIRST_CHECK_MS) : null;
  reportTimer?.unref();
  firstReportCheck?.unref();

  let stopping = false;
  let timer: NodeJS.Timeout | null = null;
  let pass: Promise<void> | null = null;
  let passAgain = false;
  const pending: Group[] = [];
  /** Every started group until it is recorded; stop() waits for them. */
  const active = new Set<Promise<void>>();
  /**
   * Groups whose SMTP transaction is under way: what `concurrency` and `perDomainConcurrency` limit.
   * A group's slot is free once the remote has replied, while its outcome is still being recorded,
   * so its connection can carry the next message during the commit.
   */
  let sending = 0;
  const activeByDomain = new Map<string, number>();
  /** Entries claimed and not yet recorded: a lease that ran out under us must not start a twin. */
  const held = new Set<string>();
  /** Per message: its groups waiting or being delivered here. */
  const inFlight = new Map<string, number>();
  /** Per message: the notices its finished groups call for, sent once inFlight reaches zero. */
  const gathered = new Map<string, Gathered>();
  const recorder = store.traces ? createTraceRecorder({ store: { traces: store.traces }, logger }) : null;
  const completed = createCompleteBatch((ids) => store.queue.completeMany(ids));

  const begin = (messageId: string): void => {
    inFlight.set(messageId, (inFlight.get(messageId) ?? 0) + 1);
  };
  /** A group of the message is recorded or let go; the last one sends what was gathered. */
  const end = async (messageId: string): Promise<void> => {
    const left = (inFlight.get(messageId) ?? 1) - 1;
    if (left > 0) {
      inFlight.set(messageId, left);
      return;
    }
    inFlight.delete(messageId);
    const waiting = gathered.get(messageId);
    if (waiting === undefined) return;
    gathered.delete(messageId);
    await sendGathered(waiting);
  };

  /** Counts schedule() calls, so one whose nextDue() answer came late does not undo a newer one. */
  let scheduled = 0;
  const setTimer = (delay: number): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void tick(), delay);
  };
  /**
   * Sets the next pass for when the queue's next entry is due (a retry, a lease end, or a held
   * message's release: RFC 4865 §4 asks for release at the time given), and at the latest after
   * pollInterval, which also picks up what other nodes queued. While every slot is busy a freed slot
   * starts the next pass instead; an entry that is due yet unclaimed (held here, its lease renewal
   * failing) is looked at again after a second rather than in a loop.
   */
  const schedule = (): void => {
    if (stopping) return;
    const call = ++scheduled;
    setTimer(config.pollInterval);
    if (sending >= config.concurrency || pending.length >= config.concurrency) return;
    store.queue.nextDue().then(
      (due) => {
        if (due === null || stopping || call !== scheduled) return;
        const wait = due.getTime() - now().getTime();
        const delay = wait > 0 ? wait + DUE_MARGIN_MS : DUE_AGAIN_MS;
        if (delay < config.pollInterval) setTimer(delay);
      },
      (err: unknown) =>
        logger.warn(
          { err },
          "queue: could not read when the next entry is due; looking again at the next poll",
        ),
    );
  };

  const tick = (): Promise<void> => {
    if (pass) {
      passAgain = true;
      return pass;
    }
    pass = (async () => {
      try {
        do {
          passAgain = false;
          await claimAndStart();
        } while (passAgain && !stopping);
      } catch (err) {
        logger.error({ err }, "queue: a pass over the queue failed; trying again at the next poll");
      } finally {
        pass = null;
        schedule();
      }
    })();
    return pass;
  };

  async function claimAndStart(): Promise<void> {
    startPending();
    const wanted = config.concurrency * CLAIM_PER_SLOT - pending.length;
    if (stopping || sending >= config.concurrency || pending.length >= config.concurrency) return;
    const claimedAt = now();
    const claimed = await store.queue.claim(claimedAt, wanted, config.leaseMs);
    const fresh = claimed.filter((entry) => !held.has(entry.id));
    for (const entry of fresh) held.add(entry.id);
    const { groups, unroutable } = groupEntries(fresh, claimedAt.getTime());
    for (const group of groups) begin(group.messageId);
    for (const entry of unroutable) {
      begin(entry.messageId);
      await record(
        [entry],
        [
          {
            address: entry.recipient,
            status: "permanent",
            enhanced: "5.1.3",
            detail: `'${entry.recipient}' is not an address with a domain`,
            fromRemote: false,
            remoteMta: null,
            remoteHandlesDsn: false,
          },
        ],
      );
      await end(entry.messageId);
    }
    pending.push(...groups);
    startPending();
  }

  function startPending(): void {
    // Started but unrecorded groups are bounded too, so a slow store holds back new deliveries
    // rather than letting 250s pile up unrecorded (each would be sent again after a crash).
    for (
      let i = 0;
      i < pending.length && sending < config.concurrency && active.size < 2 * config.concurrency;
    ) {
      const group = pending[i] as Group;
      // A group that waited for a slot through half its lease is let go unstarted: past the lease another
      // runner may claim and send it, and starting it here too would deliver it twice. It comes back due
      // once the lease runs out.
      if (now().getTime() - group.claimedAt > config.leaseMs / 2) {
        pending.splice(i, 1);
        for (const entry of group.entries) held.delete(entry.id);
        logger.debug({ messageId: group.messageId, domain: group.domain }, "queue: claim too old, left");
        void end(group.messageId).catch((err: unknown) =>
          logger.error({ err, messageId: group.messageId }, "queue: could not send a delivery notice"),
        );
        continue;
      }
      const running = activeByDomain.get(group.domain) ?? 0;
      if (running >= config.perDomainConcurrency) {
        i++;
        continue;
      }
      pending.splice(i, 1);
      activeByDomain.set(group.domain, running + 1);
      sending++;
      let slotHeld = true;
      const freeSlot = (): void => {
        if (!slotHeld) return;
        slotHeld = false;
        sending--;
        const left = (activeByDomain.get(group.domain) ?? 1) - 1;
        if (left > 0) activeByDomain.set(group.domain, left);
        else activeByDomain.delete(group.domain);
        if (!stopping) {
          startPending();
          // A slot came free: more due entries may be waiting beyond what is claimed.
          if (pending.length < config.concurrency) void tick();
        }
      };
      const work: Promise<void> = relay(group, freeSlot)
        .catch((err) =>
          logger.error({ err, messageId: group.messageId, domain: group.domain }, "queue: delivery failed"),
        )
        .then(() => end(group.messageId))
        .catch((err) =>
          logger.error({ err, messageId: group.messageId }, "queue: could not send a delivery notice"),
        )
        .finally(() => {
          active.delete(work);
          freeSlot();
          if (!stopping) startPending();
        });
      active.add(work);
    }
  }

  /** Renews the group's leases every lease/3 until finish(), which returns the ids no longer held. */
  function keepLeased(group: Group): { finish(): Promise<Set<string>> } {
    const ids = group.entries.map((entry) => entry.id);
    const lost = new Set<string>();
    let leaseEnd = group.claimedAt + config.leaseMs;
    let renewing: Promise<void> = Promise.resolve();
    const renew = (): Promise<void> => {
      renewing = renewing.then(async () => {
        const wanted = ids.filter((id) => !lost.has(id));
        if (wanted.length === 0) return;
        const until = now().getTime() + config.leaseMs;
        try {
          const renewed = new Set(await store.queue.renewLeases(wanted, new Date(until)));
          for (const id of wanted) if (!renewed.has(id)) lost.add(id);
          leaseEnd = until;
        } catch (err) {
          logger.warn(
            { err, messageId: group.messageId, domain: group.domain },
            "queue: could not renew delivery leases; retrying at the next renewal",
          );
        }
      });
      return renewing;
    };
    const timer = setInterval(() => void renew(), Math.max(1, Math.floor(config.leaseMs / 3)));
    return {
      async finish(): Promise<Set<string>> {
        clearInterval(timer);
        await renewing;
        // Renewals failed for a while: the lease may have run out and been taken, so ask before recording.
        if (now().getTime() > leaseEnd - config.leaseMs / 3) await renew();
        return lost;
      },
    };
  }

  /** Delivers the group and records its outcome; `delivered` is called once the remote has answered. */
  async function relay(group: Group, delivered: () => void): Promise<void> {
    const first = group.entries[0] as QueueEntry;
    const lease = keepLeased(group);
    let results: RecipientResult[];
    try {
      const { body, eightBit } = await loadOutgoing(() => outgoingBody(store, group.messageId));
      results = await (group.local ? localTransport : transport).deliver(group.domain, {
        messageId: group.messageId,
        sender: first.sender,
        recipients: group.entries.map((entry) => ({ address: entry.recipient, dsn: entry.dsn })),
        envelopeDsn: first.envelopeDsn,
        body,
        eightBit,
      });
    } catch (err) {
      // Only reading the stored body can land here (the transport itself never throws).
      const reason = err instanceof Error ? err.message : String(err);
      results = group.entries.map((entry) => ({
        address: entry.recipient,
        status: "temporary",
        enhanced: "4.3.0",
        detail: `cannot read the stored message: ${reason}`,
        fromRemote: false,
        remoteMta: null,
        remoteHandlesDsn: false,
      }));
    }
    delivered();
    const lost = await lease.finish();
    const kept: QueueEntry[] = [];
    const keptResults: RecipientResult[] = [];
    group.entries.forEach((entry, index) => {
      const result = results[index] as RecipientResult;
      if (!lost.has(entry.id)) {
        kept.push(entry);
        keptResults.push(result);
        return;
      }
      held.delete(entry.id);
      logger.warn(
        { queueId: entry.id, messageId: entry.messageId, to: entry.recipient, result: result.detail },
        "queue: lease lost during delivery to another runner, which records the outcome; the recipient may get the message twice",
      );
    });
    if (kept.length > 0) await record(kept, keptResults);
  }

  /**
   * The "after" record of each recipient, its trace, and the notices its sender asked for: an entry
   * without a notice is recorded now; one with a notice waits, gathered with the rest of its message.
   */
  async function record(entries: QueueEntry[], results: RecipientResult[]): Promise<void> {
    const at = now();
    const first = entries[0];
    if (!first) return;
    let waiting = gathered.get(first.messageId);
    const gather = (): Gathered => {
      waiting ??= {
        subject: first,
        failed: [],
        delayed: [],
        relayed: [],
        entries: [],
        updates: [],
        leases: [],
      };
      gathered.set(first.messageId, waiting);
      return waiting;
    };
    const immediate: Array<{ entry: QueueEntry; update: () => Promise<void> }> = [];
    const waitingEntries: QueueEntry[] = [];
    entries.forEach((entry, index) => {
      const result = results[index] as RecipientResult;
      const base: DsnRecipient = {
        finalRecipient: entry.recipient,
        ...(entry.dsn.orcpt !== undefined ? { originalRecipient: entry.dsn.orcpt } : {}),
        action: "failed",
        status: result.enhanced,
        ...(result.remoteMta !== null ? { remoteMta: result.remoteMta } : {}),
        diagnostic: result.detail,
        diagnosticType: result.fromRemote ? "smtp" : "x-mailroom",
        lastAttemptDate: at,
      };
      const log = {
        proto: "queue",
        queueId: entry.id,
        messageId: entry.messageId,
        to: entry.recipient,
        attempts: entry.attempts,
        result: result.detail,
      };
      const facts = {
        queueId: entry.id,
        // claim() counted this attempt already.
        attempt: entry.attempts,
        mx: result.remoteMta,
        tls: result.tls ?? null,
        reply: result.detail,
      };
      let update: () => Promise<void>;
      let notice: DsnRecipient | null = null;
      let kind: "failed" | "delayed" | "relayed" = "failed";
      if (result.status === "delivered") {
        logger.info(log, "queue: delivered");
        options.metrics?.deliveryAttempt("delivered");
        recorder?.add(entry.messageId, [
          traceEvents.relay(at, entry.recipient, { ...facts, result: "delivered" }),
        ]);
        update = () => completed.complete(entry.id).then(() => report(entry, "yes", result.detail));
        // RFC 3461 §6.2.1: a DSN-capable next hop got NOTIFY and takes the success report over;
        // otherwise this hop says "relayed", as it cannot know of the final delivery.
        if (wantsNotice(entry.dsn, "SUCCESS") && !result.remoteHandlesDsn) {
          notice = { ...base, action: "relayed" };
          kind = "relayed";
        }
      } else if (result.status === "permanent" || hasExpired(entry, config, at)) {
        const expired = result.status !== "permanent";
        logger.warn({ ...log, expired }, "queue: returning to sender");
        options.metrics?.deliveryAttempt("bounced");
        recorder?.add(entry.messageId, [
          traceEvents.relay(at, entry.recipient, {
            ...facts,
            result: "bounced",
            ...(expired ? { expired: true } : {}),
          }),
        ]);
        update = () => completed.complete(entry.id).then(() => report(entry, "no", result.detail));
        if (wantsNotice(entry.dsn, "FAILURE")) {
          // RFC 3463 X.4.7: delivery time expired; the last reason stays in Diagnostic-Code.
          notice = expired ? { ...base, status: "4.4.7" } : base;
        }
      } else {
        const next = new Date(at.getTime() + retryDelay(config.retrySchedule, entry.attempts));
        const notify = dueForDelayNotice(entry, config, at);
        logger.info({ ...log, next: next.toISOString() }, "queue: deferred");
        options.metrics?.deliveryAttempt("deferred");
        recorder?.add(entry.messageId, [
          traceEvents.relay(at, entry.recipient, { ...facts, result: "deferred", next: next.toISOString() }),
        ]);
        update = () =>
          store.queue
            .defer(entry.id, next, result.detail, notify ? true : undefined)
            .then(() => report(entry, "queued", result.detail));
        if (notify) {
          notice = {
            ...base,
            action: "delayed",
            willRetryUntil: new Date(queuedSince(entry).getTime() + config.maxAge),
          };
          kind = "delayed";
        }
      }
      if (notice === null) {
        immediate.push({ entry, update });
        return;
      }
      const into = gather();
      into[kind].push(notice);
      into.entries.push(entry);
      into.updates.push(update);
      waitingEntries.push(entry);
    });
    await runUpdates(immediate);
    // Other groups of the message are still on their way: keep these leases while they wait.
    if (waitingEntries.length > 0 && (inFlight.get(first.messageId) ?? 0) > 1) {
      gather().leases.push(
        keepLeased({
          messageId: first.messageId,
          domain: "",
          local: false,
          entries: waitingEntries,
          claimedAt: at.getTime(),
        }),
      );
    }
  }

  /** One report per kind for every gathered recipient still held, then their records. */
  async function sendGathered(waiting: Gathered): Promise<void> {
    const lost = new Set<string>();
    for (const lease of waiting.leases) for (const id of await lease.finish()) lost.add(id);
    const keptUpdates: Array<{ entry: QueueEntry; update: () => Promise<void> }> = [];
    const keptRecipients = new Set<string>();
    waiting.entries.forEach((entry, index) => {
      if (lost.has(entry.id)) {
        held.delete(entry.id);
        logger.warn(
          { id: entry.id, messageId: entry.messageId, recipient: entry.recipient },
          "queue: lease lost while waiting for the message's other recipients; the runner now holding it reports",
        );
        return;
      }
      keptRecipients.add(entry.recipient);
      keptUpdates.push({ entry, update: waiting.updates[index] as () => Promise<void> });
    });
    const at = now();
    // Notices are committed before the entries are recorded: a crash in between repeats a notice
    // rather than losing it.
    for (const [action, all] of [
      ["failed", waiting.failed],
      ["delayed", waiting.delayed],
      ["relayed", waiting.relayed],
    ] as const) {
      const recipients = all.filter((each) => keptRecipients.has(each.finalRecipient));
      if (recipients.length === 0) continue;
      try {
        const id = await sendNotice(notices, waiting.subject, recipients, at);
        if (id !== null) {
          recorder?.add(waiting.subject.messageId, [
            traceEvents.dsn(
              at,
              id,
              action,
              recipients.map((each) => each.finalRecipient),
            ),
          ]);
        }
      } catch (err) {
        logger.error(
          { err, messageId: waiting.subject.messageId },
          "queue: could not send a delivery notice",
        );
      }
    }
    await runUpdates(keptUpdates);
  }

  async function runUpdates(
    updates: Array<{ entry: QueueEntry; update: () => Promise<void> }>,
  ): Promise<void> {
    for (const { entry, update } of updates) {
      try {
        await update();
      } catch (err) {
        // E.g. `mailroom queue delete` removed the entry while it was being delivered.
        logger.warn({ err, id: entry.id }, "queue: could not record the outcome of an entry");
      } finally {
        held.delete(entry.id);
      }
    }
  }

  /** The outcome as RFC 8621 §7 deliveryStatus; a failure here must not undo the queue's record. */
  async function report(entry: QueueEntry, delivered: "yes" | "no" | "queued", reply: string): Promise<void> {
    await store.submissions
      ?.recordDelivery(entry.messageId, entry.recipient, {
        smtpReply: reply,
        delivered,
        displayed: "unknown",
      })
      .catch((err: unknown) =>
        logger.warn({ err, id: entry.id }, "queue: could not record the outcome for its EmailSubmission"),
      );
  }

  async function waitForActive(): Promise<void> {
    while (active.size > 0 || pass) {
      await Promise.all([...active, pass]);
    }
  }

  schedule();
  void tick();

  return {
    wake(): void {
      if (!stopping) void tick();
    },
    async runNow(): Promise<void> {
      await tick();
      await waitForActive();
    },
    sendTlsReports(day?: string): Promise<TlsReportRun> {
      return tlsReports(day ?? previousUtcDay(now()));
    },
    async stop(): Promise<void> {
      stopping = true;
      if (reportTimer) clearInterval(reportTimer);
      if (firstReportCheck) clearTimeout(firstReportCheck);
      if (timer) clearTimeout(timer);
      timer = null;
      await waitForActive();
      // Claimed but never started: due again at once for whichever runner looks next.
      for (const group of pending.splice(0)) {
        for (const entry of group.entries) {
          await store.queue
            .defer(entry.id, now(), entry.lastError ?? "not tried: the queue runner stopped")
            .catch((err) => logger.warn({ err, id: entry.id }, "queue: could not release a claimed entry"));
          held.delete(entry.id);
        }
        // The message's other groups are done: what they gathered goes now, not at the next start.
        await end(group.messageId).catch((err: unknown) =>
          logger.error({ err, messageId: group.messageId }, "queue: could not send a delivery notice"),
        );
      }
      await recorder?.flush();
      await transport.close();
      await localTransport.close();
    },
  };
}
