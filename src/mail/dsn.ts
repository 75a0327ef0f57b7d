// Delivery status notifications (RFC 3464): the multipart/report message that tells a sender a
// message failed, is delayed, or was delivered/relayed. Built as a stream of chunks, so returning a
// large original message (RET=FULL) never holds it in memory.

import { randomBytes, randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import { formatDateTime } from "../delivery/future-release.js";
import { rfc5322Date } from "../smtp/protocol/trace.js";
import { readHeaderBlock } from "./headers.js";

/** RFC 3464 §2.3.3. */
export type DsnAction = "failed" | "delayed" | "delivered" | "relayed";

export interface DsnRecipient {
  /** The address delivery was attempted to. */
  finalRecipient: string;
  /** ORCPT as received, "type;address" (RFC 3461 §4.2), already xtext-decoded. */
  originalRecipient?: string;
  action: DsnAction;
  /** RFC 3463 status code, "5.1.1". */
  status: string;
  /** The remote host that gave the reply. */
  remoteMta?: string;
  /** The remote's reply ("550 5.1.1 No such user") or our own reason when there was none. */
  diagnostic?: string;
  /** Whether `diagnostic` is an SMTP reply ("smtp;") or mailroom's own text ("x-mailroom;"). */
  diagnosticType?: "smtp" | "x-mailroom";
  lastAttemptDate?: Date;
  /** For "delayed": when mailroom gives up. */
  willRetryUntil?: Date;
}

export interface DeliveryReport {
  /** This server's name (Reporting-MTA and the From address's domain). */
  reportingMta: string;
  /** The envelope sender of the original message: the report's recipient. */
  to: string;
  envid?: string;
  arrivalDate: Date;
  /** When the sender held the message for release (RFC 4865 HOLDFOR/HOLDUNTIL, JMAP delayed send). */
  futureRelease?: Date;
  recipients: DsnRecipient[];
  /** RET: FULL returns the whole message, HDRS only its header (RFC 3461 §4.3). */
  ret: "FULL" | "HDRS";
  /** Whether the original holds 8-bit bytes (the returned part is then declared 8bit). */
  originalEightBit?: boolean;
  date: Date;
}

/** A field value must stay on its line and within line limits (RFC 5322 §2.1.1). */
function oneLine(text: string, max = 900): string {
  const flat = text.replace(/[\x00-\x1f\x7f]+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}

/** Folds at spaces so no line passes 78 characters where that is possible (RFC 5322 §2.2.3). */
function fold(field: string): string {
  const words = field.split(" ");
  const lines: string[] = [];
  let line = "";
  for (const word of words) {
    if (line.length > 0 && line.length + 1 + word.length > 78) {
      lines.push(line);
      line = ` ${word}`;
    } else {
      line = line.length > 0 ? `${line} ${word}` : word;
    }
  }
  lines.push(line);
  return lines.join("\r\n");
}

function subjectFor(report: DeliveryReport): string {
  const actions = new Set(report.recipients.map((each) => each.action));
  if (actions.has("failed")) return "Undelivered Mail Returned to Sender";
  if (actions.has("delayed")) return "Delayed Mail (still being retried)";
  return "Successful Mail Delivery Report";
}

function humanText(report: DeliveryReport): string {
  const lines = [`This is the mail system at ${report.reportingMta}.`, ""];
  const failed = report.recipients.filter((each) => each.action === "failed");
  const delayed = report.recipients.filter((each) => each.action === "delayed");
  const done = report.recipients.filter((each) => each.action === "delivered" || each.action === "relayed");
  const describe = (each: DsnRecipient): string => {
    const where = each.remoteMta ? ` (reported by ${each.remoteMta})` : "";
    return `<${each.finalRecipient}>: ${oneLine(each.diagnostic ?? each.status)}${where}`;
  };
  if (failed.length > 0) {
    lines.push(
      "Your message could not be delivered to the recipients below. This is a permanent error;",
      "the message will not be tried again. The attached message shows what was sent.",
      "",
      ...failed.map(describe),
      "",
    );
  }
  if (delayed.length > 0) {
    const until = delayed[0]?.willRetryUntil;
    lines.push(
      "Your message has not been delivered yet to the recipients below. This is a temporary",
      `problem: mailroom keeps trying${until ? ` until ${rfc5322Date(until)}` : ""}, and you need not`,
      "send it again.",
      "",
      ...delayed.map(describe),
      "",
    );
  }
  if (done.length > 0) {
    lines.push(
      "Your message was handed on successfully to the recipients below, as you asked to be told.",
      "",
      ...done.map(describe),
      "",
    );
  }
  return `${lines.join("\r\n")}\r\n`;
}

function statusFields(report: DeliveryReport): string {
  const message = [`Reporting-MTA: dns; ${report.reportingMta}`];
  if (report.envid !== undefined) message.push(`Original-Envelope-Id: ${oneLine(report.envid)}`);
  message.push(`Arrival-Date: ${rfc5322Date(report.arrivalDate)}`);
  // RFC 4865 adds this per-message field to RFC 3464 reports, so the sender can tell which of its held
  // messages the report is about. The release is kept as a time, so a HOLDFOR is reported in the same
  // "until" form as a HOLDUNTIL.
  if (report.futureRelease !== undefined) {
    message.push(`Future-Release-Request: until; ${formatDateTime(report.futureRelease)}`);
  }
  const blocks = [message.join("\r\n")];
  for (const each of report.recipients) {
    const fields: string[] = [];
    if (each.originalRecipient !== undefined) {
      const semi = each.originalRecipient.indexOf(";");
      // RFC 3464 §2.3.1: "address-type ; generic-address", as it came in ORCPT.
      const value =
        semi > 0
          ? `${each.originalRecipient.slice(0, semi).trim()}; ${each.originalRecipient.slice(semi + 1).trim()}`
          : `rfc822; ${each.originalRecipient}`;
      fields.push(`Original-Recipient: ${oneLine(value)}`);
    }
    fields.push(`Final-Recipient: rfc822; ${oneLine(each.finalRecipient)}`);
    fields.push(`Action: ${each.action}`);
    fields.push(`Status: ${each.status}`);
    if (each.remoteMta !== undefined) fields.push(`Remote-MTA: dns; ${oneLine(each.remoteMta)}`);
    if (each.diagnostic !== undefined) {
      fields.push(fold(`Diagnostic-Code: ${each.diagnosticType ?? "smtp"}; ${oneLine(each.diagnostic)}`));
    }
    if (each.lastAttemptDate !== undefined)
      fields.push(`Last-Attempt-Date: ${rfc5322Date(each.lastAttemptDate)}`);
    if (each.willRetryUntil !== undefined)
      fields.push(`Will-Retry-Until: ${rfc5322Date(each.willRetryUntil)}`);
    blocks.push(fields.join("\r\n"));
  }
  return `${blocks.join("\r\n\r\n")}\r\n`;
}

/**
 * The report, chunk by chunk. `original` is the returned message (read to its end for RET=FULL, only
 * up to its header block for RET=HDRS); the caller removes any Return-Path from it first.
 */
export async function* deliveryReport(report: DeliveryReport, original: Readable): AsyncGenerator<Buffer> {
  if (report.recipients.length === 0) throw new Error("a delivery report needs at least one recipient");
  const boundary = `=_mailroom_${randomBytes(12).toString("hex")}`;
  const textIsAscii = !/[^\x00-\x7f]/.test(
    report.to + report.recipients.map((each) => each.finalRecipient).join(""),
  );
  const head = [
    `From: Mail Delivery System <MAILER-DAEMON@${report.reportingMta}>`,
    `To: <${report.to}>`,
    `Subject: ${subjectFor(report)}`,
    `Date: ${rfc5322Date(report.date)}`,
    `Message-ID: <${randomUUID()}@${report.reportingMta}>`,
    // RFC 3834 §5: marks the report as automatic, so responders do not answer it.
    "Auto-Submitted: auto-replied",
    "MIME-Version: 1.0",
    `Content-Type: multipart/report; report-type=delivery-status;\r\n boundary="${boundary}"`,
    "",
    "This is a MIME-formatted delivery status notification.",
    "",
    `--${boundary}`,
    `Content-Type: text/plain; charset=${textIsAscii ? "us-ascii" : "utf-8"}`,
    `Content-Transfer-Encoding: ${textIsAscii ? "7bit" : "8bit"}`,
    "Content-Description: Notification",
    "",
    humanText(report),
    `--${boundary}`,
    "Content-Type: message/delivery-status",
    "Content-Description: Delivery report",
    "",
    statusFields(report),
    `--${boundary}`,
  ].join("\r\n");
  yield Buffer.from(`${head}\r\n`, "utf8");
  const encoding = report.originalEightBit ? "8bit" : "7bit";
  if (report.ret === "FULL") {
    yield Buffer.from(
      `Content-Type: message/rfc822\r\nContent-Transfer-Encoding: ${encoding}\r\nContent-Description: Undelivered message\r\n\r\n`,
    );
    let last = 0x0a;
    for await (const chunk of original) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      if (bytes.length > 0) last = bytes[bytes.length - 1] ?? last;
      yield bytes;
    }
    // The closing delimiter must start a line of its own (RFC 2046 §5.1.1).
    if (last !== 0x0a) yield Buffer.from("\r\n");
  } else {
    const block = await readHeaderBlock(original);
    yield Buffer.from(
      `Content-Type: text/rfc822-headers\r\nContent-Transfer-Encoding: ${encoding}\r\nContent-Description: Undelivered message headers\r\n\r\n`,
    );
    yield block;
    if (!block.subarray(-2).equals(Buffer.from("\r\n"))) yield Buffer.from("\r\n");
  }
  yield Buffer.from(`\r\n--${boundary}--\r\n`);
}
