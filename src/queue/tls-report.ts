// TLS-RPT (RFC 8460): the daily report of one policy domain's TLS sessions as §4.4's JSON, and the
// message that carries it (§5.3). Pure: the counts come from the store (mtaSts.tlsSessions), the sending
// from tls-reporter.ts.

import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { rfc5322Date } from "../smtp/protocol/trace.js";

/** RFC 8460 §4.3 result types mailroom reports; "" marks a successful session. */
export type TlsResultType =
  | ""
  | "starttls-not-supported"
  | "certificate-host-mismatch"
  | "certificate-expired"
  | "certificate-not-trusted"
  | "validation-failure"
  | "sts-policy-fetch-error"
  | "sts-policy-invalid"
  | "sts-webpki-invalid";

/** One counted row: sessions of one day, policy domain, MX host and result. */
export interface TlsSessionCount {
  policyDomain: string;
  /** "sts", or "no-policy-found" when the TXT record was there but no valid policy could be had. */
  policyType: "sts" | "no-policy-found";
  /** The policy's lines (§4.4 policy-string); empty for no-policy-found. */
  policyString: string[];
  mxHost: string;
  resultType: TlsResultType;
  count: number;
}

export interface TlsReportInput {
  /** This server's name: organization, submitter and contact. */
  submitter: string;
  /** The UTC day reported, "YYYY-MM-DD". */
  day: string;
  policyDomain: string;
  rows: TlsSessionCount[];
}

/** The §4.4 JSON object for one policy domain's day. */
export function tlsReportJson(input: TlsReportInput, reportId: string): Record<string, unknown> {
  const { rows } = input;
  // One policy entry per distinct policy seen that day (it may have changed during the day).
  const byPolicy = new Map<string, TlsSessionCount[]>();
  for (const row of rows) {
    const key = JSON.stringify([row.policyType, row.policyString]);
    byPolicy.set(key, [...(byPolicy.get(key) ?? []), row]);
  }
  const policies = [...byPolicy.values()].map((group) => {
    const first = group[0] as TlsSessionCount;
    const successes = group.filter((row) => row.resultType === "").reduce((sum, row) => sum + row.count, 0);
    const failures = group.filter((row) => row.resultType !== "");
    const mxHosts = first.policyString.filter((line) => line.startsWith("mx: ")).map((line) => line.slice(4));
    return {
      policy: {
        "policy-type": first.policyType,
        ...(first.policyString.length > 0 ? { "policy-string": first.policyString } : {}),
        "policy-domain": input.policyDomain,
        ...(mxHosts.length > 0 ? { "mx-host": mxHosts } : {}),
      },
      summary: {
        "total-successful-session-count": successes,
        "total-failure-session-count": failures.reduce((sum, row) => sum + row.count, 0),
      },
      ...(failures.length > 0
        ? {
            "failure-details": failures.map((row) => ({
              "result-type": row.resultType,
              // Policy failures (fetch, invalid) happen before any MX is chosen.
              ...(row.mxHost !== "" ? { "receiving-mx-hostname": row.mxHost } : {}),
              "failed-session-count": row.count,
            })),
          }
        : {}),
    };
  });
  return {
    "organization-name": input.submitter,
    "date-range": {
      "start-datetime": `${input.day}T00:00:00Z`,
      "end-datetime": `${input.day}T23:59:59Z`,
    },
    "contact-info": `postmaster@${input.submitter}`,
    "report-id": reportId,
    policies,
  };
}

/** Base64 in 76-character lines (RFC 2045 §6.8). */
function base64Lines(data: Buffer): string {
  return (data.toString("base64").match(/.{1,76}/g) ?? []).join("\r\n");
}

/**
 * The report message (RFC 8460 §5.3): multipart/report; report-type="tlsrpt", a short human part, and
 * the gzip'd JSON as application/tlsrpt+gzip named submitter!domain!begin!end!id.json.gz.
 */
export function tlsReportMessage(
  input: TlsReportInput,
  options: { to: string[]; date: Date; reportId?: string },
): { message: Buffer; reportId: string } {
  const unique = randomBytes(8).toString("hex");
  const reportId =
    options.reportId ?? `${input.day}T00:00:00Z_${input.policyDomain}_${unique}@${input.submitter}`;
  const json = JSON.stringify(tlsReportJson(input, reportId));
  const begin = Date.parse(`${input.day}T00:00:00Z`) / 1000;
  const end = begin + 86_399;
  const filename = `${input.submitter}!${input.policyDomain}!${begin}!${end}!${unique}.json.gz`;
  const boundary = `=_mailroom_${randomBytes(12).toString("hex")}`;
  const lines = [
    `From: TLS reports <postmaster@${input.submitter}>`,
    `To: ${options.to.map((address) => `<${address}>`).join(", ")}`,
    `Date: ${rfc5322Date(options.date)}`,
    `Subject: Report Domain: ${input.policyDomain} Submitter: ${input.submitter} Report-ID: <${reportId}>`,
    `Message-ID: <tlsrpt.${unique}@${input.submitter}>`,
    `TLS-Report-Domain: ${input.policyDomain}`,
    `TLS-Report-Submitter: ${input.submitter}`,
    "MIME-Version: 1.0",
    `Content-Type: multipart/report; report-type="tlsrpt";\r\n boundary="${boundary}"`,
    "",
    `--${boundary}`,
    "Content-Type: text/plain; charset=us-ascii",
    "",
    `This is the SMTP TLS report (RFC 8460) for ${input.policyDomain} on ${input.day} from ${input.submitter}.`,
    "",
    `--${boundary}`,
    `Content-Type: application/tlsrpt+gzip; name="${filename}"`,
    "Content-Transfer-Encoding: base64",
    `Content-Disposition: attachment; filename="${filename}"`,
    "",
    base64Lines(gzipSync(json)),
    "",
    `--${boundary}--`,
    "",
  ];
  return { message: Buffer.from(lines.join("\r\n")), reportId };
}
