// Mailbox events shared by every node on one database. A transaction queues its events with
// pg_notify, which PostgreSQL delivers only if and when the transaction commits; every store instance
// LISTENs on one dedicated connection and hands what arrives to its subscribers. An instance hears its
// own notifications too, and that echo is the one delivery: the writing method waits for the echo before
// it resolves, so a caller's own subscribers have seen the event by then, exactly once. If the echo is
// late (listener reconnecting), the writer delivers locally and the late echo is dropped.
//
// NOTIFY is fire-and-forget: whatever is sent while the LISTEN connection is down never arrives. So the
// bus keeps, per mailbox, the highest MODSEQ and the UIDNEXT it has accounted for (seeded from the
// mailboxes table at every connect, raised by each event it hands out). When the connection is lost it
// freezes a copy; after reconnecting and LISTENing again it reads what changed beyond that copy
// (messages and expunges with a higher MODSEQ, mailboxes added or gone) and hands it out as ordinary
// events. Changes just before the loss or just after the new LISTEN may be reported twice; subscribers
// (src/imap/selected.ts) treat events as "look again at these UIDs", so a repeat costs a lookup only.
// Memory: two small maps of one entry per mailbox in the database.

import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Logger } from "pino";
import { isMessageEvent } from "../events.js";
import type { MailboxEvent, MailboxEvents } from "../types.js";

export const EVENT_CHANNEL = "mailroom_events";

/** NOTIFY payloads must stay under 8000 bytes: long UID lists are split over several notifications. */
const UIDS_PER_NOTIFICATION = 500;
/** Octets of metadata entry names per notification, well under the payload limit with the rest. */
const ENTRY_OCTETS_PER_NOTIFICATION = 6_000;
const ECHO_TIMEOUT_MS = 2_000;
const LATE_ECHO_MEMORY_MS = 60_000;
/** Rows read per catch-up query, so a long outage is replayed in bounded pieces. */
const CATCH_UP_BATCH = 1_000;

/** What this instance has accounted for in one mailbox. Replaced, never mutated, so copies stay put. */
interface MailboxMark {
  userId: number;
  modseq: number;
  /** UIDs from here on are new to subscribers (an "exists"); below, a change is a "flags". */
  uidNext: number;
}

interface ChangedMailbox {
  id: number;
  userId: number;
  since: number;
  uidNext: number;
}

interface Payload {
  origin: string;
  seq: number;
  event: MailboxEvent;
}

/** One of this instance's own events, from publish() until it has reached the subscribers. */
export interface Published {
  seq: number;
  event: MailboxEvent;
  delivered: boolean;
  /** Set when delivered locally because the echo was late: the echo, if it comes, is then dropped. */
  deliveredLocallyAt: number | null;
  settle: () => void;
  settled: Promise<void>;
}

