/**
 * IMAP NOTIFY (RFC 5465), sans IO: which events a session asked for in which mailboxes, and what has
 * happened since it was last told, turned into responses when the session may send them. Changes to the
 * selected mailbox stay with its view (selected.ts) and are reported as EXISTS, EXPUNGE and FETCH;
 * changes elsewhere become STATUS (message events), LIST (MailboxName, SubscriptionChange) and METADATA
 * responses. Pending changes are coalesced per mailbox and counted against a bound: past it the session
 * sends NOTIFICATIONOVERFLOW and behaves as after NOTIFY NONE (RFC 5465 §5.8).
 */

import { isMessageEvent } from "../store/events.js";
import type { Mailbox, MailboxEvent } from "../store/types.js";
import { canonicalName, encodeName, type ImapContext } from "./commands/context.js";
import { SEPARATOR, statusResponse } from "./commands/mailboxes.js";
import type { FetchItem, NotifyFilter, NotifyGroup } from "./protocol/command.js";
import type { ImapValue } from "./protocol/value.js";
import { untagged, untaggedValues } from "./responses.js";
import type { ChangeKind } from "./selected.js";

/** Changes one session may have waiting before NOTIFICATIONOVERFLOW, unless configured otherwise. */
export const DEFAULT_NOTIFY_MAX_PENDING = 10_000;

/**
 * The events answered. AnnotationChange needs ANNOTATE (RFC 5257), which mailroom does not offer, so a
 * NOTIFY naming it is refused with BADEVENT (RFC 5465 §3.1, §5.1).
 */
export const SUPPORTED_NOTIFY_EVENTS = [
  "MessageNew",
  "MessageExpunge",
  "FlagChange",
  "MailboxName",
  "SubscriptionChange",
  "MailboxMetadataChange",
  "ServerMetadataChange",
] as const;

/** A filter with its mailbox names decoded to store names (names that decode to nothing dropped). */
type Filter = { kind: "personal" | "subscribed" } | { kind: "subtree" | "mailboxes"; names: string[] };

interface OtherGroup {
  filter: Filter;
  events: ReadonlySet<string>;
}

export interface SelectedGroup {
  /** selected-delayed: expunges wait for a command during which they may be sent (RFC 5465 §6). */
  delayed: boolean;
  events: ReadonlySet<string>;
  /** MessageNew's fetch attributes, made PEEK so that a notification never sets \Seen (§5.2). */
  fetch: FetchItem[] | null;
}

/** What one NOTIFY SET asked for; NOTIFY NONE is a setting with no groups. */
export class NotifySettings {
  constructor(
    readonly selected: SelectedGroup | null,
    private readonly others: readonly OtherGroup[],
  ) {}

  static none(): NotifySettings {
    return new NotifySettings(null, []);
  }

  /** null when an event named is not offered: the caller answers NO [BADEVENT] with the list. */
  static fromGroups(context: ImapContext, groups: readonly NotifyGroup[]): NotifySettings | null {
    const offered: ReadonlySet<string> = new Set(SUPPORTED_NOTIFY_EVENTS);
    if (groups.some((group) => group.events.some((event) => !offered.has(event)))) return null;
    let selected: SelectedGroup | null = null;
    const others: OtherGroup[] = [];
    for (const group of groups) {
      const events = new Set(group.events);
      if (group.filter.kind === "selected" || group.filter.kind === "selected-delayed") {
        selected = {
          delayed: group.filter.kind === "selected-delayed",
          events,
          fetch: group.fetch?.map(peek) ?? null,
        };
      } else {
        others.push({ filter: decodeFilter(context, group.filter), events });
      }
    }
    return new NotifySettings(selected, others);
  }

  /** True when this setting sends nothing unsolicited: NOTIFY NONE, or groups with NONE only. */
  get silent(): boolean {
    return (this.selected?.events.size ?? 0) === 0 && this.others.every((group) => group.events.size === 0);
  }

  /**
   * The events asked for in the mailbox `name` when it is not the selected one: those of the first
   * group whose filter names it (mailroom's reading where groups overlap), or none.
   */
  eventsFor(name: string, subscriptions: ReadonlySet<string>): ReadonlySet<string> {
    for (const group of this.others) if (matches(group.filter, name, subscriptions)) return group.events;
    return NO_EVENTS;
  }

