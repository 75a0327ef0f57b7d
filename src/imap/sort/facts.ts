/**
 * What SORT and THREAD compare about one message (RFC 5256 §2 and §3, RFC 5957), read once from its
 * stored header section: the sent date, the base subject, the first From/To/Cc mailbox and display
 * name, and for THREAD=REFERENCES its Message-ID and references.
 */

import { mailboxAddress, parseAddressList } from "../../mail/address-list.js";
import { dateTime } from "../../mail/date-time.js";
import { decodeEncodedWords } from "../../mail/mime/encoded-words.js";
import { fieldValue, findField, scanHeader, withoutComments } from "../../mail/mime/header.js";
import { foldCase } from "../../mail/search-match.js";
import type { SortInputs } from "../../store/sort-inputs.js";
import { baseSubject } from "./base-subject.js";

/** One message as SORT and THREAD see it: its place in the mailbox and what its header section says. */
export interface SortFacts {
  seq: number;
  uid: number;
  size: number;
  internalDate: number;
  /** RFC 5256 §2.2: the Date field in UTC, or the internal date when it is missing or unreadable. */
  sentDate: number;
  inputs: SortInputs;
}

/**
 * The msg-ids of a field, normalized as RFC 5256 §3 asks so that `<"a.b"@x>` and `<a.b@x>` are one id:
 * comments, quoting, escapes and white space inside the brackets removed.
 */
export function msgIds(value: string): string[] {
  const ids: string[] = [];
  for (const m of withoutComments(value).matchAll(/<([^<>]*)>/g)) {
    const id = (m[1] ?? "").replace(/\\(.)/g, "$1").replace(/["\s]/g, "");
    if (id.includes("@") && !ids.includes(id)) ids.push(id);
  }
  return ids;
}

function firstMailbox(value: string | undefined): { local: string; display: string } {
  if (value === undefined) return { local: "", display: "" };
  for (const entry of parseAddressList(value)) {
    const mailbox = "group" in entry ? entry.mailboxes[0] : entry;
    if (mailbox === undefined) continue;
    const name = mailbox.name === null ? "" : decodeEncodedWords(mailbox.name).trim();
    return {
      local: foldCase(mailbox.local.replace(/^"(.*)"$/, "$1")),
      display: foldCase(name !== "" ? name : mailboxAddress(mailbox)),
    };
  }
  return { local: "", display: "" };
}

/** What SORT and THREAD compare of a message with this header section (none: every field missing). */
export function sortInputs(header: Buffer | null): SortInputs {
  const block = header ?? Buffer.alloc(0);
  const { fields } = scanHeader(block, 0, block.length);
  const field = (name: string): string | undefined => {
    const found = findField(fields, name);
    return found === undefined ? undefined : fieldValue(block, found);
  };
  const date = field("date");
  const parsed = date === undefined ? null : dateTime(date);
  const sent = parsed === null ? Number.NaN : Date.parse(parsed);
  const from = firstMailbox(field("from"));
  const to = firstMailbox(field("to"));
  let references = msgIds(field("references") ?? "");
  if (references.length === 0) references = msgIds(field("in-reply-to") ?? "").slice(0, 1);
  return {
    sentDate: Number.isNaN(sent) ? null : sent,
    subject: baseSubject(field("subject") ?? ""),
    fromMailbox: from.local,
    toMailbox: to.local,
    ccMailbox: firstMailbox(field("cc")).local,
    displayFrom: from.display,
    displayTo: to.display,
    messageId: msgIds(field("message-id") ?? "")[0] ?? null,
    references,
  };
}

/** The inputs of a message without a header section worth reading: what SORT ARRIVAL or SIZE passes on. */
export const NO_INPUTS: SortInputs = sortInputs(null);

/** The facts of the message at `seq` (UID `uid`) whose body has these inputs. */
export function sortFacts(
  seq: number,
  uid: number,
  size: number,
  internalDate: Date,
  inputs: SortInputs,
): SortFacts {
  const internal = internalDate.getTime();
  return { seq, uid, size, internalDate: internal, sentDate: inputs.sentDate ?? internal, inputs };
}
