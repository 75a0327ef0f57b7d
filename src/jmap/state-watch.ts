// Push without a transport (RFC 8620 §7): watches the store's change events for one account and reports
// the data types whose state string moved. EventSource and WebSocket push both sit on it.

import type { MailboxEvents } from "../store/events.js";

export type States = Record<string, string>;

export interface StateWatchOptions {
  events: MailboxEvents;
  userId: number;
  /** The states of the watched types now. */
  states: () => Promise<States>;
  /** What the client is known to have; only types whose state differs from it are reported. */
  baseline: States;
  onChange(changed: States, states: States): void;
  /** Computing the states failed; the watch has stopped. */
  onError(error: unknown): void;
  coalesceMs?: number;
  /**
   * Also look every this many ms, event or not: SQLite's events reach only the process that wrote, and
   * the CLI (`mailroom sieve put`, `mailroom mail`) writes from its own. A look that finds the same
   * states sends nothing.
   */
  pollMs?: number;
}

/** Deliveries often come in bursts; one StateChange covers a burst. */
const COALESCE_MS = 50;

/** Starts watching; returns the function that stops it. */
export function watchStates(options: StateWatchOptions): () => void {
  let last = options.baseline;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let checking = false;
  const check = async () => {
    timer = undefined;
    checking = true;
    try {
      const now = await options.states();
      if (stopped) return;
      const changed = changedStates(last, now);
      last = now;
      if (Object.keys(changed).length > 0) options.onChange(changed, now);
    } finally {
      checking = false;
    }
  };
  const schedule = (delay: number) => {
    timer = setTimeout(() => {
      check().catch((error: unknown) => {
        stop();
        options.onError(error);
      });
    }, delay);
  };
  const unsubscribe = options.events.subscribe((event) => {
    // IMAP METADATA is no JMAP type: its changes move no state.
    if (event.kind === "metadata" || event.userId !== options.userId || timer !== undefined || stopped)
      return;
    schedule(options.coalesceMs ?? COALESCE_MS);
  });
  const poll =
    options.pollMs === undefined
      ? undefined
      : setInterval(() => {
          if (timer === undefined && !checking && !stopped) schedule(0);
        }, options.pollMs);
  poll?.unref();
  const stop = () => {
    stopped = true;
    unsubscribe();
    clearTimeout(timer);
    clearInterval(poll);
  };
  return stop;
}

/** The entries of `now` whose state differs from `before`. */
export function changedStates(before: States, now: States): States {
  const changed: States = {};
  for (const [type, state] of Object.entries(now)) if (before[type] !== state) changed[type] = state;
  return changed;
}
