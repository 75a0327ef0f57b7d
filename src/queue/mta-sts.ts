// MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) records, pure: the `_mta-sts` TXT record, the policy file,
// which MX names a policy allows, and the `_smtp._tls` TXT record. No I/O; sts-policy.ts fetches and
// caches, transport.ts applies.

export type StsMode = "enforce" | "testing" | "none";

export interface StsPolicy {
  mode: StsMode;
  /** Lower-cased patterns: "mx.example.com" or "*.example.com" (one leftmost label). */
  mx: string[];
  /** Seconds the policy may be cached. */
  maxAge: number;
}

/** RFC 8461 §3.2: max_age is at most 31557600 seconds (about one year). */
export const STS_MAX_AGE_LIMIT = 31_557_600;

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const fail = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

/** `key=value` pairs separated by ";" with optional whitespace (RFC 8461 §3.1, RFC 8460 §3). */
function tagList(text: string): Array<[string, string]> | null {
  const pairs: Array<[string, string]> = [];
  for (const part of text.split(";")) {
    const field = part.trim();
    if (field === "") continue;
    const eq = field.indexOf("=");
    if (eq <= 0) return null;
    pairs.push([field.slice(0, eq).trim(), field.slice(eq + 1).trim()]);
  }
  return pairs;
}

/**
 * The policy id from the TXT records of `_mta-sts.<domain>` (each record its strings, as node:dns gives
 * them). null: no STS record. RFC 8461 §3.1: records not starting "v=STSv1" are ignored, and more than
 * one that does means no policy is published.
 */
export function parseStsRecord(records: string[][]): Parsed<string> | null {
  const sts = records.map((strings) => strings.join("")).filter((text) => /^v=STSv1\s*(;|$)/.test(text));
  if (sts.length === 0) return null;
  if (sts.length > 1) return fail(`${sts.length} "v=STSv1" TXT records are published; there must be one`);
  const pairs = tagList(sts[0] as string);
  if (pairs === null) return fail(`the TXT record "${sts[0]}" is not a list of key=value fields`);
  const id = pairs.find(([key]) => key === "id")?.[1];
  if (id === undefined) return fail('the TXT record has no "id" field');
  if (!/^[A-Za-z0-9]{1,32}$/.test(id)) return fail(`the policy id "${id}" is not 1 to 32 letters and digits`);
  return { ok: true, value: id };
}

/** An MX pattern (RFC 8461 §3.2): a domain name, optionally "*." then a domain name. */
function isMxPattern(pattern: string): boolean {
  const name = pattern.startsWith("*.") ? pattern.slice(2) : pattern;
  const labels = name.split(".");
  return (
    name.length <= 253 &&
    labels.length >= 2 &&
    labels.every((label) => /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/.test(label))
  );
}

/**
 * The policy file (RFC 8461 §3.2): "key: value" lines ending CRLF (a bare LF is accepted, as senders
 * commonly do). version STSv1, mode and max_age are required, and at least one mx unless the mode is
 * "none". Unknown keys are ignored (§3.2: for future extensions); of a repeated key other than mx the
 * first counts.
 */
export function parseStsPolicy(text: string): Parsed<StsPolicy> {
  const fields = new Map<string, string>();
  const mx: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) return fail(`the policy line "${line.slice(0, 80)}" is not "key: value"`);
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (key === "mx") {
      const pattern = value.toLowerCase().replace(/\.$/, "");
      if (!isMxPattern(pattern)) return fail(`the mx pattern "${value.slice(0, 80)}" is not a host name`);
      if (!mx.includes(pattern)) mx.push(pattern);
    } else if (!fields.has(key)) {
      fields.set(key, value);
    }
  }
  if (fields.get("version") !== "STSv1") return fail('the policy has no "version: STSv1" line');
  const mode = fields.get("mode");
  if (mode !== "enforce" && mode !== "testing" && mode !== "none") {
    return fail(`the policy mode "${mode ?? ""}" is not enforce, testing or none`);
  }
  const age = fields.get("max_age");
  if (age === undefined || !/^[0-9]{1,10}$/.test(age))
    return fail("the policy max_age is not a number of seconds");
  const maxAge = Number(age);
  if (maxAge > STS_MAX_AGE_LIMIT) return fail(`the policy max_age ${maxAge} is above ${STS_MAX_AGE_LIMIT}`);
  if (mode !== "none" && mx.length === 0) return fail("the policy lists no mx");
  return { ok: true, value: { mode, mx, maxAge } };
}

/** The policy as RFC 8460 §4.4's policy-string: its lines. */
export function policyLines(policy: StsPolicy): string[] {
  return [
    "version: STSv1",
    `mode: ${policy.mode}`,
    ...policy.mx.map((each) => `mx: ${each}`),
    `max_age: ${policy.maxAge}`,
  ];
}

/**
 * Whether the MX host `name` is one the policy allows (RFC 8461 §4.1): equal to a pattern, or, for
 * "*.example.com", exactly one label more than example.com ("a.example.com", not "a.b.example.com"
 * nor "example.com").
 */
export function mxAllowed(patterns: readonly string[], name: string): boolean {
  const host = name.toLowerCase().replace(/\.$/, "");
  return patterns.some((pattern) => {
    if (!pattern.startsWith("*.")) return pattern === host;
    const dot = host.indexOf(".");
    return dot > 0 && host.slice(dot + 1) === pattern.slice(2);
  });
}

/**
 * The mailto: report addresses of `_smtp._tls.<domain>` (RFC 8460 §3). null: no TLSRPTv1 record (or
 * more than one, which §3 says to treat as none). https: URIs are returned apart: mailroom sends by
 * mail only.
 */
export function parseTlsRptRecord(records: string[][]): Parsed<{ mailto: string[]; https: string[] }> | null {
  const rpt = records.map((strings) => strings.join("")).filter((text) => /^v=TLSRPTv1\s*(;|$)/.test(text));
  if (rpt.length !== 1) return null;
  const pairs = tagList(rpt[0] as string);
  if (pairs === null) return fail(`the TXT record "${rpt[0]}" is not a list of key=value fields`);
  const rua = pairs.find(([key]) => key === "rua")?.[1];
  if (rua === undefined) return fail('the TLSRPTv1 record has no "rua" field');
  const mailto: string[] = [];
  const https: string[] = [];
  for (const raw of rua.split(",")) {
    const uri = raw.trim();
    if (/^mailto:/i.test(uri)) {
      // RFC 6068: the address may be %-encoded; a "?" starts header fields, which a report ignores.
      let address: string;
      try {
        address = decodeURIComponent(uri.slice(7).split("?")[0] ?? "");
      } catch {
        continue;
      }
      if (/^[^\s@<>]+@[^\s@<>]+$/.test(address)) mailto.push(address);
    } else if (/^https:/i.test(uri)) {
      https.push(uri);
    }
  }
  if (mailto.length === 0 && https.length === 0)
    return fail("the rua field names no mailto: or https: address");
  return { ok: true, value: { mailto, https } };
}
