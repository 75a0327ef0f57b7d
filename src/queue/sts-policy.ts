// Which MTA-STS policy applies to a recipient domain now (RFC 8461 §5.1): the `_mta-sts` TXT record
// through the cached resolver; the policy cached in the store when its id matches and it has not
// expired; otherwise a fresh fetch, kept in the store. A failed refresh keeps a cached policy that has not
// expired (that is what protects against an attacker who blocks the fetch).

import type { Logger } from "pino";
import type { Store } from "../store/types.js";
import { type CachedResolve, dnsCode, NO_DATA } from "./dns.js";
import { parseStsPolicy, parseStsRecord, type StsPolicy } from "./mta-sts.js";
import type { StsFetchResult } from "./sts-fetch.js";
import type { TlsResultType } from "./tls-report.js";

export type StsOutcome =
  /** No policy: deliver as without MTA-STS (opportunistic TLS). */
  | { kind: "none" }
  | { kind: "policy"; policy: StsPolicy }
  /** A TXT record says there is a policy, but none could be had: delivered as without, and reported. */
  | { kind: "failed"; resultType: TlsResultType; reason: string };

/** A failed fetch is not retried for this long, so a broken policy host costs one fetch per domain, not one per message. */
const FAILED_FETCH_BACKOFF_MS = 5 * 60_000;

export class StsPolicies {
  private readonly inFlight = new Map<string, Promise<StsOutcome>>();
  private readonly failedUntil = new Map<string, { until: number; outcome: StsOutcome }>();

  constructor(
    private readonly options: {
      store: Pick<Store, "mtaSts">;
      resolve: CachedResolve;
      fetch: (domain: string) => Promise<StsFetchResult>;
      now: () => Date;
      logger: Logger;
    },
  ) {}

  /** The policy for `domain`; never throws (a store or DNS failure gives "none" or the cached policy). */
  forDomain(domain: string): Promise<StsOutcome> {
    const key = domain.toLowerCase();
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const started = this.lookup(key)
      .catch((err: unknown): StsOutcome => {
        this.options.logger.warn(
          { err, domain: key },
          "relay: MTA-STS policy lookup failed; delivering without",
        );
        return { kind: "none" };
      })
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, started);
    return started;
  }

  private async lookup(domain: string): Promise<StsOutcome> {
    const { store, resolve, now, logger } = this.options;
    const at = now().getTime();
    const cached = await store.mtaSts.getPolicy(domain);
    const fresh = cached !== null && cached.fetchedAt.getTime() + cached.policy.maxAge * 1000 > at;
    const useCached = (): StsOutcome =>
      fresh && cached.policy.mode !== "none" ? { kind: "policy", policy: cached.policy } : { kind: "none" };
    let records: string[][];
    try {
      records = (await resolve(`_mta-sts.${domain}`, "TXT")) as string[][];
    } catch (err) {
      if (!NO_DATA.has(dnsCode(err))) return useCached();
      records = [];
    }
    const record = parseStsRecord(records);
    if (record === null) {
      // §5.1: a withdrawn TXT record does not end a cached policy before its max_age.
      if (cached !== null && !fresh) await store.mtaSts.deletePolicy(domain);
      return useCached();
    }
    if (!record.ok) {
      return fresh
        ? useCached()
        : { kind: "failed", resultType: "sts-policy-invalid", reason: record.reason };
    }
    // §5.1: refreshed before it expires, not only when the id changes, so that a fetch blocked later
    // finds a policy still cached; past half its max_age the cached one is fetched again.
    const refreshDue = cached !== null && at - cached.fetchedAt.getTime() > (cached.policy.maxAge * 1000) / 2;
    if (fresh && cached.id === record.value && !refreshDue) return useCached();
    const backoff = this.failedUntil.get(domain);
    if (backoff && backoff.until > at) return fresh ? useCached() : backoff.outcome;
    const fetched = await this.options.fetch(domain);
    let outcome: StsOutcome;
    if (fetched.ok) {
      const parsed = parseStsPolicy(fetched.text);
      if (parsed.ok) {
        this.failedUntil.delete(domain);
        await store.mtaSts.putPolicy({ domain, id: record.value, policy: parsed.value, fetchedAt: now() });
        logger.info(
          { domain, id: record.value, mode: parsed.value.mode, mx: parsed.value.mx },
          "relay: MTA-STS policy fetched",
        );
        return parsed.value.mode === "none" ? { kind: "none" } : { kind: "policy", policy: parsed.value };
      }
      outcome = {
        kind: "failed",
        resultType: "sts-policy-invalid",
        reason: `the MTA-STS policy of ${domain} is invalid: ${parsed.reason}`,
      };
    } else {
      outcome = {
        kind: "failed",
        resultType: fetched.webpki ? "sts-webpki-invalid" : "sts-policy-fetch-error",
        reason: fetched.reason,
      };
    }
    this.failedUntil.set(domain, { until: at + FAILED_FETCH_BACKOFF_MS, outcome });
    logger.warn({ domain, reason: outcome.reason, keptCached: fresh }, "relay: MTA-STS policy fetch failed");
    return fresh ? useCached() : outcome;
  }
}
