// The vacation part of the SQLite store: tables vacation and vacation_replies.

import { NO_VACATION, type VacationSetting, type VacationStore } from "../types.js";
import type { SqliteDatabase } from "./database.js";

interface VacationRow {
  enabled: number;
  from_date: number | null;
  to_date: number | null;
  subject: string | null;
  text_body: string | null;
  html_body: string | null;
}

const toDate = (ms: number | null) => (ms === null ? null : new Date(ms));

export class SqliteVacation implements VacationStore {
  constructor(private readonly database: SqliteDatabase) {}

  getVacation(userId: number): Promise<VacationSetting> {
    return this.database.read(() => {
      const row = this.database.get<VacationRow>("SELECT * FROM vacation WHERE user_id = ?", userId);
      if (row === undefined) return { ...NO_VACATION };
      return {
        isEnabled: row.enabled === 1,
        fromDate: toDate(row.from_date),
        toDate: toDate(row.to_date),
        subject: row.subject,
        textBody: row.text_body,
        htmlBody: row.html_body,
      };
    });
  }

  setVacation(userId: number, setting: VacationSetting): Promise<void> {
    return this.database.write(() => {
      this.database.run(
        `INSERT INTO vacation (user_id, enabled, from_date, to_date, subject, text_body, html_body)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (user_id) DO UPDATE SET enabled = excluded.enabled, from_date = excluded.from_date,
           to_date = excluded.to_date, subject = excluded.subject, text_body = excluded.text_body,
           html_body = excluded.html_body`,
        userId,
        setting.isEnabled ? 1 : 0,
        setting.fromDate?.getTime() ?? null,
        setting.toDate?.getTime() ?? null,
        setting.subject,
        setting.textBody,
        setting.htmlBody,
      );
    });
  }

  claimReply(userId: number, sender: string, at: Date, period: number): Promise<boolean> {
    return this.database.write(() => {
      const result = this.database.run(
        `INSERT INTO vacation_replies (user_id, sender, at) VALUES (?, ?, ?)
         ON CONFLICT (user_id, sender) DO UPDATE SET at = excluded.at
         WHERE vacation_replies.at <= excluded.at - ?`,
        userId,
        sender.toLowerCase(),
        at.getTime(),
        period,
      );
      return result.changes === 1;
    });
  }
}
