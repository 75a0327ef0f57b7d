/** Commands on mailboxes as names: LIST, LSUB, CREATE, DELETE, RENAME, (UN)SUBSCRIBE, STATUS, NAMESPACE. */

import { mailboxIdOf } from "../../mail/object-ids.js";
import type { Mailbox, SpecialUse } from "../../store/types.js";
import type { Command } from "../protocol/command.js";
import type { ImapValue } from "../protocol/value.js";
import { recentClaims } from "../recent.js";
import { untagged, untaggedValues } from "../responses.js";
import {
  CommandFailure,
  canonicalName,
  decodeName,
  encodeName,
  type ImapContext,
  requireMailbox,
  storeFailure,
} from "./context.js";
import { longEntriesCode, metadataResponse } from "./metadata.js";

export const SEPARATOR = "/";

/** RFC 9051 §6.3.9: "*" matches anything, "%" anything but the hierarchy separator. */
export function patternToRegExp(pattern: string): RegExp {
  let source = "";
  for (const ch of pattern) {
    if (ch === "*") source += ".*";
    else if (ch === "%") source += "[^/]*";
    else source += ch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  // INBOX is case-insensitive (RFC 9051 §5.1), so a pattern starting with it matches any case.
  if (/^inbox(\/|$)/i.test(pattern)) source = `(?:INBOX|inbox)${source.slice(5)}`;
  return new RegExp(`^${source}$`, "s");
}

/** Null for a pattern that is not modified UTF-7: it matches no name, so LIST answers OK with none. */
function canonicalPattern(context: ImapContext, reference: string, pattern: string): string | null {
  const raw = pattern.startsWith(SEPARATOR) || reference === "" ? pattern : `${reference}${pattern}`;
  return canonicalName(context, raw);
}

/**
 * The names a LIST or LSUB answers for, and why each one is there. RFC 5258 §3.3 gives two reasons to
 * list a name: it meets the selection criteria, or (RECURSIVEMATCH) a descendant that the patterns do
 * not reach meets them. RFC 3501 §6.3.8-9 and RFC 5258 example 11 add a third: a hierarchy level that
 * is not itself a mailbox but holds ones the patterns miss.
 */
type Listed =
  | { name: string; reason: "selected"; childInfo: boolean }
  | { name: string; reason: "childinfo" }
  | { name: string; reason: "level" };

function ancestors(name: string): string[] {
  const levels = name.split(SEPARATOR);
  const out: string[] = [];
  for (let i = 1; i < levels.length; i++) out.push(levels.slice(0, i).join(SEPARATOR));
  return out;
}

function listedNames(
  candidates: Iterable<string>,
  selected: ReadonlySet<string>,
  matches: (name: string) => boolean,
  recursiveMatch: boolean,
  reportLevels: boolean,
): Listed[] {
  const out: Listed[] = [];
  const selectedNames = [...selected];
  for (const name of candidates) {
    if (!matches(name)) continue;
    const below = selectedNames.filter((other) => other.startsWith(`${name}${SEPARATOR}`));
    if (selected.has(name)) {
      // RFC 5258 §3.5 and example 9: a listed name with selected descendants carries CHILDINFO,
      // whether or not those descendants match the patterns.
      out.push({ name, reason: "selected", childInfo: recursiveMatch && below.length > 0 });
      continue;
    }
    // RFC 5258 §3.5: a name that is listed only for its descendants is suppressed when every such
    // descendant is listed anyway.
    if (!below.some((other) => !matches(other))) continue;
    if (recursiveMatch) out.push({ name, reason: "childinfo" });
    else if (reportLevels) out.push({ name, reason: "level" });
  }
  return out;
}

/** The untagged responses, and the tagged OK's response code (RFC 9590 METADATA's LONGENTRIES). */
export async function list(
  context: ImapContext,
  command: Extract<Command, { name: "LIST" | "LSUB" }>,
): Promise<{ output: Buffer[]; code: string | null }> {
  const lsub = command.name === "LSUB";
  const patterns = lsub ? [command.pattern] : command.patterns;
  const selection = lsub
    ? { subscribed: true, remote: false, recursiveMatch: false, specialUse: false }
    : command.selection;
  const returns =
    command.name === "LIST"
      ? command.returns
      : { subscribed: false, children: false, specialUse: false, status: null, metadata: null };

  // RFC 9051 §6.3.9: an empty pattern asks for the hierarchy delimiter and root.
  if (!lsub && patterns.length === 1 && patterns[0] === "") {
    return {
      output: [untaggedValues([{ atom: "LIST" }, [{ atom: "\\Noselect" }], SEPARATOR, ""])],
      code: null,
    };
  }
  const mailboxes = await context.store.mailboxes.listMailboxes(context.userId);
  const bySubscription = lsub || selection.subscribed;
  const wantSubscriptions = bySubscription || returns.subscribed;
  const subscribed = new Set(
    wantSubscriptions ? await context.store.mailboxes.listSubscriptions(context.userId) : [],
  );
  const existing = new Map(mailboxes.map((m) => [m.name, m]));
  // RFC 9051 §6.3.9 and RFC 5258 §3.1: a subscription outlives its mailbox; when subscriptions are what
  // is asked for, such a name still meets the criteria and is listed \NonExistent (LSUB: \Noselect).
  const selected = new Set<string>();
  for (const name of bySubscription ? subscribed : existing.keys()) {
    if (selection.specialUse && existing.get(name)?.specialUse == null) continue;
    selected.add(name);
  }
  const candidates = new Set(selected);
  for (const name of selected) for (const parent of ancestors(name)) candidates.add(parent);
  const matchers = patterns.flatMap((p) => {
    const pattern = canonicalPattern(context, command.reference, p);
    return pattern === null ? [] : [patternToRegExp(pattern)];
  });
  const matches = (name: string): boolean => matchers.some((re) => re.test(name));
  const sorted = [...candidates].sort((a, b) =>
    a === "INBOX" ? -1 : b === "INBOX" ? 1 : a.localeCompare(b),
  );
  // RFC 5258 §3 allows a name outside the criteria only through RECURSIVEMATCH, so missing levels are
  // reported when the criteria are "every mailbox" (plain LIST) or for LSUB, where RFC 3501 §6.3.9
  // requires it.
  const reportLevels = lsub || (!selection.subscribed && !selection.specialUse);
  const listed = listedNames(sorted, selected, matches, selection.recursiveMatch, reportLevels);
  // RFC 5258 §3.5: CHILDINFO names the selection options that caused it (RFC 6154 adds SPECIAL-USE).
  const childInfo: ImapValue[] = [];
  if (selection.subscribed) childInfo.push("SUBSCRIBED");
  if (selection.specialUse) childInfo.push("SPECIAL-USE");

  const out: Buffer[] = [];
  let longest = 0;
  for (const entry of listed) {
    const name = entry.name;
    const mailbox = existing.get(name) ?? null;
    const isSubscribed = subscribed.has(name);
    const attributes: ImapValue[] = [];
    if (lsub && (mailbox === null || entry.reason !== "selected")) {
      // RFC 3501 §6.3.9: LSUB marks a name it lists only for its subscribed inferiors \Noselect.
      attributes.push({ atom: "\\Noselect" });
    } else if (mailbox === null) {
      // RFC 5258 §3 and example 11: a missing name is \NonExistent (which implies \Noselect). A rev1
      // client using the RFC 3501 form of LIST knows only \Noselect (RFC 3501 §6.3.8).
      const extended = command.name === "LIST" && command.extended;
      const legacy = entry.reason === "level" && !context.rev2 && !extended;
      attributes.push({ atom: legacy ? "\\Noselect" : "\\NonExistent" });
    }
    // RFC 3348 CHILDREN / RFC 5258 §4: children are existing mailboxes below the name, whether the name
    // itself exists or not. Always cheap here, so always given.
    const hasChildren = mailboxes.some((m) => m.name.startsWith(`${name}${SEPARATOR}`));
    attributes.push({ atom: hasChildren ? "\\HasChildren" : "\\HasNoChildren" });
    if (mailbox?.specialUse != null && (!lsub || returns.specialUse))
      attributes.push({ atom: mailbox.specialUse });
    // RFC 5258 §3.1: the SUBSCRIBED selection option implies the SUBSCRIBED return option.
    if ((returns.subscribed || selection.subscribed) && isSubscribed && !lsub) {
      attributes.push({ atom: "\\Subscribed" });
    }
    const response: ImapValue[] = [
      { atom: lsub ? "LSUB" : "LIST" },
      attributes,
      SEPARATOR,
      encodeName(context, name),
    ];
    const withChildInfo = entry.reason === "childinfo" || (entry.reason === "selected" && entry.childInfo);
    if (withChildInfo) response.push(["CHILDINFO", childInfo]);
    out.push(untaggedValues(response));
    if (returns.status !== null && mailbox !== null && entry.reason === "selected") {
      // RFC 5819 §2: a STATUS response follows each selectable mailbox that meets the criteria, none
      // for a \NonExistent one.
      out.push(await statusResponse(context, mailbox, returns.status));
    }
    if (returns.metadata !== null && mailbox !== null && entry.reason === "selected") {
      // RFC 9590: as with STATUS (RFC 5819 §2), a METADATA response follows the LIST of each mailbox
      // that matches the patterns and selection options; none for a \NonExistent name or one listed only
      // for its CHILDINFO.
      const metadata = await metadataResponse(
        context,
        mailbox.id,
        encodeName(context, name),
        returns.metadata,
      );
      if (metadata.response !== null) out.push(metadata.response);
      longest = Math.max(longest, metadata.longest);
    }
  }
  return { output: out, code: longEntriesCode(longest) };
}

export async function statusResponse(
  context: ImapContext,
  mailbox: Mailbox,
  items: readonly string[],
): Promise<Buffer> {
  const status = await context.store.mailboxes.mailboxStatus(mailbox.id);
  const values: ImapValue[] = [];
  for (const item of items) {
    values.push({ atom: item });
    switch (item) {
      case "MESSAGES":
        values.push(status.messages);
        break;
      case "UIDNEXT":
        values.push(status.uidNext);
        break;
      case "UIDVALIDITY":
        values.push(status.uidValidity);
        break;
      case "UNSEEN":
        values.push(status.unseen);
        break;
      case "SIZE":
        values.push(status.size);
        break;
      case "RECENT": {
        // The messages the next session to select the mailbox would see as recent. IMAP4rev2 has
        // no \Recent (RFC 9051 §2.3.2).
        const claimed = recentClaims(context.store).claimed(mailbox);
        const fresh = context.rev2
          ? []
          : await context.store.messages.listMessages(mailbox.id, { uidFrom: claimed + 1 });
        values.push(fresh.length);
        break;
      }
      case "HIGHESTMODSEQ":
        values.push(status.highestModseq);
        break;
      case "MAILBOXID":
        values.push([{ atom: mailboxIdOf(mailbox) }]);
        break;
      case "DELETED": {
        const messages = await context.store.messages.listMessages(mailbox.id);
        values.push(messages.filter((m) => m.flags.includes("\\Deleted")).length);
        break;
      }
    }
  }
  return untaggedValues([{ atom: "STATUS" }, encodeName(context, mailbox.name), values]);
}

export async function status(
  context: ImapContext,
  command: Extract<Command, { name: "STATUS" }>,
): Promise<Buffer[]> {
  const mailbox = await requireMailbox(context, decodeName(context, command.mailbox));
  return [await statusResponse(context, mailbox, command.items)];
}

/** Creates the mailbox (and missing parents); returns its object id for RFC 8474's MAILBOXID code. */
/** The special uses a CREATE may give: \All and \Flagged would name virtual mailboxes, which mailroom has not. */
const CREATABLE_USES: ReadonlySet<string> = new Set(["\\Drafts", "\\Sent", "\\Trash", "\\Junk", "\\Archive"]);

/** RFC 6154 §3: one attribute per mailbox here; anything else is NO [USEATTR], and nothing is created. */
function specialUseOf(use: readonly string[]): SpecialUse | null {
  if (use.length === 0) return null;
  const [first] = use;
  if (use.length > 1 || first === undefined) {
    throw new CommandFailure("USEATTR", "a mailbox here has at most one special use; give one");
  }
  const known = [...CREATABLE_USES].find((u) => u.toLowerCase() === first.toLowerCase());
  if (known === undefined) {
    throw new CommandFailure(
      "USEATTR",
      `${first} cannot be given to a new mailbox; use one of ${[...CREATABLE_USES].join(" ")}`,
    );
  }
  return known as SpecialUse;
}

export async function create(
  context: ImapContext,
  raw: string,
  use: readonly string[] = [],
): Promise<string> {
  const specialUse = specialUseOf(use);
  // RFC 9051 §6.3.4: a trailing separator only says the client means to create children under it.
  const name = decodeName(context, raw.endsWith(SEPARATOR) ? raw.slice(0, -1) : raw);
  if (name === "INBOX") throw new CommandFailure("ALREADYEXISTS", "INBOX always exists");
  const existing = new Set((await context.store.mailboxes.listMailboxes(context.userId)).map((m) => m.name));
  if (existing.has(name)) throw new CommandFailure("ALREADYEXISTS", `mailbox "${name}" already exists`);
  // RFC 9051 §6.3.4: superior names needed to place the new one are created too.
  const created = [...ancestors(name).filter((parent) => !existing.has(parent) && parent !== "INBOX"), name];
  const subscribed = new Set(await context.store.mailboxes.listSubscriptions(context.userId));
  try {
    for (const level of created) {
      await context.store.mailboxes.createMailbox(context.userId, level, level === name ? specialUse : null);
    }
    // The store subscribes what it creates, but an IMAP CREATE leaves subscriptions as they were (RFC
    // 9051 §6.3.9: SUBSCRIBE is how a name gets one), so a name that had none before loses it again.
    // Not atomic: a LSUB in between may see it subscribed for a moment.
    for (const level of created) {
      if (!subscribed.has(level)) await context.store.mailboxes.setSubscribed(context.userId, level, false);
    }
  } catch (error) {
    storeFailure(error);
  }
  const mailbox = await requireMailbox(context, name);
  return mailboxIdOf(mailbox);
}

export async function remove(context: ImapContext, raw: string): Promise<void> {
  const name = decodeName(context, raw);
  if (name === "INBOX")
    throw new CommandFailure("CANNOT", "INBOX cannot be deleted; expunge its messages instead");
  const mailbox = await requireMailbox(context, name);
  if (context.selected?.mailbox.id === mailbox.id) context.select(null);
  try {
    await context.store.mailboxes.deleteMailbox(context.userId, name);
  } catch (error) {
    storeFailure(error);
  }
}

export async function rename(context: ImapContext, from: string, to: string): Promise<void> {
  const source = decodeName(context, from);
  const target = decodeName(context, to);
  await requireMailbox(context, source);
  if (target === "INBOX")
    throw new CommandFailure("ALREADYEXISTS", "INBOX always exists; choose another name");
  try {
    await context.store.mailboxes.renameMailbox(context.userId, source, target);
  } catch (error) {
    storeFailure(error);
  }
}

/**
 * SUBSCRIBE checks that the mailbox exists, as RFC 9051 §6.3.7 allows ("MAY validate"): a typo then
 * fails at once instead of leaving a name that lists as \NonExistent. UNSUBSCRIBE takes any name, since
 * removing a subscription whose mailbox was deleted (RFC 9051 §6.3.9 keeps it) is what it is for.
 */
export async function subscribe(context: ImapContext, raw: string, subscribed: boolean): Promise<void> {
  const name = decodeName(context, raw);
  if (subscribed) await requireMailbox(context, name);
  try {
    await context.store.mailboxes.setSubscribed(context.userId, name, subscribed);
  } catch (error) {
    storeFailure(error);
  }
}

/** RFC 2342: one personal namespace with no prefix; no other users' or shared namespaces. */
export function namespace(): Buffer[] {
  return [untagged('NAMESPACE (("" "/")) NIL NIL')];
}