export class NotifyEventBus implements MailboxEvents {
  private readonly origin = randomBytes(8).toString("hex");
  private nextSeq = 1;
  private readonly listeners = new Set<(event: MailboxEvent) => void>();
  /** Registered before the NOTIFY is sent, since the echo may overtake the COMMIT's reply. */
  private readonly own = new Map<number, Published>();
  private client: pg.Client | null = null;
  private connected = false;
  private closed = false;
  private reconnectDelayMs = 100;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private readonly marks = new Map<number, MailboxMark>();
  /** The marks as they were when the listener was lost; null while listening. */
  private baseline: Map<number, MailboxMark> | null = null;
  private backendPid: number | null = null;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly logger: Logger,
  ) {}

  subscribe(listener: (event: MailboxEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Connects the listener; rejects if the first connection fails (the store then fails to open). */
  async start(): Promise<void> {
    await this.connect();
  }

  /** The server process id of the LISTEN connection; null while disconnected (tests cut it with it). */
  get listenerPid(): number | null {
    return this.connected ? this.backendPid : null;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = null;
    this.connected = false;
    for (const entry of this.own.values()) entry.settle();
    this.own.clear();
    await client?.end().catch(() => {});
  }

  /**
   * Queues the events in the caller's open transaction. After COMMIT, hand the result to
   * `delivered()`; if the transaction fails, to `discard()`.
   */
  async publish(client: pg.ClientBase, events: MailboxEvent[]): Promise<Published[]> {
    this.forgetOldLocalDeliveries();
    const published: Published[] = [];
    for (const event of events.flatMap(splitEvent)) {
      const seq = this.nextSeq++;
      let settle = () => {};
      const settled = new Promise<void>((resolve) => {
        settle = resolve;
      });
      const entry: Published = { seq, event, delivered: false, deliveredLocallyAt: null, settle, settled };
      this.own.set(seq, entry);
      published.push(entry);
      const payload: Payload = { origin: this.origin, seq, event };
      await client.query("SELECT pg_notify($1, $2)", [EVENT_CHANNEL, JSON.stringify(payload)]);
    }
    return published;
  }

  discard(published: Published[]): void {
    for (const entry of published) this.own.delete(entry.seq);
  }

  /** After COMMIT: resolves once every event has reached this instance's subscribers. */
  async delivered(published: Published[]): Promise<void> {
    for (const entry of published) {
      if (!entry.delivered && this.connected) {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, ECHO_TIMEOUT_MS);
        });
        await Promise.race([entry.settled, late]);
        clearTimeout(timer);
      }
      if (!entry.delivered) this.deliverLocally(entry);
    }
  }

  private deliverLocally(entry: Published): void {
    entry.delivered = true;
    entry.deliveredLocallyAt = Date.now();
    this.emit(entry.event);
    entry.settle();
  }

  private forgetOldLocalDeliveries(): void {
    const now = Date.now();
    for (const [seq, entry] of this.own) {
      if (entry.deliveredLocallyAt !== null && now - entry.deliveredLocallyAt > LATE_ECHO_MEMORY_MS) {
        this.own.delete(seq);
      }
    }
  }

  private emit(event: MailboxEvent): void {
    this.note(event);
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error({ err: error }, "a mailbox event listener threw; it must not");
      }
    }
  }

  private onNotification(message: pg.Notification): void {
    if (message.channel !== EVENT_CHANNEL || message.payload === undefined) return;
    let payload: Payload;
    try {
      payload = JSON.parse(message.payload) as Payload;
    } catch {
      this.logger.warn({ payload: message.payload }, "ignoring a malformed mailroom_events notification");
      return;
    }
    if (payload.origin === this.origin) {
      const entry = this.own.get(payload.seq);
      this.own.delete(payload.seq);
      if (entry?.delivered) return;
      if (entry) {
        entry.delivered = true;
        this.emit(entry.event);
        entry.settle();
        return;
      }
    }
    this.emit(payload.event);
  }

  private note(event: MailboxEvent): void {
    if (!isMessageEvent(event)) return;
    const mark = this.marks.get(event.mailboxId);
    const uidNext = event.kind === "exists" ? Math.max(...event.uids) + 1 : 0;
    this.marks.set(event.mailboxId, {
      userId: event.userId,
      modseq: Math.max(mark?.modseq ?? 0, event.modseq),
      uidNext: Math.max(mark?.uidNext ?? 0, uidNext),
    });
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.config);
    client.on("notification", (message) => this.onNotification(message));
    client.on("error", (error) => {
      this.logger.warn({ err: error }, "the PostgreSQL event listener connection failed; reconnecting");
      this.lost(client);
    });
    client.on("end", () => this.lost(client));
    try {
      await client.connect();
      // LISTEN first: a change committed from here on is either notified or already in the catch-up.
      await client.query(`LISTEN ${EVENT_CHANNEL}`);
      if (this.closed) {
        await client.end().catch(() => {});
        return;
      }
      const pid = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      this.backendPid = pid.rows[0]?.pid ?? null;
      await this.catchUp(client);
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    this.client = client;
    this.connected = true;
    this.reconnectDelayMs = 100;
  }

  /** Seeds the marks from the mailboxes table and, after an outage, hands out what was missed. */
  private async catchUp(client: pg.Client): Promise<void> {
    const result = await client.query<{
      id: string;
      user_id: string;
      highest_modseq: string;
      uid_next: string;
    }>("SELECT id, user_id, highest_modseq, uid_next FROM mailboxes");
    const current = new Map<number, MailboxMark>();
    for (const row of result.rows) {
      current.set(Number(row.id), {
        userId: Number(row.user_id),
        modseq: Number(row.highest_modseq),
        uidNext: Number(row.uid_next),
      });
    }
    const baseline = this.baseline;
    if (baseline !== null) {
      await this.replayGap(client, baseline, current);
      this.baseline = null;
    }
    for (const [id, mark] of current) {
      const live = this.marks.get(id);
      this.marks.set(
        id,
        live === undefined
          ? mark
          : {
              userId: mark.userId,
              modseq: Math.max(live.modseq, mark.modseq),
              uidNext: Math.max(live.uidNext, mark.uidNext),
            },
      );
    }
    for (const id of [...this.marks.keys()]) if (!current.has(id)) this.marks.delete(id);
  }

  private async replayGap(
    client: pg.Client,
    baseline: Map<number, MailboxMark>,
    current: Map<number, MailboxMark>,
  ): Promise<void> {
    const listsChanged = new Set<number>();
    const changed: ChangedMailbox[] = [];
    for (const [id, mark] of current) {
      const before = baseline.get(id);
      // A mailbox this instance had not accounted for was created during the outage (or after the
      // last connect without a message since): every entry in it is news.
      if (before === undefined) listsChanged.add(mark.userId);
      const since = before?.modseq ?? 0;
      if (mark.modseq > since) {
        changed.push({ id, userId: mark.userId, since, uidNext: before?.uidNext ?? 0 });
      }
    }
    for (const [id, before] of baseline) if (!current.has(id)) listsChanged.add(before.userId);
    for (const userId of listsChanged) this.emit({ kind: "mailboxes", userId });
    if (changed.length === 0) return;
    this.logger.info({ mailboxes: changed.length }, "replaying mailbox changes missed while reconnecting");
    const byId = new Map(changed.map((mailbox) => [mailbox.id, mailbox]));
    const ids = changed.map((mailbox) => mailbox.id);
    const sinces = changed.map((mailbox) => mailbox.since);
    for (const table of ["messages", "expunged"] as const) {
      let after: [number, number] = [0, 0];
      for (;;) {
        const rows = await client.query<{ mailbox_id: string; uid: string; modseq: string }>(
          `SELECT t.mailbox_id, t.uid, t.modseq FROM ${table} t
             JOIN unnest($1::bigint[], $2::bigint[]) AS c(id, since)
               ON t.mailbox_id = c.id AND t.modseq > c.since
           WHERE (t.mailbox_id, t.uid) > ($3, $4)
           ORDER BY t.mailbox_id, t.uid LIMIT ${CATCH_UP_BATCH}`,
          [ids, sinces, after[0], after[1]],
        );
        this.replayRows(table, rows.rows, byId);
        const last = rows.rows.at(-1);
        if (last === undefined || rows.rows.length < CATCH_UP_BATCH) break;
        after = [Number(last.mailbox_id), Number(last.uid)];
      }
    }
  }

  private replayRows(
    table: "messages" | "expunged",
    rows: ReadonlyArray<{ mailbox_id: string; uid: string; modseq: string }>,
    byId: Map<number, ChangedMailbox>,
  ): void {
    const events = new Map<string, Extract<MailboxEvent, { uids: number[] }>>();
    for (const row of rows) {
      const mailbox = byId.get(Number(row.mailbox_id));
      if (mailbox === undefined) continue;
      const uid = Number(row.uid);
      const kind = table === "expunged" ? "expunge" : uid >= mailbox.uidNext ? "exists" : "flags";
      // A flags event names the MODSEQ each of its UIDs got (events.ts): one per MODSEQ.
      const key = kind === "flags" ? `flags:${mailbox.id}:${row.modseq}` : `${kind}:${mailbox.id}`;
      const uids: number[] = [];
      const event = events.get(key) ?? {
        kind,
        userId: mailbox.userId,
        mailboxId: mailbox.id,
        uids,
        modseq: 0,
      };
      event.uids.push(uid);
      event.modseq = Math.max(event.modseq, Number(row.modseq));
      events.set(key, event);
    }
    for (const event of events.values()) this.emit(event);
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    this.connected = false;
    this.baseline ??= new Map(this.marks);
    client.end().catch(() => {});
    // Echoes of events committed before this point can no longer arrive: their writers deliver locally.
    for (const entry of this.own.values()) {
      if (!entry.delivered) entry.settle();
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const delay = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(delay * 2, 5_000);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect().catch((error: unknown) => {
        this.logger.warn({ err: error }, "cannot reconnect the PostgreSQL event listener; retrying");
        this.scheduleReconnect();
      });
    }, delay);
    this.reconnectTimer.unref();
  }
}