  /** Whether any group asks for `event` (ServerMetadataChange names no mailbox, RFC 5465 §5.7). */
  asks(event: string): boolean {
    return this.others.some((group) => group.events.has(event));
  }

  /** The kinds of change to the selected mailbox that may be sent between commands. */
  selectedKinds(): ReadonlySet<ChangeKind> {
    const kinds = new Set<ChangeKind>();
    const events = this.selected?.events;
    if (events === undefined) return kinds;
    if (events.has("MessageNew")) kinds.add("exists");
    if (events.has("FlagChange")) kinds.add("flags");
    if (events.has("MessageExpunge") && this.selected?.delayed === false) kinds.add("expunge");
    return kinds;
  }
}

const NO_EVENTS: ReadonlySet<string> = new Set();

function peek(item: FetchItem): FetchItem {
  return item.kind === "section" || item.kind === "binary" ? { ...item, peek: true } : item;
}

/**
 * "inboxes" is every mailbox mail may be delivered to; with Sieve's fileinto and +tag addresses that
 * is any of them, and RFC 5465 §6 says to treat it as "personal" when the set is not easily known.
 */
function decodeFilter(context: ImapContext, filter: NotifyFilter): Filter {
  switch (filter.kind) {
    case "inboxes":
    case "personal":
      return { kind: "personal" };
    case "subscribed":
      return { kind: "subscribed" };
    case "subtree":
    case "mailboxes":
      return {
        kind: filter.kind,
        names: filter.mailboxes.flatMap((raw) => {
          const name = canonicalName(context, raw);
          return name === null ? [] : [name];
        }),
      };
    default:
      return { kind: "mailboxes", names: [] };
  }
}

function matches(filter: Filter, name: string, subscriptions: ReadonlySet<string>): boolean {
  switch (filter.kind) {
    case "personal":
      return true;
    case "subscribed":
      return subscriptions.has(name);
    case "mailboxes":
      return filter.names.includes(name);
    case "subtree":
      return filter.names.some((root) => name === root || name.startsWith(`${root}${SEPARATOR}`));
  }
}

/** The user's mailboxes and subscriptions as the client was last told of them. */
interface Snapshot {
  names: Map<number, string>;
  subscriptions: Set<string>;
}

/** Changes outside the selected mailbox waiting to be reported, and the limit on how many may wait. */
export class NotifyQueue {
  settings: NotifySettings | null = null;
  private snapshot: Snapshot = { names: new Map(), subscriptions: new Set() };
  /** Mailboxes whose STATUS is due, with the kinds of change seen in each. */
  private readonly statuses = new Map<number, Set<ChangeKind>>();
  private readonly metadata = new Map<number | null, Set<string>>();
  private mailboxesChanged = false;
  /** The NOTIFICATIONOVERFLOW response, until it has been sent. */
  private overflow: Buffer | null = null;

  constructor(private readonly maxPending: number) {}

  /** Starts a new setting: what was waiting under the old one is dropped (RFC 5465 §3.1 replaces it). */
  async set(context: ImapContext, settings: NotifySettings): Promise<void> {
    this.settings = settings;
    this.clear();
    this.overflow = null;
    const [mailboxes, subscriptions] = await Promise.all([
      context.store.mailboxes.listMailboxes(context.userId),
      context.store.mailboxes.listSubscriptions(context.userId),
    ]);
    this.snapshot = {
      names: new Map(mailboxes.map((m) => [m.id, m.name])),
      subscriptions: new Set(subscriptions),
    };
  }

  reset(): void {
    this.settings = null;
    this.clear();
    this.overflow = null;
  }

  private clear(): void {
    this.statuses.clear();
    this.metadata.clear();
    this.mailboxesChanged = false;
  }

  /** Whether anything waits to be sent. */
  get hasPending(): boolean {
    return (
      this.overflow !== null || this.mailboxesChanged || this.statuses.size > 0 || this.metadata.size > 0
    );
  }

  private get pendingCount(): number {
    let count = this.statuses.size + (this.mailboxesChanged ? 1 : 0);
    for (const entries of this.metadata.values()) count += entries.size;
    return count;
  }

