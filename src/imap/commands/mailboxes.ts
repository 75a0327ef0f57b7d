/** Commands on mailboxes as names: LIST, LSUB, CREATE, DELETE, RENAME, (UN)SUBSCRIBE, STATUS, NAMESPACE. */

import type { Mailbox } from "../../store/types.js";
import type { Command } from "../protocol/command.js";
import type { ImapValue } from "../protocol/value.js";
import { untagged, untaggedValues } from "../responses.js";
import {
  CommandFailure,
  decodeName,
  encodeName,
  type ImapContext,
  requireMailbox,
  storeFailure,
} from "./context.js";

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

function canonicalPattern(context: ImapContext, reference: string, pattern: string): string {
  const raw = pattern.startsWith(SEPARATOR) || reference === "" ? pattern : `${reference}${pattern}`;
  return decodeName(context, raw);
}

export async function list(
  context: ImapContext,
  command: Extract<Command, { name: "LIST" | "LSUB" }>,
): Promise<Buffer[]> {
  const lsub = command.name === "LSUB";
  const patterns = lsub ? [command.pattern] : command.patterns;
  const selection = lsub
    ? { subscribed: true, remote: false, recursiveMatch: false, specialUse: false }
    : command.selection;
  const returns =
    command.name === "LIST"
      ? command.returns
      : { subscribed: false, children: false, specialUse: false, status: null };

  // RFC 9051 §6.3.9: an empty pattern asks for the hierarchy delimiter and root.
  if (!lsub && patterns.length === 1 && patterns[0] === "") {
    return [untaggedValues([{ atom: "LIST" }, [{ atom: "\\Noselect" }], SEPARATOR, ""])];
  }
  const mailboxes = await context.store.listMailboxes(context.userId);
  const wantSubscriptions = lsub || selection.subscribed || returns.subscribed;
  const subscribed = new Set(wantSubscriptions ? await context.store.listSubscriptions(context.userId) : []);
  const existing = new Map(mailboxes.map((m) => [m.name, m]));
  const names = new Set(existing.keys());
  // RFC 9051 §6.3.9 and RFC 5258 §3.4: a subscription outlives its mailbox; when subscriptions are what
  // is asked for, such a name is still listed, marked \NonExistent (LSUB marks it \Noselect).
  if (lsub || selection.subscribed) for (const name of subscribed) names.add(name);
  const matchers = patterns.map((p) => patternToRegExp(canonicalPattern(context, command.reference, p)));
  const out: Buffer[] = [];
  const sorted = [...names].sort((a, b) => (a === "INBOX" ? -1 : b === "INBOX" ? 1 : a.localeCompare(b)));
  for (const name of sorted) {
    if (!matchers.some((re) => re.test(name))) continue;
    const mailbox = existing.get(name) ?? null;
    const isSubscribed = subscribed.has(name);
    if ((lsub || selection.subscribed) && !isSubscribed) continue;
    if (selection.specialUse && mailbox?.specialUse == null) continue;
    const attributes: ImapValue[] = [];
    if (mailbox === null) {
      // RFC 5258 §3.4 / RFC 9051 §7.3.1: \NonExistent implies \Noselect, which LSUB (RFC 3501 §6.3.9)
      // knows instead.
      attributes.push({ atom: lsub ? "\\Noselect" : "\\NonExistent" });
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
    out.push(
      untaggedValues([{ atom: lsub ? "LSUB" : "LIST" }, attributes, SEPARATOR, encodeName(context, name)]),
    );
    if (returns.status !== null && mailbox !== null) {
      // RFC 5819 §2: a STATUS response follows each selectable mailbox, none for a \NonExistent one.
      out.push(await statusResponse(context, mailbox, returns.status));
    }
  }
  return out;
}

export async function statusResponse(
  context: ImapContext,
  mailbox: Mailbox,
  items: readonly string[],
): Promise<Buffer> {
  const status = await context.store.mailboxStatus(mailbox.id);
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
      case "RECENT":
        // RFC 9051 §2.3.2 dropped \Recent; rev1 clients are told no message is recent.
        values.push(0);
        break;
      case "HIGHESTMODSEQ":
        context.condstore = true;
        values.push(status.highestModseq);
        break;
      case "DELETED": {
        const messages = await context.store.listMessages(mailbox.id);
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

export async function create(context: ImapContext, raw: string): Promise<void> {
  // RFC 9051 §6.3.4: a trailing separator only says the client means to create children under it.
  const name = decodeName(context, raw.endsWith(SEPARATOR) ? raw.slice(0, -1) : raw);
  if (name === "INBOX") throw new CommandFailure("ALREADYEXISTS", "INBOX always exists");
  const existing = new Set((await context.store.listMailboxes(context.userId)).map((m) => m.name));
  if (existing.has(name)) throw new CommandFailure("ALREADYEXISTS", `mailbox "${name}" already exists`);
  // RFC 9051 §6.3.4: superior names needed to place the new one are created too.
  const levels = name.split(SEPARATOR);
  try {
    for (let i = 1; i < levels.length; i++) {
      const parent = levels.slice(0, i).join(SEPARATOR);
      if (!existing.has(parent) && parent !== "INBOX")
        await context.store.createMailbox(context.userId, parent);
    }
    await context.store.createMailbox(context.userId, name);
  } catch (error) {
    storeFailure(error);
  }
}

export async function remove(context: ImapContext, raw: string): Promise<void> {
  const name = decodeName(context, raw);
  if (name === "INBOX")
    throw new CommandFailure("CANNOT", "INBOX cannot be deleted; expunge its messages instead");
  const mailbox = await requireMailbox(context, name);
  if (context.selected?.mailbox.id === mailbox.id) context.select(null);
  try {
    await context.store.deleteMailbox(context.userId, name);
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
    await context.store.renameMailbox(context.userId, source, target);
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
    await context.store.setSubscribed(context.userId, name, subscribed);
  } catch (error) {
    storeFailure(error);
  }
}

/** RFC 2342: one personal namespace with no prefix; no other users' or shared namespaces. */
export function namespace(): Buffer[] {
  return [untagged('NAMESPACE (("" "/")) NIL NIL')];
}
