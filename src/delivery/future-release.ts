// RFC 4865 future message release, the pure part: the FUTURERELEASE EHLO line and the HOLDFOR /
// HOLDUNTIL values, for SMTP submission's MAIL FROM and JMAP's envelope.mailFrom.parameters alike (so
// both take and refuse the same values). The SMTP session decides whether the extension is offered
// (submission listeners, authenticated users); the delivery agent holds what is accepted.

/**
 * RFC 4865 §3: future-release-integer is 1*9DIGIT, so no interval, advertised or asked for, can be
 * longer than this many seconds.
 */
export const MAX_INTERVAL_SECONDS = 999_999_999;

/** A date-time as RFC 4865 writes it (RFC 3339 §5.6, errata 2040): UTC, whole seconds, "Z". */
export function formatDateTime(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * RFC 4865 §3: "FUTURERELEASE" SP max-future-release-interval SP max-future-release-date-time, the
 * longest hold in seconds and the latest release time it allows from `now`.
 */
export function futureReleaseKeyword(maxSeconds: number, now: Date): string {
  const seconds = Math.min(Math.max(Math.floor(maxSeconds), 0), MAX_INTERVAL_SECONDS);
  return `FUTURERELEASE ${seconds} ${formatDateTime(new Date(now.getTime() + seconds * 1000))}`;
}

/** HOLDFOR's future-release-interval (RFC 4865 §3): 1*9DIGIT seconds; null when malformed. */
export function parseHoldFor(value: string): number | null {
  return /^[0-9]{1,9}$/.test(value) ? Number(value) : null;
}

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * HOLDUNTIL's future-release-date-time: RFC 3339 §5.6 date-time (RFC 4865 errata 2040). "T" and "Z"
 * in either case (§5.6 NOTE), any offset, fractions of a second; a leap second (:60) counts as the
 * second after :59. Null for anything else, including dates that do not exist (February 30th).
 */
export function parseHoldUntil(value: string): Date | null {
  const match = DATE_TIME.exec(value);
  if (match === null) return null;
  const [, y, mo, d, h, mi, s, fraction, zulu, sign, oh, om] = match;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return null;
  if (hour > 23 || minute > 59 || second > 60) return null;
  let offset = 0;
  if (zulu === undefined) {
    const [offsetHours, offsetMinutes] = [Number(oh), Number(om)];
    if (offsetHours > 23 || offsetMinutes > 59) return null;
    offset = (sign === "-" ? -1 : 1) * (offsetHours * 60 + offsetMinutes);
  }
  const millis = fraction === undefined ? 0 : Math.floor(Number(`0${fraction}`) * 1000);
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day);
  utc.setUTCHours(hour, minute - offset, second, millis);
  return Number.isNaN(utc.getTime()) ? null : utc;
}

/** A refusal as SMTP answers it; JMAP puts the text in its SetError. */
export type HoldResult =
  | { ok: true; until: Date | null }
  | { ok: false; code: 501; enhanced: "5.5.4"; text: string };

/**
 * The release time a MAIL command's HOLDFOR or HOLDUNTIL asks for (null: neither given), checked
 * against the advertised limits. RFC 4865 §4 has both parameters in one command refused, and asks that
 * a value the server will not honour (too far ahead, or a release time already past) be answered as a
 * syntax error: 501 with 5.5.4 (RFC 3463 "invalid command arguments") for all of them.
 */
export function holdRequest(
  holdFor: string | null | undefined,
  holdUntil: string | null | undefined,
  limits: { maxSeconds: number; now: Date },
): HoldResult {
  const refuse = (text: string): HoldResult => ({ ok: false, code: 501, enhanced: "5.5.4", text });
  if (holdFor === undefined && holdUntil === undefined) return { ok: true, until: null };
  if (holdFor !== undefined && holdUntil !== undefined) {
    return refuse("HOLDFOR and HOLDUNTIL cannot be used together; give one of them");
  }
  const maxSeconds = Math.min(limits.maxSeconds, MAX_INTERVAL_SECONDS);
  const latest = limits.now.getTime() + maxSeconds * 1000;
  if (holdFor !== undefined) {
    const seconds = holdFor === null ? null : parseHoldFor(holdFor);
    if (seconds === null) return refuse("HOLDFOR needs a number of seconds (at most 9 digits)");
    if (seconds > maxSeconds) {
      return refuse(`HOLDFOR=${seconds} is longer than the ${maxSeconds} seconds this server holds mail`);
    }
    // HOLDFOR=0 asks for release now: no hold at all.
    return { ok: true, until: seconds === 0 ? null : wholeSecond(limits.now.getTime() + seconds * 1000) };
  }
  const until = holdUntil === null || holdUntil === undefined ? null : parseHoldUntil(holdUntil);
  if (until === null) {
    return refuse("HOLDUNTIL needs an RFC 3339 date-time, like 2030-01-31T09:00:00Z");
  }
  if (until.getTime() <= limits.now.getTime()) {
    return refuse(`HOLDUNTIL=${holdUntil} is not in the future`);
  }
  if (until.getTime() > latest) {
    return refuse(
      `HOLDUNTIL=${holdUntil} is later than ${formatDateTime(new Date(latest))}, the latest release this server allows`,
    );
  }
  return { ok: true, until: wholeSecond(until.getTime()) };
}

/**
 * Release times are kept to the second, rounded up (never released early): the 250 reply, the EHLO line
 * and JMAP's sendAt, all whole seconds, then name the time exactly.
 */
function wholeSecond(ms: number): Date {
  return new Date(Math.ceil(ms / 1000) * 1000);
}