  /**
   * Records an event outside the selected mailbox, if the setting asks for its kind at all (the
   * mailbox's name, and so its filter, is looked at when the response is made). `selectedId` is the
   * selected mailbox, whose changes its view reports; `selectedPending` is how many of those wait.
   * Returns true when something was recorded.
   */
  observe(event: MailboxEvent, selectedId: number | null, selectedPending: number): boolean {
    const settings = this.settings;
    if (settings === null || settings.silent) return false;
    let recorded = false;
    if (event.kind === "mailboxes") {
      // Looked at even when no LIST is asked for: the names and subscriptions the filters match on
      // must stay current.
      this.mailboxesChanged = true;
      recorded = true;
    } else if (event.kind === "metadata") {
      const wanted = event.mailboxId === null ? "ServerMetadataChange" : "MailboxMetadataChange";
      if (settings.asks(wanted) && event.entries.length > 0) {
        const entries = this.metadata.get(event.mailboxId) ?? new Set<string>();
        for (const entry of event.entries) entries.add(entry);
        this.metadata.set(event.mailboxId, entries);
        recorded = true;
      }
    } else if (isMessageEvent(event) && event.mailboxId !== selectedId) {
      const kinds = this.statuses.get(event.mailboxId) ?? new Set<ChangeKind>();
      kinds.add(event.kind);
      this.statuses.set(event.mailboxId, kinds);
      recorded = true;
    }
    if (this.pendingCount + selectedPending > this.maxPending) this.overflowed();
    return recorded;
  }

  /** Checks the bound again, for changes to the selected mailbox that waited meanwhile. */
  checkBound(selectedPending: number): void {
    if (
      this.settings !== null &&
      !this.settings.silent &&
      this.pendingCount + selectedPending > this.maxPending
    )
      this.overflowed();
  }

  /**
   * RFC 5465 §5.8: the server tells the client once and then acts as if NOTIFY NONE had been given.
   * The selected mailbox's changes are kept by its view and reported by later commands, as without NOTIFY.
   */
  private overflowed(): void {
    this.clear();
    this.settings = NotifySettings.none();
    this.overflow = untagged(
      "OK [NOTIFICATIONOVERFLOW] too many changes waited to be sent; notifications are off until the next NOTIFY SET",
    );
  }

  /** The responses for what waits, in the order overflow notice, mailbox list changes, STATUS, METADATA. */
  async take(context: ImapContext): Promise<Buffer[]> {
    const out: Buffer[] = [];
    if (this.overflow !== null) {
      out.push(this.overflow);
      this.overflow = null;
    }
    const settings = this.settings;
    if (settings === null) return out;
    if (this.mailboxesChanged) {
      this.mailboxesChanged = false;
      out.push(...(await this.listChanges(context, settings)));
    }
    const statuses = [...this.statuses];
    this.statuses.clear();
    const selectedId = context.selected?.mailbox.id ?? null;
    for (const [id, kinds] of statuses) {
      // RFC 5465 §5: STATUS is never sent for the selected mailbox; its view reports its changes.
      if (id === selectedId) continue;
      const mailbox = await context.store.mailboxes.getMailboxById(id);
      if (mailbox === null || mailbox.userId !== context.userId) continue;
      const events = settings.eventsFor(mailbox.name, this.snapshot.subscriptions);
      const wanted =
        (kinds.has("exists") && events.has("MessageNew")) ||
        (kinds.has("expunge") && events.has("MessageExpunge")) ||
        (kinds.has("flags") && events.has("FlagChange"));
      if (wanted) out.push(await notifyStatus(context, mailbox));
    }
    const metadata = [...this.metadata];
    this.metadata.clear();
    for (const [id, entries] of metadata) {
      let name = "";
      if (id !== null) {
        const mailbox = await context.store.mailboxes.getMailboxById(id);
        if (mailbox === null || mailbox.userId !== context.userId) continue;
        if (!settings.eventsFor(mailbox.name, this.snapshot.subscriptions).has("MailboxMetadataChange"))
          continue;
        name = mailbox.name;
      }
      // RFC 5464 §4.4.2: the unsolicited form names the entries that changed, without their values.
      out.push(
        untaggedValues([
          { atom: "METADATA" },
          name === "" ? "" : encodeName(context, name),
          ...[...entries].sort(),
        ]),
      );
    }
    return out;
  }

