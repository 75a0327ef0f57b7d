/** SELECT and EXAMINE (RFC 9051 §6.3.2–3), with CONDSTORE and QRESYNC (RFC 7162 §3.1.2, §3.2.5). */

import type { Command } from "../protocol/command.js";
import { expandSequenceSet, formatSequence } from "../protocol/sequence.js";
import { flagList, untagged, untaggedValues } from "../responses.js";
import { SelectedMailbox } from "../selected.js";
import { CommandRefused, decodeName, encodeName, type ImapContext, requireMailbox } from "./context.js";

export const SYSTEM_FLAGS = ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"];

export async function select(
  context: ImapContext,
  command: Extract<Command, { name: "SELECT" | "EXAMINE" }>,
): Promise<{ output: Buffer[]; code: string }> {
  if (command.qresync !== null && !context.qresync) {
    throw new CommandRefused("QRESYNC must be enabled first (ENABLE QRESYNC)");
  }
  // RFC 9051 §6.3.2: a failed SELECT leaves no mailbox selected, so deselect before trying.
  context.select(null);
  const mailbox = await requireMailbox(context, decodeName(context, command.mailbox));
  if (command.condstore) context.condstore = true;
  const messages = await context.store.listMessages(mailbox.id);
  const readOnly = command.name === "EXAMINE";
  const view = new SelectedMailbox(mailbox, readOnly, messages);
  const keywords = new Set<string>();
  for (const message of messages)
    for (const flag of message.flags) if (!flag.startsWith("\\")) keywords.add(flag);
  const flags = [...SYSTEM_FLAGS, ...keywords];
  const status = await context.store.mailboxStatus(mailbox.id);
  const out: Buffer[] = [
    untaggedValues([{ atom: "FLAGS" }, flagList(flags)]),
    untagged(`${view.exists} EXISTS`),
  ];
  if (!context.rev2) out.push(untagged("0 RECENT"));
  const firstUnseen = view.messages.findIndex((m) => !m.flags.includes("\\Seen"));
  if (!context.rev2 && firstUnseen >= 0)
    out.push(untagged(`OK [UNSEEN ${firstUnseen + 1}] first unseen message`));
  out.push(untagged(`OK [UIDVALIDITY ${mailbox.uidValidity}] UIDs valid`));
  out.push(untagged(`OK [UIDNEXT ${status.uidNext}] predicted next UID`));
  out.push(untagged(`OK [HIGHESTMODSEQ ${status.highestModseq}] highest modification sequence`));
  if (readOnly) {
    out.push(untagged("OK [PERMANENTFLAGS ()] read-only mailbox"));
  } else {
    out.push(
      untaggedValues([
        { atom: "OK" },
        { atom: `[PERMANENTFLAGS (${[...flags, "\\*"].join(" ")})]` },
        { atom: "flags may be set" },
      ]),
    );
  }
  if (context.rev2) {
    // RFC 9051 §6.3.2: the server returns the mailbox's LIST response, giving its canonical name.
    const attributes = mailbox.specialUse === null ? [] : [{ atom: mailbox.specialUse }];
    out.push(untaggedValues([{ atom: "LIST" }, attributes, "/", encodeName(context, mailbox.name)]));
  }
  const qresync = command.qresync;
  if (qresync !== null && qresync.uidValidity === mailbox.uidValidity) {
    let vanished = await context.store.expungedSince(mailbox.id, qresync.modseq);
    if (qresync.knownUids !== null) {
      const known = new Set(expandSequenceSet(qresync.knownUids, Math.max(view.maxUid, ...vanished, 0)));
      vanished = vanished.filter((uid) => known.has(uid));
    }
    if (vanished.length > 0) out.push(untagged(`VANISHED (EARLIER) ${formatSequence(vanished)}`));
    for (const message of await context.store.listMessages(mailbox.id, { sinceModseq: qresync.modseq })) {
      const seq = view.seqOf(message.uid);
      if (seq === 0) continue;
      out.push(
        untaggedValues([
          seq,
          { atom: "FETCH" },
          [
            { atom: "UID" },
            message.uid,
            { atom: "FLAGS" },
            flagList(message.flags),
            { atom: "MODSEQ" },
            [message.modseq],
          ],
        ]),
      );
    }
  }
  context.select(view);
  return { output: out, code: readOnly ? "READ-ONLY" : "READ-WRITE" };
}
