// MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) state of the relay: each recipient domain's cached policy,
// kept across restarts (§5.1: a sender that forgets policies is open to downgrade at every restart),
// and the day's TLS session counts per policy domain that the daily report sends.

import type { StsPolicy } from "../queue/mta-sts.js";
import type { TlsSessionCount } from "../queue/tls-report.js";

export interface CachedStsPolicy {
  /** Lower-cased recipient domain. */
  domain: string;
  /** The id of the `_mta-sts` TXT record the policy was fetched under. */
  id: string;
  policy: StsPolicy;
  fetchedAt: Date;
}

export interface MtaStsStore {
  /** The cached policy of `domain` (case-insensitive), expired or not; null when none was ever kept. */
  getPolicy(domain: string): Promise<CachedStsPolicy | null>;
  /** Keeps (or replaces) the domain's policy. */
  putPolicy(entry: CachedStsPolicy): Promise<void>;
  /** Forgets the domain's policy (its TXT record is gone and the cached one has expired). */
  deletePolicy(domain: string): Promise<void>;
  /** Adds `count` sessions to the row of this UTC day ("YYYY-MM-DD"), policy domain, MX host and result. */
  recordTlsSessions(day: string, row: TlsSessionCount): Promise<void>;
  /** The counted rows of one day, every policy domain, in a stable order. */
  tlsSessions(day: string): Promise<TlsSessionCount[]>;
  /**
   * Claims the sending of `day`'s reports: true once, for the first caller, on any node; so two nodes
   * (or a restart) do not report one day twice.
   */
  claimTlsReportDay(day: string, at: Date): Promise<boolean>;
  /** Drops the counts of days before `day` (reported, or too old to matter). */
  forgetTlsSessionsBefore(day: string): Promise<void>;
}
