/** STORE and UID STORE (RFC 9051 §6.4.6), with UNCHANGEDSINCE (RFC 7162 §3.1.3). */

import type { Command } from "../protocol/command.js";
import { formatSequence } from "../protocol/sequence.js";
import { CommandRefused, type ImapContext, requireSelected } from "./context.js";
import { resolveTargets } from "./targets.js";

/** Characters of FETCH answers per buffer handed to the writer. */
const ANSWER_CHUNK = 64 * 1024;
const SETTABLE_SYSTEM_FLAGS = new Set(["\\ANSWERED", "\\FLAGGED", "\\DELETED", "\\SEEN", "\\DRAFT"]);

/** Canonical spelling of system flags; keywords are kept as given. \Recent cannot be stored (RFC 9051 §2.3.2). */
export function normalizeFlags(flags: readonly string[]): string[] {
  const out = new Set<string>();
  for (const flag of flags) {
    if (flag.startsWith("\\")) {
      const upper = flag.toUpperCase();
      if (!SETTABLE_SYSTEM_FLAGS.has(upper))
        throw new CommandRefused(
          `${flag} cannot be stored; only \\Answered, \\Flagged, \\Deleted, \\Seen and \\Draft`,
        );
      out.add(`\\${upper[1]}${upper.slice(2).toLowerCase()}`);
    } else {
      out.add(flag);
    }
  }
  return [...out];
}

export async function storeFlags(
  context: ImapContext,
  command: Extract<Command, { name: "STORE" }>,
): Promise<{ output: Buffer[]; code: string | null }> {
  const view = requireSelected(context);
  if (view.readOnly)
    throw new CommandRefused("the mailbox is read-only (EXAMINE); SELECT it to change flags");
  const flags = normalizeFlags(command.flags);
  const targets = resolveTargets(view, command.set, command.uid, context.savedUids);
  const uids = targets.map((t) => t.uid);
  const result = await context.store.messages.updateFlags(
    view.mailbox.id,
    uids,
    command.operation,
    flags,
    command.unchangedSince === null ? undefined : { unchangedSince: command.unchangedSince },
  );
  for (const message of result.updated) view.noteFlags(message);
  // Told even with .SILENT: a FETCH the client makes next would show the keyword.
  const out = view.announceKeywords(result.updated.flatMap((m) => m.flags));
  const updated = new Set(result.updated.map((m) => m.uid));
  const refused = new Set(result.modified);
  // The answers as text, cut into buffers of about 64 KiB: a STORE on a whole mailbox answers for every
  // message, and building a buffer per answer cost more than the update itself.
  let text = "";
  for (const { uid } of targets) {
    if (refused.has(uid)) continue;
    // .SILENT suppresses the echo, but with CONDSTORE a change still reports its MODSEQ (RFC 7162 §3.1.3).
    if (command.silent && !(context.condstore && command.unchangedSince !== null && updated.has(uid)))
      continue;
    const index = view.indexOf(uid);
    const message = view.messages[index];
    if (message === undefined) continue;
    const data: string[] = [];
    if (!command.silent) data.push(`FLAGS (${view.shownFlags(uid, message.flags).join(" ")})`);
    if (command.uid) data.push(`UID ${uid}`);
    if (context.condstore) data.push(`MODSEQ (${message.modseq})`);
    text += `* ${index + 1} FETCH (${data.join(" ")})\r\n`;
    if (text.length >= ANSWER_CHUNK) {
      out.push(Buffer.from(text, "utf8"));
      text = "";
    }
  }
  if (text.length > 0) out.push(Buffer.from(text, "utf8"));
  let code: string | null = null;
  if (result.modified.length > 0) {
    const numbers = command.uid
      ? result.modified
      : result.modified.map((uid) => view.seqOf(uid)).filter((s) => s > 0);
    code = `MODIFIED ${formatSequence(numbers)}`;
  }
  return { output: out, code };
}
