/** Dates for the date and currentdate tests (RFC 5260 §4–5): RFC 5322 date-time parsing and date-parts. */

export interface ZonedTime {
  /** Milliseconds since the epoch. */
  epoch: number;
  /** The zone's offset east of UTC, in minutes. */
  offset: number;
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
// RFC 5322 §4.3 obsolete zones; other letters (military zones) mean "unknown", -0000.
const NAMED_ZONES: Record<string, number> = {
  ut: 0,
  gmt: 0,
  est: -300,
  edt: -240,
  cst: -360,
  cdt: -300,
  mst: -420,
  mdt: -360,
  pst: -480,
  pdt: -420,
};

/** A zone "+hhmm" / "-hhmm" as minutes east of UTC, or null when malformed (RFC 5260 §4.1 :zone). */
export function parseZone(zone: string): number | null {
  const m = /^([+-])(\d\d)(\d\d)$/.exec(zone);
  if (m === null || Number(m[3]) > 59) return null;
  return (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

/** Parses an RFC 5322 §3.3 date-time (obsolete forms included); null when it is not one. */
export function parseDateTime(text: string): ZonedTime | null {
  const clean = text.replace(/\([^)]*\)/g, " ").trim();
  const m =
    /^(?:[A-Za-z]{3}\s*,\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{2,4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([+-]\d{4}|[A-Za-z]{1,5})?$/.exec(
      clean,
    );
  if (m === null) return null;
  const month = MONTHS.indexOf(m[2]!.toLowerCase());
  let year = Number(m[3]);
  // RFC 5322 §4.3: two-digit years below 50 are 20xx, others 19xx; three digits add 1900.
  if (m[3]!.length === 2) year += year < 50 ? 2000 : 1900;
  else if (m[3]!.length === 3) year += 1900;
  const [day, hour, minute, second] = [m[1], m[4], m[5], m[6] ?? "0"].map(Number) as [
    number,
    number,
    number,
    number,
  ];
  if (month < 0 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  const zone = m[7] ?? "-0000";
  const offset = /^[+-]/.test(zone) ? parseZone(zone) : (NAMED_ZONES[zone.toLowerCase()] ?? 0);
  if (offset === null) return null;
  return { epoch: Date.UTC(year, month, day, hour, minute, second) - offset * 60_000, offset };
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

function zoneText(offset: number, colon: boolean): string {
  const abs = Math.abs(offset);
  return `${offset < 0 ? "-" : "+"}${pad(Math.floor(abs / 60))}${colon ? ":" : ""}${pad(abs % 60)}`;
}

export const DATE_PARTS = [
  "year",
  "month",
  "day",
  "date",
  "julian",
  "hour",
  "minute",
  "second",
  "time",
  "iso8601",
  "std11",
  "zone",
  "weekday",
] as const;

/** The date-part `part` of `time` in the zone `offset` (RFC 5260 §4.2), or null for an unknown part. */
export function datePart(time: ZonedTime, part: string): string | null {
  const local = new Date(time.epoch + time.offset * 60_000);
  const year = pad(local.getUTCFullYear(), 4);
  const month = pad(local.getUTCMonth() + 1);
  const day = pad(local.getUTCDate());
  const hms = `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}`;
  switch (part.toLowerCase()) {
    case "year":
      return year;
    case "month":
      return month;
    case "day":
      return day;
    case "date":
      return `${year}-${month}-${day}`;
    case "julian":
      // The Modified Julian Day: 1970-01-01 is day 40587.
      return String(Math.floor(local.getTime() / 86_400_000) + 40_587);
    case "hour":
      return pad(local.getUTCHours());
    case "minute":
      return pad(local.getUTCMinutes());
    case "second":
      return pad(local.getUTCSeconds());
    case "time":
      return hms;
    case "iso8601":
      return `${year}-${month}-${day}T${hms}${zoneText(time.offset, true)}`;
    case "std11":
      return `${DAYS[local.getUTCDay()]}, ${day} ${MONTHS[local.getUTCMonth()]!.replace(/^./, (c) => c.toUpperCase())} ${year} ${hms} ${zoneText(time.offset, false)}`;
    case "zone":
      return zoneText(time.offset, false);
    case "weekday":
      return String(local.getUTCDay());
    default:
      return null;
  }
}

/** The process's zone at `date` as minutes east of UTC. */
export function localOffset(date: Date): number {
  return -date.getTimezoneOffset();
}
