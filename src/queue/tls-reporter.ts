// The daily TLS-RPT run (RFC 8460): for a finished UTC day, each policy domain with counted sessions
// that publishes `_smtp._tls` TXT gets its report, committed like any other message from the null
// sender into the outbound queue for its mailto: addresses (local ones straight into their INBOX).
// https: report URIs (§3) are not posted to: they are logged and left out.

import type { Logger } from "pino";
import { generatedTargets } from "../delivery/route.js";
import type { DeliveryInput, DeliveryResult, Store } from "../store/types.js";
import { type CachedResolve, dnsCode, NO_DATA } from "./dns.js";
import { parseTlsRptRecord } from "./mta-sts.js";
import { type TlsSessionCount, tlsReportMessage } from "./tls-report.js";

export interface TlsReportContext {
  store: Pick<Store, "mtaSts" | "blobs" | "directory" | "mailboxes">;
  resolve: CachedResolve;
  /** This server's name: the report's submitter. */
  hostname: string;
  deliver: (input: DeliveryInput) => Promise<DeliveryResult>;
  logger: Logger;
  now: () => Date;
}

export interface TlsReportRun {
  /** False when another run (or node) had already claimed the day. */
  claimed: boolean;
  sent: Array<{ policyDomain: string; to: string[]; messageId: string }>;
  /** Policy domains not reported, each with why. */
  skipped: Array<{ policyDomain: string; reason: string }>;
}

/** The UTC day of `at` as "YYYY-MM-DD". */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** The UTC day before `at`'s. */
export function previousUtcDay(at: Date): string {
  return utcDay(new Date(Date.parse(`${utcDay(at)}T00:00:00Z`) - 1));
}

async function reportAddresses(
  resolve: CachedResolve,
  domain: string,
): Promise<{ mailto: string[]; reason: string | null }> {
  let records: string[][];
  try {
    records = (await resolve(`_smtp._tls.${domain}`, "TXT")) as string[][];
  } catch (err) {
    const code = dnsCode(err);
    return {
      mailto: [],
      reason: NO_DATA.has(code) ? "publishes no _smtp._tls record" : `DNS failed (${code})`,
    };
  }
  const parsed = parseTlsRptRecord(records);
  if (parsed === null) return { mailto: [], reason: "publishes no single v=TLSRPTv1 record" };
  if (!parsed.ok) return { mailto: [], reason: parsed.reason };
  if (parsed.value.mailto.length === 0) {
    return {
      mailto: [],
      reason: `only https: report addresses (${parsed.value.https.join(", ")}), which mailroom does not post to`,
    };
  }
  return { mailto: parsed.value.mailto, reason: null };
}

/** Sends `day`'s reports once (claimed in the store, so once across nodes too), then forgets older counts. */
export async function sendTlsReports(context: TlsReportContext, day: string): Promise<TlsReportRun> {
  const { store, logger } = context;
  const run: TlsReportRun = { claimed: false, sent: [], skipped: [] };
  if (!(await store.mtaSts.claimTlsReportDay(day, context.now()))) return run;
  run.claimed = true;
  const byDomain = new Map<string, TlsSessionCount[]>();
  for (const row of await store.mtaSts.tlsSessions(day)) {
    byDomain.set(row.policyDomain, [...(byDomain.get(row.policyDomain) ?? []), row]);
  }
  for (const [policyDomain, rows] of byDomain) {
    const { mailto, reason } = await reportAddresses(context.resolve, policyDomain);
    if (reason !== null) {
      run.skipped.push({ policyDomain, reason });
      continue;
    }
    try {
      const messageId = await commitReport(
        context,
        { submitter: context.hostname, day, policyDomain, rows },
        mailto,
      );
      run.sent.push({ policyDomain, to: mailto, messageId });
      logger.info({ policyDomain, day, to: mailto, messageId }, "relay: TLS report queued");
    } catch (err) {
      run.skipped.push({ policyDomain, reason: `could not be queued: ${(err as Error).message}` });
      logger.error({ err, policyDomain, day }, "relay: could not queue a TLS report");
    }
  }
  await store.mtaSts.forgetTlsSessionsBefore(day);
  return run;
}

async function commitReport(
  context: TlsReportContext,
  input: Parameters<typeof tlsReportMessage>[0],
  to: string[],
): Promise<string> {
  const { store } = context;
  const targets: Pick<DeliveryInput, "mailboxes" | "queue"> = { mailboxes: [], queue: [] };
  for (const address of to) {
    const each = await generatedTargets(store, address);
    targets.mailboxes.push(...each.mailboxes);
    targets.queue.push(...each.queue);
  }
  const date = context.now();
  const { message } = tlsReportMessage(input, { to, date });
  const writer = await store.blobs.createBlobWriter();
  try {
    // From the null sender, as notices are: a report that cannot be delivered must not bounce back.
    await writer.write(Buffer.from("Return-Path: <>\r\n"));
    await writer.write(message);
    const blob = await writer.finish();
    const result = await context.deliver({ blob, sender: "", internalDate: date, ...targets });
    return result.messageId;
  } catch (err) {
    await writer.abort();
    throw err;
  }
}
