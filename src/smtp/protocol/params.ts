// ESMTP parameters of MAIL and RCPT (RFC 5321 §4.1.2 esmtp-param) and the extensions mailroom
// implements: SIZE (RFC 1870), BODY (RFC 6152, RFC 3030), SMTPUTF8 (RFC 6531), DSN (RFC 3461), AUTH
// (RFC 4954 §5), FUTURERELEASE (RFC 4865) where the session offers it.

import { holdRequest } from "../../delivery/future-release.js";
import type { EnvelopeDsn, RecipientDsn } from "../../store/types.js";
import { type Reply, reply } from "./reply.js";

export interface EsmtpParam {
  /** Upper-cased. */
  keyword: string;
  value: string | null;
}

export type ParamResult<T> = { ok: true; value: T } | { ok: false; reply: Reply };

const syntaxError = (text: string): { ok: false; reply: Reply } => ({
  ok: false,
  reply: reply(501, "5.5.4", text),
});
const unsupported = (text: string): { ok: false; reply: Reply } => ({
  ok: false,
  reply: reply(555, "5.5.4", text),
});

/** esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"); esmtp-value = 1*(%d33-60 / %d62-126) (+UTF-8, RFC 6531). */
export function parseParams(text: string): ParamResult<EsmtpParam[]> {
  const params: EsmtpParam[] = [];
  const seen = new Set<string>();
  for (const word of text.split(" ")) {
    if (word === "") continue;
    const equals = word.indexOf("=");
    const keyword = (equals === -1 ? word : word.slice(0, equals)).toUpperCase();
    const value = equals === -1 ? null : word.slice(equals + 1);
    if (!/^[A-Z0-9][A-Z0-9-]*$/.test(keyword)) return syntaxError(`Invalid parameter "${word}"`);
    if (value !== null && !/^[\x21-\x3c\x3e-\x7e\u0080-\u{10ffff}]+$/u.test(value)) {
      return syntaxError(`Invalid value for parameter ${keyword}`);
    }
    if (seen.has(keyword)) return syntaxError(`Parameter ${keyword} given twice`);
    seen.add(keyword);
    params.push({ keyword, value });
  }
  return { ok: true, value: params };
}

