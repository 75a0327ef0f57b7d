// The refusal notice of a Sieve "reject" that could not refuse the message in the SMTP dialogue (RFC
// 5429 §2.1.2): a Message Disposition Notification (RFC 8098) whose disposition says the message was
// deleted automatically, with the script's reason for a person to read. Pure: the caller commits it
// from the null sender like every other notice.

import { randomBytes, randomUUID } from "node:crypto";
import { rfc5322Date } from "../smtp/protocol/trace.js";

export interface RefusalReport {
  /** This server's name: Reporting-UA and the From address's domain. */
  reportingHost: string;
  /** The envelope sender of the refused message: the notice's recipient. */
  to: string;
  /** The address of the user whose script refused it. */
  finalRecipient: string;
  /** The script's reason (UTF-8 text). */
  reason: string;
  /** The refused message's header block (CRLF), without the Return-Path this server added. */
  originalHeader: Buffer;
  date: Date;
}

/** A field value must stay on its line (RFC 5322 §2.2). */
function oneLine(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]+/g, " ").trim();
}

function field(header: string, name: string): string | null {
  const match = new RegExp(`^${name}:[ \\t]*(.*(?:\\r\\n[ \\t].*)*)`, "im").exec(header);
  return match?.[1] === undefined ? null : oneLine(match[1]);
}

/** The complete notice, CRLF line ends. */
export function refusalReport(report: RefusalReport): Buffer {
  const boundary = `=_mailroom_${randomBytes(12).toString("hex")}`;
  const header = report.originalHeader.toString("latin1");
  const originalId = field(header, "message-id");
  const subject = field(header, "subject");
  const reason = report.reason.replace(/\r\n|\r|\n/g, "\r\n");
  const ascii = !/[^\x00-\x7f]/.test(reason + report.finalRecipient);
  const disposition = [
    `Reporting-UA: ${report.reportingHost}; mailroom`,
    `Final-Recipient: rfc822; ${oneLine(report.finalRecipient)}`,
    ...(originalId === null ? [] : [`Original-Message-ID: ${originalId}`]),
    // RFC 5429 §2.1.2: the disposition a Sieve reject reports.
    "Disposition: automatic-action/MDN-sent-automatically; deleted",
  ];
  const block = report.originalHeader.subarray(-2).equals(Buffer.from("\r\n"))
    ? report.originalHeader
    : Buffer.concat([report.originalHeader, Buffer.from("\r\n")]);
  const head = [
    `From: Mail Delivery System <MAILER-DAEMON@${report.reportingHost}>`,
    `To: <${report.to}>`,
    // A raw 8-bit subject has no known charset; the notice then names it generically.
    `Subject: Rejected: ${subject === null || /[^\x00-\x7f]/.test(subject) ? "your message" : subject}`,
    `Date: ${rfc5322Date(report.date)}`,
    `Message-ID: <${randomUUID()}@${report.reportingHost}>`,
    // RFC 3834 §5: an automatic message, which responders must not answer.
    "Auto-Submitted: auto-replied",
    "MIME-Version: 1.0",
    `Content-Type: multipart/report; report-type=disposition-notification;\r\n boundary="${boundary}"`,
    "",
    "This is a MIME-formatted message disposition notification.",
    "",
    `--${boundary}`,
    `Content-Type: text/plain; charset=${ascii ? "us-ascii" : "utf-8"}`,
    `Content-Transfer-Encoding: ${ascii ? "7bit" : "8bit"}`,
    "",
    `Your message to <${oneLine(report.finalRecipient)}> was rejected by the recipient's mail filter.`,
    "The reason given was:",
    "",
    reason,
    "",
    `--${boundary}`,
    "Content-Type: message/disposition-notification",
    "",
    ...disposition,
    "",
    `--${boundary}`,
    "Content-Type: text/rfc822-headers",
    "",
    "",
  ].join("\r\n");
  return Buffer.concat([Buffer.from(head, "utf8"), block, Buffer.from(`\r\n--${boundary}--\r\n`)]);
}
