// RFC 3834 rules for automatic replies (JMAP VacationResponse, RFC 8621 §8, and the Sieve "vacation"
// extension, RFC 5230, share them): whether a delivered message may be answered at all, and the reply.
// Pure: the caller reads the setting, claims the reply in the store's reply log (once per sender per
// period, atomically) and queues what buildAutoReply returns.

import MailComposer from "nodemailer/lib/mail-composer";
import { parseAddresses } from "./address-list.js";
import { newMessageId, toCrlf } from "./compose.js";

/** A user's vacation setting, as JMAP VacationResponse names it (RFC 8621 §8.1). */
export interface VacationSetting {
  isEnabled: boolean;
  /** Replies are sent only from this instant on; null: no lower bound. */
  fromDate: Date | null;
  /** …and only before this instant; null: no upper bound. */
  toDate: Date | null;
  subject: string | null;
  textBody: string | null;
  htmlBody: string | null;
}

/** Whether the setting answers mail arriving at `now` (RFC 8621 §8.1: fromDate inclusive, toDate not). */
export function vacationActive(setting: VacationSetting, now: Date): boolean {
  if (!setting.isEnabled) return false;
  if (setting.fromDate && now < setting.fromDate) return false;
  if (setting.toDate && now >= setting.toDate) return false;
  return true;
}

export type NoReplyReason =
  | "null-sender"
  | "auto-submitted"
  | "mailing-list"
  | "precedence"
  | "system-sender"
  | "own-address"
  | "not-addressed";

export interface ReplyCheck {
  /** The envelope sender (MAIL FROM); "" for the null return path <>. */
  envelopeSender: string;
  /** The original message's header fields as [name, unfolded value]. */
  fields: ReadonlyArray<readonly [string, string]>;
  /** Every address of the user (lower-cased comparison); the reply goes only when one is in To or Cc. */
  userAddresses: readonly string[];
}

// RFC 3834 §2: replies to these would reach software or a whole list rather than a person. "owner-" and
// "-request" are the list-manager conventions RFC 3834 §2 names; mailer-daemon and postmaster send bounces.
const SYSTEM_LOCAL = /^(mailer-daemon|postmaster|listserv|majordomo|owner-.*|.*-request)$/i;

/** Why the message must not be answered, or null when a reply may go. Checks run cheapest first. */
export function noReplyReason(check: ReplyCheck): NoReplyReason | null {
  const sender = check.envelopeSender.trim();
  // RFC 3834 §2: a reply goes to the return path; <> means "never answer" (bounces, DSNs, MDNs).
  if (sender === "" || sender === "<>") return "null-sender";
  const at = sender.lastIndexOf("@");
  if (SYSTEM_LOCAL.test(at === -1 ? sender : sender.slice(0, at))) return "system-sender";
  const mine = new Set(check.userAddresses.map((address) => address.toLowerCase()));
  // A message from oneself (a copy to self, or a forged sender) would have the user answer themselves.
  if (mine.has(sender.toLowerCase())) return "own-address";
  const fields = check.fields.map(([name, value]) => [name.toLowerCase(), value.trim()] as const);
  for (const [name, value] of fields) {
    // RFC 3834 §5.1: any value but "no" marks an automatic message (parameters may follow a ";").
    if (name === "auto-submitted" && value.split(";")[0]?.trim().toLowerCase() !== "no")
      return "auto-submitted";
    // RFC 2369 List-* and RFC 2919 List-Id: the message came through a list (RFC 3834 §2).
    if (name.startsWith("list-")) return "mailing-list";
    if (name === "precedence" && /^(bulk|list|junk)$/i.test(value)) return "precedence";
  }
  // RFC 3834 §2 allows replying only when the user is an explicit recipient; Bcc and list copies are not.
  // We choose To and Cc (not Resent-To), as Sieve vacation's default address check does (RFC 5230 §4.5).
  const addressed = fields
    .filter(([name]) => name === "to" || name === "cc")
    .flatMap(([, value]) => parseAddresses(value))
    .some((address) => mine.has(address.toLowerCase()));
  return addressed ? null : "not-addressed";
}

export interface ReplyInput {
  /** The user's address: the reply's From and the envelope sender's domain for the Message-ID. */
  from: string;
  /** The original envelope sender, where the reply goes (RFC 3834 §4). */
  to: string;
  /** The original message's header fields. */
  fields: ReadonlyArray<readonly [string, string]>;
  setting: Pick<VacationSetting, "subject" | "textBody" | "htmlBody">;
  now: Date;
}

export const DEFAULT_TEXT =
  "This is an automatic reply: I am away and will read your message when I am back.\n";

/** A complete reply message with CRLF line ends (RFC 3834 §3). */
export async function buildAutoReply(input: ReplyInput): Promise<Buffer> {
  const field = (name: string) =>
    input.fields.find(([key]) => key.toLowerCase() === name)?.[1].trim() ?? null;
  const messageId = field("message-id");
  const references = [field("references") ?? field("in-reply-to"), messageId].filter(Boolean).join(" ");
  const original = field("subject") ?? "";
  // RFC 3834 §3.1.5: "Auto:" or the original subject; "Re:" is what mail clients thread on (RFC 5322 §3.6.5).
  const subject = input.setting.subject ?? (/^re:/i.test(original) ? original : `Re: ${original}`.trim());
  // RFC 8621 §8.1: with neither body set, "an appropriate default body SHOULD be generated".
  const text = input.setting.textBody ?? (input.setting.htmlBody ? undefined : DEFAULT_TEXT);
  const composer = new MailComposer({
    from: input.from,
    to: input.to,
    subject,
    date: input.now,
    messageId: newMessageId(input.from),
    inReplyTo: messageId ?? undefined,
    references: references === "" ? undefined : references,
    text,
    html: input.setting.htmlBody ?? undefined,
    // RFC 3834 §5.1/§5.2: marks the reply so other responders do not answer it in turn.
    headers: { "Auto-Submitted": "auto-replied" },
  });
  return toCrlf(await composer.compile().build());
}