/** xtext (RFC 3461 §4): "+" and two upper-case hex digits stand for one octet; returns null when malformed. */
export function decodeXtext(text: string): string | null {
  const bytes: number[] = [];
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code === 0x2b) {
      const hex = text.slice(index + 1, index + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return null;
      bytes.push(Number.parseInt(hex, 16));
      index += 2;
    } else if (code >= 33 && code <= 126 && code !== 0x3d) {
      bytes.push(code);
    } else {
      return null;
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

export type BodyType = "7BIT" | "8BITMIME" | "BINARYMIME";

export interface MailParameters {
  size: number | null;
  body: BodyType;
  smtputf8: boolean;
  dsn: EnvelopeDsn | null;
  /** RFC 4865 HOLDFOR/HOLDUNTIL: no delivery before this time; null when not held. */
  holdUntil: Date | null;
}

/**
 * Validates MAIL FROM parameters; `maxSize` is the SIZE the server advertised. `futureRelease`, when the
 * session offers FUTURERELEASE, is its longest hold and the clock; without it HOLDFOR and HOLDUNTIL are
 * parameters this server does not know (555).
 */
export function mailParameters(
  params: EsmtpParam[],
  maxSize: number,
  futureRelease?: { maxSeconds: number; now: Date },
): ParamResult<MailParameters> {
  const result: MailParameters = { size: null, body: "7BIT", smtputf8: false, dsn: null, holdUntil: null };
  const dsn: EnvelopeDsn = {};
  const hold: { HOLDFOR?: string | null; HOLDUNTIL?: string | null } = {};
  for (const { keyword, value } of params) {
    switch (keyword) {
      case "HOLDFOR":
      case "HOLDUNTIL":
        if (futureRelease === undefined) return unsupported(`Parameter ${keyword} is not supported on MAIL`);
        hold[keyword] = value;
        break;
      case "SIZE": {
        if (value === null || !/^[0-9]{1,20}$/.test(value))
          return syntaxError("SIZE needs a number of octets");
        const size = Number(value);
        // RFC 1870 §6: a declared size above the limit is refused at MAIL, before any data is sent.
        if (size > maxSize) {
          return {
            ok: false,
            reply: reply(552, "5.3.4", `Message size exceeds the limit of ${maxSize} octets`),
          };
        }
        result.size = size;
        break;
      }
      case "BODY": {
        const body = value?.toUpperCase();
        if (body !== "7BIT" && body !== "8BITMIME" && body !== "BINARYMIME") {
          return syntaxError("BODY must be 7BIT, 8BITMIME or BINARYMIME");
        }
        result.body = body;
        break;
      }
      case "SMTPUTF8":
        if (value !== null) return syntaxError("SMTPUTF8 takes no value");
        result.smtputf8 = true;
        break;
      case "RET": {
        const ret = value?.toUpperCase();
        if (ret !== "FULL" && ret !== "HDRS") return syntaxError("RET must be FULL or HDRS");
        dsn.ret = ret;
        break;
      }
      case "ENVID": {
        const envid = value === null ? null : decodeXtext(value);
        // RFC 3461 §4.4: at most 100 characters.
        if (envid === null || value === null || value.length > 100) {
          return syntaxError("ENVID must be xtext of at most 100 characters");
        }
        dsn.envid = envid;
        break;
      }
      case "AUTH":
        // RFC 4954 §5: the original submitter, informational; accepted (including <>) and not trusted.
        if (value === null || decodeXtext(value) === null)
          return syntaxError("AUTH needs an xtext mailbox or <>");
        break;
      default:
        return unsupported(`Parameter ${keyword} is not supported on MAIL`);
    }
  }
  if (dsn.ret !== undefined || dsn.envid !== undefined) result.dsn = dsn;
  if (futureRelease !== undefined) {
    const held = holdRequest(hold.HOLDFOR, hold.HOLDUNTIL, futureRelease);
    if (!held.ok) return { ok: false, reply: reply(held.code, held.enhanced, held.text) };
    result.holdUntil = held.until;
  }
  return { ok: true, value: result };
}

const NOTIFY_VALUES = new Set(["SUCCESS", "FAILURE", "DELAY"]);

/** Validates RCPT TO parameters (RFC 3461 §4.1 NOTIFY, §4.2 ORCPT). */
export function rcptParameters(params: EsmtpParam[]): ParamResult<RecipientDsn | null> {
  const dsn: RecipientDsn = {};
  for (const { keyword, value } of params) {
    switch (keyword) {
      case "NOTIFY": {
        const items = (value ?? "").toUpperCase().split(",");
        const valid =
          (items.length === 1 && items[0] === "NEVER") ||
          (items.every((item) => NOTIFY_VALUES.has(item)) && new Set(items).size === items.length);
        if (!valid) return syntaxError("NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY");
        dsn.notify = items as RecipientDsn["notify"];
        break;
      }
      case "ORCPT": {
        const semicolon = value?.indexOf(";") ?? -1;
        const addressType = value?.slice(0, semicolon) ?? "";
        const address = value === null || semicolon === -1 ? null : decodeXtext(value.slice(semicolon + 1));
        if (!/^[A-Za-z0-9-]+$/.test(addressType) || address === null || address === "") {
          return syntaxError("ORCPT must be addr-type;xtext, e.g. rfc822;user+40example.org");
        }
        dsn.orcpt = `${addressType.toLowerCase()};${address}`;
        break;
      }
      default:
        return unsupported(`Parameter ${keyword} is not supported on RCPT`);
    }
  }
  return { ok: true, value: dsn.notify === undefined && dsn.orcpt === undefined ? null : dsn };
}
