// The MTA-STS part of the SQLite store: tables mta_sts_policies, tls_sessions and tls_report_days.

import type { StsMode } from "../../queue/mta-sts.js";
import type { TlsResultType, TlsSessionCount } from "../../queue/tls-report.js";
import type { CachedStsPolicy, MtaStsStore } from "../types.js";
import type { SqliteDatabase } from "./database.js";

interface PolicyRow {
  domain: string;
  id: string;
  mode: string;
  mx: string;
  max_age: number;
  fetched_at: number;
}

interface SessionRow {
  policy_domain: string;
  mx_host: string;
  result_type: string;
  policy_type: string;
  policy_string: string;
  count: number;
}

export class SqliteMtaSts implements MtaStsStore {
  constructor(private readonly database: SqliteDatabase) {}

  getPolicy(domain: string): Promise<CachedStsPolicy | null> {
    return this.database.read(() => {
      const row = this.database.get<PolicyRow>(
        "SELECT * FROM mta_sts_policies WHERE domain = ?",
        domain.toLowerCase(),
      );
      if (row === undefined) return null;
      return {
        domain: row.domain,
        id: row.id,
        policy: { mode: row.mode as StsMode, mx: JSON.parse(row.mx) as string[], maxAge: row.max_age },
        fetchedAt: new Date(row.fetched_at),
      };
    });
  }

  putPolicy(entry: CachedStsPolicy): Promise<void> {
    return this.database.write(() => {
      this.database.run(
        `INSERT INTO mta_sts_policies (domain, id, mode, mx, max_age, fetched_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (domain) DO UPDATE SET id = excluded.id, mode = excluded.mode, mx = excluded.mx,
           max_age = excluded.max_age, fetched_at = excluded.fetched_at`,
        entry.domain.toLowerCase(),
        entry.id,
        entry.policy.mode,
        JSON.stringify(entry.policy.mx),
        entry.policy.maxAge,
        entry.fetchedAt.getTime(),
      );
    });
  }

  deletePolicy(domain: string): Promise<void> {
    return this.database.write(() => {
      this.database.run("DELETE FROM mta_sts_policies WHERE domain = ?", domain.toLowerCase());
    });
  }

  recordTlsSessions(day: string, row: TlsSessionCount): Promise<void> {
    return this.database.write(() => {
      this.database.run(
        `INSERT INTO tls_sessions (day, policy_domain, mx_host, result_type, policy_type, policy_string, count)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (day, policy_domain, mx_host, result_type) DO UPDATE SET
           count = tls_sessions.count + excluded.count, policy_type = excluded.policy_type,
           policy_string = excluded.policy_string`,
        day,
        row.policyDomain.toLowerCase(),
        row.mxHost.toLowerCase(),
        row.resultType,
        row.policyType,
        JSON.stringify(row.policyString),
        row.count,
      );
    });
  }

  tlsSessions(day: string): Promise<TlsSessionCount[]> {
    return this.database.read(() =>
      this.database
        .all<SessionRow>(
          `SELECT * FROM tls_sessions WHERE day = ? ORDER BY policy_domain, mx_host, result_type`,
          day,
        )
        .map((row) => ({
          policyDomain: row.policy_domain,
          policyType: row.policy_type as TlsSessionCount["policyType"],
          policyString: JSON.parse(row.policy_string) as string[],
          mxHost: row.mx_host,
          resultType: row.result_type as TlsResultType,
          count: row.count,
        })),
    );
  }

  claimTlsReportDay(day: string, at: Date): Promise<boolean> {
    return this.database.write(
      () =>
        this.database.run(
          "INSERT INTO tls_report_days (day, claimed_at) VALUES (?, ?) ON CONFLICT (day) DO NOTHING",
          day,
          at.getTime(),
        ).changes === 1,
    );
  }

  forgetTlsSessionsBefore(day: string): Promise<void> {
    return this.database.write(() => {
      this.database.run("DELETE FROM tls_sessions WHERE day < ?", day);
    });
  }
}