  /**
   * The LIST responses for what changed among the user's mailboxes and subscriptions since the last
   * look (RFC 5465 §5.4, §5.5): a new name, a gone one (\NonExistent), a renamed one with OLDNAME, and a
   * subscription added (\Subscribed) or removed. A rename moves the subscriptions with it; that move is
   * told as the rename, not as two subscription changes.
   */
  private async listChanges(context: ImapContext, settings: NotifySettings): Promise<Buffer[]> {
    const [mailboxes, subscribed] = await Promise.all([
      context.store.mailboxes.listMailboxes(context.userId),
      context.store.mailboxes.listSubscriptions(context.userId),
    ]);
    const before = this.snapshot;
    const now: Snapshot = {
      names: new Map(mailboxes.map((m) => [m.id, m.name])),
      subscriptions: new Set(subscribed),
    };
    this.snapshot = now;
    const out: Buffer[] = [];
    const named = (name: string, event: string) =>
      settings.eventsFor(name, before.subscriptions).has(event) ||
      settings.eventsFor(name, now.subscriptions).has(event);
    const list = (attributes: string[], name: string, extra: ImapValue[] = []) =>
      untaggedValues([
        { atom: "LIST" },
        attributes.map((atom) => ({ atom })),
        SEPARATOR,
        encodeName(context, name),
        ...extra,
      ]);
    const renamed = new Map<string, string>();
    for (const [id, name] of now.names) {
      const old = before.names.get(id);
      if (old === undefined) {
        if (named(name, "MailboxName")) out.push(list([], name));
      } else if (old !== name) {
        renamed.set(old, name);
        if (named(name, "MailboxName") || named(old, "MailboxName")) {
          out.push(list([], name, [["OLDNAME", [encodeName(context, old)]]]));
        }
      }
    }
    for (const [id, name] of before.names) {
      if (!now.names.has(id) && named(name, "MailboxName")) out.push(list(["\\NonExistent"], name));
    }
    for (const name of now.subscriptions) {
      if (before.subscriptions.has(name) || before.subscriptions.has(renamedFrom(renamed, name) ?? ""))
        continue;
      if (named(name, "SubscriptionChange")) out.push(list(["\\Subscribed"], name));
    }
    for (const name of before.subscriptions) {
      if (now.subscriptions.has(name) || now.subscriptions.has(renamed.get(name) ?? "")) continue;
      if (named(name, "SubscriptionChange")) out.push(list([], name));
    }
    return out;
  }

  /**
   * NOTIFY SET STATUS (RFC 5465 §3.1): a STATUS response, before the tagged OK, for each mailbox for
   * which message events are now asked, except the selected one.
   */
  async initialStatus(context: ImapContext): Promise<Buffer[]> {
    const settings = this.settings;
    if (settings === null) return [];
    const out: Buffer[] = [];
    const mailboxes = await context.store.mailboxes.listMailboxes(context.userId);
    for (const mailbox of mailboxes) {
      if (mailbox.id === context.selected?.mailbox.id) continue;
      const events = settings.eventsFor(mailbox.name, this.snapshot.subscriptions);
      if (events.has("MessageNew") || events.has("MessageExpunge") || events.has("FlagChange")) {
        out.push(await notifyStatus(context, mailbox));
      }
    }
    return out;
  }
}

function renamedFrom(renamed: ReadonlyMap<string, string>, name: string): string | undefined {
  for (const [old, now] of renamed) if (now === name) return old;
  return undefined;
}

/**
 * RFC 5465 §5.1–§5.3: a change to a mailbox other than the selected one is told as STATUS with the
 * counts it may have moved, and HIGHESTMODSEQ once CONDSTORE is on.
 */
function notifyStatus(context: ImapContext, mailbox: Mailbox): Promise<Buffer> {
  const items = ["MESSAGES", "UIDNEXT", "UNSEEN"];
  if (context.condstore) items.push("HIGHESTMODSEQ");
  return statusResponse(context, mailbox, items);
}
