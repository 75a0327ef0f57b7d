// Push without the HTTP: the states of the pushable types, and for EventSource (RFC 8620 §7.3) the
// URL's parameters and the StateChange and ping events as text/event-stream frames.

import type { Store } from "../store/types.js";
import { SIEVE } from "./capabilities.js";
import { MethodError } from "./errors.js";
import { identityState } from "./identity.js";
import { stateOf } from "./ids.js";
import { quotaState } from "./quota.js";
import { sieveScriptState } from "./sieve-script.js";
import type { States } from "./state-watch.js";

/** How often a push watch looks for changes no event told of (state-watch.ts pollMs says why). */
export const PUSH_POLL_MS = 5_000;

/** Data types whose state this server can push. */
export const PUSHABLE_TYPES: readonly string[] = [
  "Mailbox",
  "Email",
  "Thread",
  "Quota",
  "SieveScript",
  "Identity",
];

const MAIL_TYPES: readonly string[] = ["Mailbox", "Email", "Thread"];

/**
 * The states of the given types (those this server pushes) for one account now: the mail types share
 * one (ids.ts); Quota's moves with the usage, so with every delivery and expunge; SieveScript's with
 * every script write, whichever protocol made it (the store's "sieve" event wakes the watch);
 * Identity's with the user's identities and display name (the "identities" event).
 */
export async function pushStates(
  store: Pick<Store, "emails" | "quotas" | "sieveScripts" | "identities">,
  userId: number,
  types: ReadonlySet<string>,
): Promise<States> {
  const states: States = {};
  if (MAIL_TYPES.some((type) => types.has(type))) {
    const state = stateOf(await store.emails.accountState(userId));
    for (const type of MAIL_TYPES) if (types.has(type)) states[type] = state;
  }
  if (types.has("Quota")) states.Quota = await quotaState(store, userId);
  if (types.has("SieveScript")) states.SieveScript = await sieveScriptState(store, userId);
  if (types.has("Identity")) states.Identity = await identityState(store, userId);
  return states;
}

/** The pushable types among `types` that the account has: SieveScript only with JMAP Sieve. */
export function accountPushTypes(types: Iterable<string>, capabilities: ReadonlySet<string>): Set<string> {
  return new Set(
    [...types].filter(
      (type) => PUSHABLE_TYPES.includes(type) && (type !== "SieveScript" || capabilities.has(SIEVE)),
    ),
  );
}

export interface PushParameters {
  types: ReadonlySet<string>;
  /** Close the stream after the first state event. */
  closeAfterState: boolean;
  /** Seconds between pings; 0 for none. */
  ping: number;
}

/** RFC 8620 §7.3 asks that clients may choose a ping interval; the server may raise a small one. */
const MIN_PING_SECONDS = 10;
const MAX_PING_SECONDS = 600;

export function parsePushParameters(search: URLSearchParams): PushParameters | MethodError {
  const types = search.get("types") ?? "*";
  const closeafter = search.get("closeafter") ?? "no";
  const ping = search.get("ping") ?? "0";
  if (closeafter !== "state" && closeafter !== "no") {
    return new MethodError("invalidArguments", 'closeafter must be "state" or "no"');
  }
  if (!/^\d{1,6}$/.test(ping))
    return new MethodError("invalidArguments", "ping must be a whole number of seconds");
  const wanted = types === "*" ? PUSHABLE_TYPES : types.split(",").filter((type) => type !== "");
  const seconds = Number(ping);
  return {
    types: new Set(wanted.filter((type) => PUSHABLE_TYPES.includes(type))),
    closeAfterState: closeafter === "state",
    ping: seconds === 0 ? 0 : Math.min(MAX_PING_SECONDS, Math.max(MIN_PING_SECONDS, seconds)),
  };
}

/** A StateChange (RFC 8620 §7.1) as one event-stream frame. */
export function stateFrame(accountId: string, changed: Record<string, string>): string {
  const data = JSON.stringify({ "@type": "StateChange", changed: { [accountId]: changed } });
  return `event: state\ndata: ${data}\n\n`;
}

/** RFC 8620 §7.3: a ping's data names the interval actually used. */
export function pingFrame(seconds: number): string {
  return `event: ping\ndata: ${JSON.stringify({ interval: seconds })}\n\n`;
}
