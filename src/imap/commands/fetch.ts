/** FETCH and UID FETCH (RFC 9051 §6.4.5), with BINARY (RFC 3516) and CONDSTORE/QRESYNC (RFC 7162). */

import type { MailboxMessage } from "../../store/types.js";
import { bodyStructureOf } from "../mime/bodystructure.js";
import { envelopeOf } from "../mime/envelope.js";
import { binaryBytes, sectionBytes } from "../mime/section.js";
import { type MessagePart, parseMessageStructure } from "../mime/structure.js";
import type { Command, FetchItem, Partial, SectionSpec } from "../protocol/command.js";
import { formatSequence } from "../protocol/sequence.js";
import { encodeValue, type ImapValue } from "../protocol/value.js";
import { flagList, formatInternalDate, untagged } from "../responses.js";
import type { SelectedMailbox } from "../selected.js";
import { CommandFailure, type ImapContext, requireSelected } from "./context.js";
import { resolveTargets } from "./targets.js";

type FetchCommand = Extract<Command, { name: "FETCH" }>;

const BODY_ITEMS = new Set([
  "ENVELOPE",
  "BODYSTRUCTURE",
  "BODY",
  "RFC822",
  "RFC822.HEADER",
  "RFC822.TEXT",
  "section",
  "binary",
  "binary.size",
]);

function setsSeen(item: FetchItem): boolean {
  return (
    ((item.kind === "section" || item.kind === "binary") && !item.peek) ||
    item.kind === "RFC822" ||
    item.kind === "RFC822.TEXT"
  );
}

/** Loads a message's bytes and MIME structure once, only when an item needs them. */
class MessageContent {
  private bytes: Buffer | null = null;
  private structure: MessagePart | null = null;

  constructor(
    private readonly context: ImapContext,
    private readonly message: MailboxMessage,
  ) {}

  async load(): Promise<Buffer> {
    this.bytes ??= await this.context.store.readBlobBytes(this.message.messageId);
    return this.bytes;
  }

  async part(): Promise<MessagePart> {
    const bytes = await this.load();
    this.structure ??= parseMessageStructure(bytes);
    return this.structure;
  }

  async section(section: SectionSpec): Promise<Buffer | null> {
    const bytes = await this.load();
    if (section.part.length === 0 && section.text === undefined) return bytes;
    return sectionBytes(bytes, await this.part(), section);
  }
}

function applyPartial(data: Buffer, partial: Partial | null): Buffer {
  if (partial === null) return data;
  return data.subarray(
    Math.min(partial.offset, data.length),
    Math.min(partial.offset + partial.length, data.length),
  );
}

/** RFC 3516 §4.2: binary content with NUL octets must go as literal8. */
function binaryLiteral(data: Buffer): Buffer {
  const prefix = data.includes(0) ? "~" : "";
  return Buffer.concat([Buffer.from(`${prefix}{${data.length}}\r\n`), data]);
}

export async function fetch(
  context: ImapContext,
  command: FetchCommand,
): Promise<{ output: Buffer[]; code: string | null }> {
  const view = requireSelected(context);
  if (command.changedSince !== null || command.items.some((i) => i.kind === "MODSEQ"))
    context.condstore = true;
  const targets = resolveTargets(view, command.set, command.uid, context.savedUids);
  const out: Buffer[] = [];
  if (command.vanished && command.changedSince !== null) {
    const known = new Set(targets.map((t) => t.uid));
    const set = command.set;
    const expunged = await context.store.expungedSince(view.mailbox.id, command.changedSince);
    const vanished = expunged.filter(
      (uid) => known.has(uid) || (set.kind === "ranges" && inRanges(set, uid)),
    );
    if (vanished.length > 0) out.push(untagged(`VANISHED (EARLIER) ${formatSequence(vanished)}`));
  }
  const messages = await loadMessages(
    context,
    view,
    targets.map((t) => t.uid),
  );
  let missing = false;
  const markSeen = !view.readOnly && command.items.some(setsSeen);
  for (const { uid } of targets) {
    let message = messages.get(uid);
    if (message === undefined) {
      missing = true;
      continue;
    }
    if (command.changedSince !== null && message.modseq <= command.changedSince) continue;
    let flagsChanged = false;
    if (markSeen && !message.flags.includes("\\Seen")) {
      const result = await context.store.updateFlags(view.mailbox.id, [uid], "add", ["\\Seen"]);
      const updated = result.updated[0];
      if (updated !== undefined) {
        message = updated;
        view.noteFlags(updated);
        flagsChanged = true;
      }
    }
    out.push(await fetchResponse(context, view, message, command.items, flagsChanged));
  }
  return { output: out, code: missing ? "EXPUNGEISSUED" : null };
}

