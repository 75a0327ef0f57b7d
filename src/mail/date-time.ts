// RFC 5322 date-times as mail has them: the one parser JMAP's Date header form and IMAP's SORT and
// THREAD (sent dates) share.

import { withoutComments } from "./mime/header.js";

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = new Set(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]);
// RFC 5322 §4.3 obs-zone; the military letters are "-0000", as their meaning was never agreed on.
const ZONES: ReadonlyMap<string, number> = new Map([
  ["ut", 0],
  ["gmt", 0],
  ["est", -300],
  ["edt", -240],
  ["cst", -360],
  ["cdt", -300],
  ["mst", -420],
  ["mdt", -360],
  ["pst", -480],
  ["pdt", -420],
]);
const DATE_TIME =
  /^(?:([a-z]{3}) ?, ?)?(\d{1,2}) ([a-z]{3}) (\d{2,4}) (\d{1,2}) ?: ?(\d{2})(?: ?: ?(\d{2}))? ([+-]\d{4}|[a-z]{1,3})$/;

function daysInMonth(year: number, month: number): number {
  if (month !== 1) return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month] ?? 0;
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
}

function two(n: number): string {
  return String(n).padStart(2, "0");
}

/**
 * An RFC 5322 §3.3 date-time (obsolete forms included), folded or not, as an RFC 3339 date-time — what
 * JMAP's Date form (RFC 8621 §4.1.2.6) gives and IMAP SORT compares. The sender's offset is kept ("-0000",
 * no known offset, becomes RFC 3339's "-00:00"); null when it does not parse or names no real time.
 */
export function dateTime(raw: string): string | null {
  const text = withoutComments(raw.replace(/\r?\n(?=[ \t])/g, ""))
    .trim()
    .replace(/\s+/g, " ")
    .toLowerCase();
  const m = DATE_TIME.exec(text);
  if (m === null) return null;
  const [, weekday, dayText = "", monthText = "", yearText = "", hourText = "", minuteText = ""] = m;
  const [secondText = "0", zoneText = ""] = [m[7], m[8]];
  if (weekday !== undefined && !DAYS.has(weekday)) return null;
  const month = MONTHS.indexOf(monthText);
  let year = Number(yearText);
  // RFC 5322 §4.3 obs-year.
  if (yearText.length === 2) year += year < 50 ? 2000 : 1900;
  else if (yearText.length === 3) year += 1900;
  const day = Number(dayText);
  const hour = Number(hourText);
  const minute = Number(minuteText);
  const second = Number(secondText);
  if (month < 0 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 60) {
    return null;
  }
  let offset: string;
  if (/^[+-]\d{4}$/.test(zoneText)) {
    if (Number(zoneText.slice(3)) > 59) return null;
    offset = `${zoneText.slice(0, 3)}:${zoneText.slice(3)}`;
  } else {
    const minutes = ZONES.get(zoneText);
    if (minutes === undefined) {
      if (zoneText.length !== 1 || zoneText === "j") return null;
      offset = "-00:00";
    } else {
      const sign = minutes < 0 ? "-" : "+";
      offset = `${sign}${two(Math.abs(minutes) / 60)}:00`;
    }
  }
  const date = `${String(year).padStart(4, "0")}-${two(month + 1)}-${two(day)}`;
  return `${date}T${two(hour)}:${two(minute)}:${two(second)}${offset}`;
}
