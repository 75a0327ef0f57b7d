import type { Logger } from "pino";
import type { MailboxEvent, MailboxEvents } from "../types.js";

/** In-process fan-out of committed mailbox changes: enough when one process serves a data dir. */
export class EventBus implements MailboxEvents {
  private readonly listeners = new Set<(event: MailboxEvent) => void>();

  constructor(private readonly logger: Logger) {}

  subscribe(listener: (event: MailboxEvent) => void): () => void {
    // A wrapper per subscription, so the same function subscribed twice is two subscriptions.
    const entry = (event: MailboxEvent) => listener(event);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  publish(events: Iterable<MailboxEvent>): void {
    for (const event of events) {
      for (const listener of [...this.listeners]) {
        try {
          listener(event);
        } catch (error) {
          this.logger.error({ err: error, event: event.kind }, "a mailbox event listener threw; ignored");
        }
      }
    }
  }
}
