// Mailbox events shared by every node on one database. A transaction queues its events with
// pg_notify, which PostgreSQL delivers only if and when the transaction commits; every store instance
// LISTENs on one dedicated connection and hands what arrives to its subscribers. An instance hears its
// own notifications too, and that echo is the one delivery: the writing method waits for the echo before
// it resolves, so a caller's own subscribers have seen the event by then, exactly once. If the echo is
// late (listener reconnecting), the writer delivers locally and the late echo is dropped.

import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Logger } from "pino";
import type { MailboxEvent, MailboxEvents } from "../types.js";

export const EVENT_CHANNEL = "mailroom_events";

/** NOTIFY payloads must stay under 8000 bytes: long UID lists are split over several notifications. */
const UIDS_PER_NOTIFICATION = 500;
const ECHO_TIMEOUT_MS = 2_000;
const LATE_ECHO_MEMORY_MS = 60_000;

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

  private async connect(): Promise<void> {
    const client = new pg.Client(this.config);
    client.on("notification", (message) => this.onNotification(message));
    client.on("error", (error) => {
      this.logger.warn({ err: error }, "the PostgreSQL event listener connection failed; reconnecting");
      this.lost(client);
    });
    client.on("end", () => this.lost(client));
    await client.connect();
    await client.query(`LISTEN ${EVENT_CHANNEL}`);
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.connected = true;
    this.reconnectDelayMs = 100;
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    this.connected = false;
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
  if (event.kind === "mailboxes" || event.uids.length <= UIDS_PER_NOTIFICATION) return [event];
  const parts: MailboxEvent[] = [];
  for (let start = 0; start < event.uids.length; start += UIDS_PER_NOTIFICATION) {
    parts.push({ ...event, uids: event.uids.slice(start, start + UIDS_PER_NOTIFICATION) });
  }
  return parts;
}
