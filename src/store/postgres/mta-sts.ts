// The MTA-STS part of the PostgreSQL store: tables mta_sts_policies, tls_sessions and tls_report_days.

import type { StsMode } from "../../queue/mta-sts.js";
import type { TlsResultType, TlsSessionCount } from "../../queue/tls-report.js";
import type { CachedStsPolicy, MtaStsStore } from "../types.js";
import type { PostgresDatabase } from "./database.js";

interface PolicyRow {
  domain: string;
  id: string;
  mode: string;
  mx: string[];
  max_age: string;
  fetched_at: Date;
}

interface SessionRow {
  policy_domain: string;
  mx_host: string;
  result_type: string;
  policy_type: string;
  policy_string: string[];
  count: string;
}

export class PostgresMtaSts implements MtaStsStore {
  constructor(private readonly database: PostgresDatabase) {}

  async getPolicy(domain: string): Promise<CachedStsPolicy | null> {
    const [row] = await this.database.read<PolicyRow>("SELECT * FROM mta_sts_policies WHERE domain = $1", [
      domain.toLowerCase(),
    ]);
    if (row === undefined) return null;
    return {
      domain: row.domain,
      id: row.id,
      policy: { mode: row.mode as StsMode, mx: row.mx, maxAge: Number(row.max_age) },
      fetchedAt: row.fetched_at,
    };
  }

  async putPolicy(entry: CachedStsPolicy): Promise<void> {
    await this.database.read(
      `INSERT INTO mta_sts_policies (domain, id, mode, mx, max_age, fetched_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (domain) DO UPDATE SET id = excluded.id, mode = excluded.mode, mx = excluded.mx,
         max_age = excluded.max_age, fetched_at = excluded.fetched_at`,
      [
        entry.domain.toLowerCase(),
        entry.id,
        entry.policy.mode,
        JSON.stringify(entry.policy.mx),
        entry.policy.maxAge,
        entry.fetchedAt,
      ],
    );
  }

  async deletePolicy(domain: string): Promise<void> {
    await this.database.read("DELETE FROM mta_sts_policies WHERE domain = $1", [domain.toLowerCase()]);
  }

  async recordTlsSessions(day: string, row: TlsSessionCount): Promise<void> {
    await this.database.read(
      `INSERT INTO tls_sessions (day, policy_domain, mx_host, result_type, policy_type, policy_string, count)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (day, policy_domain, mx_host, result_type) DO UPDATE SET
         count = tls_sessions.count + excluded.count, policy_type = excluded.policy_type,
         policy_string = excluded.policy_string`,
      [
        day,
        row.policyDomain.toLowerCase(),
        row.mxHost.toLowerCase(),
        row.resultType,
        row.policyType,
        JSON.stringify(row.policyString),
        row.count,
      ],
    );
  }

  async tlsSessions(day: string): Promise<TlsSessionCount[]> {
    const rows = await this.database.read<SessionRow>(
      // COLLATE "C": the same byte order as SQLite's, whatever the database's locale.
      `SELECT * FROM tls_sessions WHERE day = $1
       ORDER BY policy_domain COLLATE "C", mx_host COLLATE "C", result_type COLLATE "C"`,
      [day],
    );
    return rows.map((row) => ({
      policyDomain: row.policy_domain,
      policyType: row.policy_type as TlsSessionCount["policyType"],
      policyString: row.policy_string,
      mxHost: row.mx_host,
      resultType: row.result_type as TlsResultType,
      count: Number(row.count),
    }));
  }

  async claimTlsReportDay(day: string, at: Date): Promise<boolean> {
    const rows = await this.database.read(
      "INSERT INTO tls_report_days (day, claimed_at) VALUES ($1, $2) ON CONFLICT (day) DO NOTHING RETURNING 1",
      [day, at],
    );
    return rows.length === 1;
  }

  async forgetTlsSessionsBefore(day: string): Promise<void> {
    await this.database.read(`DELETE FROM tls_sessions WHERE day < $1 COLLATE "C"`, [day]);
  }
}