function splitEvent(event: MailboxEvent): MailboxEvent[] {
  if (event.kind === "metadata") {
    // An entry name too long for any notification is left out: a NOTIFY client misses that one
    // change, where an oversized payload would fail the SETMETADATA itself.
    const parts: MailboxEvent[] = [];
    let entries: string[] = [];
    let octets = 0;
    for (const entry of event.entries) {
      const size = Buffer.byteLength(JSON.stringify(entry));
      if (size > ENTRY_OCTETS_PER_NOTIFICATION) continue;
      if (octets + size > ENTRY_OCTETS_PER_NOTIFICATION) {
        parts.push({ ...event, entries });
        entries = [];
        octets = 0;
      }
      entries.push(entry);
      octets += size;
    }
    if (entries.length > 0) parts.push({ ...event, entries });
    return parts;
  }
  if (
    event.kind === "mailboxes" ||
    event.kind === "sieve" ||
    event.kind === "identities" ||
    event.uids.length <= UIDS_PER_NOTIFICATION
  )
    return [event];
  const parts: MailboxEvent[] = [];
  for (let start = 0; start < event.uids.length; start += UIDS_PER_NOTIFICATION) {
    parts.push({ ...event, uids: event.uids.slice(start, start + UIDS_PER_NOTIFICATION) });
  }
  return parts;
}
