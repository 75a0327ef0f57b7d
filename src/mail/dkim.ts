// DKIM (RFC 6376) for mailroom's own domains: key pairs, the DNS TXT record that publishes the public
// half, and the DKIM-Signature field for a message. Signing itself is mailauth's; this module decides the
// key format and what is signed.

import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject, randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import { promisify } from "node:util";
import { mailboxAddress, parseAddressList } from "./address-list.js";

export type DkimAlgorithm = "rsa-sha256" | "ed25519-sha256";

export interface DkimKeyMaterial {
  selector: string;
  privateKeyPem: string;
  algorithm: DkimAlgorithm;
}

export interface DkimTxtRecord {
  /** The owner name, "<selector>._domainkey.<domain>" (RFC 6376 §3.6.2.1). */
  name: string;
  /** The record's text, as one string. */
  value: string;
  /** A zone-file line, the text split into strings of at most 255 octets (RFC 1035 §3.3.14). */
  zoneLine: string;
}

const generate = promisify(generateKeyPair);

/** RFC 8301 §3.2: RSA signing keys must be at least 1024 bits; 2048 is the common choice now. */
export const RSA_KEY_BITS = 2048;

const SELECTOR = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** RFC 6376 §3.1: a selector is a sequence of DNS labels. */
export function isValidSelector(selector: string): boolean {
  return selector.length <= 253 && SELECTOR.test(selector);
}

export async function generateDkimKey(algorithm: DkimAlgorithm = "rsa-sha256"): Promise<string> {
  const pair =
    algorithm === "rsa-sha256"
      ? await generate("rsa", { modulusLength: RSA_KEY_BITS })
      : await generate("ed25519", {});
  return pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}

/**
 * A selector for a key made at `date`. A domain's first key gets "mr" and the year and month; a
 * replacement (`current` is the selector in use) gets the time to the second, so a rotation never reuses
 * a name whose old DNS record may still be published for mail signed before it.
 */
export function selectorFor(date: Date, current: string | null = null): string {
  const pad = (value: number) => String(value).padStart(2, "0");
  const month = `mr${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}`;
  if (current === null) return month;
  const time = [date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()];
  const second = `${month}${time.map(pad).join("")}`;
  return second === current ? `${second}x${randomBytes(2).toString("hex")}` : second;
}

function privateKeyOf(pem: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (error) {
    throw new Error("the stored DKIM private key cannot be read; replace it with 'mailroom dkim rotate'", {
      cause: error,
    });
  }
}

/** The p= value: RFC 6376 §3.6.1 (RSA: DER SubjectPublicKeyInfo), RFC 8463 §4.2 (Ed25519: raw 32 octets). */
export function publicKeyValue(key: DkimKeyMaterial): string {
  const publicKey = createPublicKey(privateKeyOf(key.privateKeyPem));
  const der = publicKey.export({ type: "spki", format: "der" });
  if (key.algorithm === "ed25519-sha256") return der.subarray(der.length - 32).toString("base64");
  return der.toString("base64");
}

export function dkimTxtRecord(domain: string, key: DkimKeyMaterial): DkimTxtRecord {
  const keyType = key.algorithm === "ed25519-sha256" ? "ed25519" : "rsa";
  const value = `v=DKIM1; k=${keyType}; p=${publicKeyValue(key)}`;
  const name = `${key.selector}._domainkey.${domain}`;
  const strings: string[] = [];
  for (let offset = 0; offset < value.length; offset += 255) strings.push(value.slice(offset, offset + 255));
  const quoted = strings.map((text) => `"${text}"`).join(" ");
  return { name, value, zoneLine: `${name}. IN TXT ( ${quoted} )` };
}

/**
 * The DKIM-Signature field (CRLF-terminated) for the message read from `message`, signed for `domain`.
 * mailauth's default field list covers From, Subject, Date, Message-ID, To, MIME fields and the like, and
 * never the trace fields (Received, Return-Path), which later hops add to. `signTime` is always passed:
 * without it mailauth reads the clock twice, for the t= it hashes and the t= it writes, and a signing that
 * spans a half-second boundary gives a signature no verifier accepts (dkim=fail, bad signature).
 */
export async function signMessage(
  message: Readable | Buffer,
  domain: string,
  key: DkimKeyMaterial,
  signTime: Date = new Date(),
): Promise<string> {
  privateKeyOf(key.privateKeyPem);
  const signature = {
    signingDomain: domain,
    selector: key.selector,
    privateKey: key.privateKeyPem,
    algorithm: key.algorithm,
    canonicalization: "relaxed/relaxed",
  };
  // Loaded at the first signature: a node that never submits or relays mail does without it (issue 19).
  const { dkimSign } = await import("mailauth/lib/dkim/sign.js");
  // mailauth signs what signatureData lists; the same fields at the top level only satisfy its types.
  const result = await dkimSign(message, {
    ...signature,
    signatureData: [signature],
    signTime,
  });
  // mailauth 4 reports each failure as { err, selector, … } although its types declare plain Errors.
  const failure = result.errors[0] as unknown as { err?: Error } | undefined;
  if (failure) {
    const cause = failure.err ?? failure;
    throw new Error(`DKIM signing for ${domain} failed: ${String(failure.err?.message ?? failure)}`, {
      cause,
    });
  }
  if (result.signatures === "") throw new Error(`DKIM signing for ${domain} produced no signature`);
  return result.signatures;
}

/**
 * The author address a signature is made for: the one mailbox of the From: field (RFC 5322 §3.6.2), or
 * null when there is no From:, more than one, or a From: naming several mailboxes or a group.
 */
export function authorAddress(headerBlock: Buffer): string | null {
  const fields: string[] = [];
  for (const line of headerBlock.toString("utf8").split(/\r?\n/)) {
    if (line === "") break;
    if ((line.startsWith(" ") || line.startsWith("\t")) && fields.length > 0) {
      fields[fields.length - 1] += line;
    } else {
      fields.push(line);
    }
  }
  const from = fields.filter((field) => /^from[ \t]*:/i.test(field));
  if (from.length !== 1) return null;
  const value = from[0]!.slice(from[0]!.indexOf(":") + 1);
  const entries = parseAddressList(value);
  const only = entries.length === 1 ? entries[0] : undefined;
  if (only === undefined || "group" in only || only.domain === null) return null;
  return mailboxAddress(only).toLowerCase();
}
