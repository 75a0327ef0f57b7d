// The vacation part of the PostgreSQL store: tables vacation and vacation_replies.

import { NO_VACATION, type VacationSetting, type VacationStore } from "../types.js";
import type { PostgresDatabase } from "./database.js";

interface VacationRow {
  enabled: boolean;
  from_date: Date | null;
  to_date: Date | null;
  subject: string | null;
  text_body: string | null;
  html_body: string | null;
}

export class PostgresVacation implements VacationStore {
  constructor(private readonly database: PostgresDatabase) {}

  async getVacation(userId: number): Promise<VacationSetting> {
    const [row] = await this.database.read<VacationRow>("SELECT * FROM vacation WHERE user_id = $1", [
      userId,
    ]);
    if (row === undefined) return { ...NO_VACATION };
    return {
      isEnabled: row.enabled,
      fromDate: row.from_date,
      toDate: row.to_date,
      subject: row.subject,
      textBody: row.text_body,
      htmlBody: row.html_body,
    };
  }

  async setVacation(userId: number, setting: VacationSetting): Promise<void> {
    await this.database.read(
      `INSERT INTO vacation (user_id, enabled, from_date, to_date, subject, text_body, html_body)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (user_id) DO UPDATE SET enabled = excluded.enabled, from_date = excluded.from_date,
         to_date = excluded.to_date, subject = excluded.subject, text_body = excluded.text_body,
         html_body = excluded.html_body`,
      [
        userId,
        setting.isEnabled,
        setting.fromDate,
        setting.toDate,
        setting.subject,
        setting.textBody,
        setting.htmlBody,
      ],
    );
  }

  async claimReply(userId: number, sender: string, at: Date, period: number): Promise<boolean> {
    const rows = await this.database.read(
      `INSERT INTO vacation_replies (user_id, sender, at) VALUES ($1, $2, $3)
       ON CONFLICT (user_id, sender) DO UPDATE SET at = excluded.at
       WHERE vacation_replies.at <= excluded.at - $4 * interval '1 millisecond'
       RETURNING 1`,
      [userId, sender.toLowerCase(), at, period],
    );
    return rows.length === 1;
  }
}