function inRanges(set: { ranges: Array<{ start: number | "*"; end: number | "*" }> }, uid: number): boolean {
  return set.ranges.some((r) => {
    const a = r.start === "*" ? Number.MAX_SAFE_INTEGER : r.start;
    const b = r.end === "*" ? Number.MAX_SAFE_INTEGER : r.end;
    return uid >= Math.min(a, b) && uid <= Math.max(a, b);
  });
}

export async function loadMessages(
  context: ImapContext,
  view: SelectedMailbox,
  uids: readonly number[],
): Promise<Map<number, MailboxMessage>> {
  const map = new Map<number, MailboxMessage>();
  if (uids.length <= 20) {
    for (const uid of uids) {
      const message = await context.store.getMessage(view.mailbox.id, uid);
      if (message !== null) map.set(uid, message);
    }
    return map;
  }
  const wanted = new Set(uids);
  for (const message of await context.store.listMessages(view.mailbox.id)) {
    if (wanted.has(message.uid)) map.set(message.uid, message);
  }
  return map;
}

async function fetchResponse(
  context: ImapContext,
  view: SelectedMailbox,
  message: MailboxMessage,
  items: readonly FetchItem[],
  flagsChanged: boolean,
): Promise<Buffer> {
  const content = new MessageContent(context, message);
  const parts: Buffer[] = [];
  const add = (name: string, value: ImapValue | Buffer) => {
    parts.push(
      Buffer.concat([
        Buffer.from(`${name} `),
        Buffer.isBuffer(value) ? encodeValue(value) : encodeValue(value),
      ]),
    );
  };
  let sentFlags = false;
  for (const item of items) {
    if (BODY_ITEMS.has(item.kind)) await content.load();
    switch (item.kind) {
      case "FLAGS":
        add("FLAGS", flagList(message.flags));
        sentFlags = true;
        break;
      case "UID":
        add("UID", message.uid);
        break;
      case "INTERNALDATE":
        add("INTERNALDATE", formatInternalDate(message.internalDate));
        break;
      case "RFC822.SIZE":
        add("RFC822.SIZE", message.size);
        break;
      case "MODSEQ":
        add("MODSEQ", [message.modseq]);
        break;
      case "ENVELOPE":
        add("ENVELOPE", envelopeOf(await content.part(), await content.load()));
        break;
      case "BODYSTRUCTURE":
        add("BODYSTRUCTURE", bodyStructureOf(await content.part(), await content.load(), true));
        break;
      case "BODY":
        add("BODY", bodyStructureOf(await content.part(), await content.load(), false));
        break;
      case "RFC822":
        add("RFC822", await content.load());
        break;
      case "RFC822.HEADER":
        add("RFC822.HEADER", (await content.section({ part: [], text: "HEADER" })) ?? Buffer.alloc(0));
        break;
      case "RFC822.TEXT":
        add("RFC822.TEXT", (await content.section({ part: [], text: "TEXT" })) ?? Buffer.alloc(0));
        break;
      case "section": {
        const data = await content.section(item.section);
        // RFC 9051 §6.4.5: a part that does not exist is returned as an empty string.
        add(item.label, applyPartial(data ?? Buffer.alloc(0), item.partial));
        break;
      }
      case "binary": {
        const data = binaryBytes(await content.load(), await content.part(), item.part);
        if (data === "unknown-cte") {
          throw new CommandFailure(
            "UNKNOWN-CTE",
            `part ${item.part.join(".")} has a transfer encoding the server cannot decode`,
          );
        }
        const label = item.partial === null ? item.label : `${item.label}<${item.partial.offset}>`;
        if (data === null) {
          add(label, null);
        } else {
          parts.push(
            Buffer.concat([Buffer.from(`${label} `), binaryLiteral(applyPartial(data, item.partial))]),
          );
        }
        break;
      }
      case "binary.size": {
        const data = binaryBytes(await content.load(), await content.part(), item.part);
        if (data === "unknown-cte") {
          throw new CommandFailure(
            "UNKNOWN-CTE",
            `part ${item.part.join(".")} has a transfer encoding the server cannot decode`,
          );
        }
        add(item.label, data === null ? null : data.length);
        break;
      }
    }
  }
  // RFC 9051 §6.4.5: when fetching sets \Seen, the new flags are reported too.
  if (flagsChanged && !sentFlags) add("FLAGS", flagList(message.flags));
  const seq = view.seqOf(message.uid);
  const joined: Buffer[] = [];
  parts.forEach((part, i) => {
    if (i > 0) joined.push(Buffer.from(" "));
    joined.push(part);
  });
  return Buffer.concat([Buffer.from(`* ${seq} FETCH (`), ...joined, Buffer.from(")\r\n")]);
}
