// Password storage. Two forms are kept per user, both derived here and never the password itself:
// - an scrypt hash, for cleartext logins (PLAIN, LOGIN, POP3 USER/PASS, IMAP LOGIN);
// - a SCRAM-SHA-256 verifier (RFC 5802 §3, RFC 7677), for SCRAM, which needs StoredKey/ServerKey
//   rather than something only a cleartext password can be checked against.
//
// Passwords go through SASLprep (RFC 4013, as RFC 5802 §2.2 asks) before either derivation: the same
// step for both forms keeps them consistent, so a password typed on one client is accepted by every
// mechanism. Hashes made before SASLprep (NFKC alone) still verify unless the password held a
// non-ASCII space or a character SASLprep maps to nothing.

import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import type { StoredCredentials } from "../store/types.js";
import { prepareQuery, prepareStored } from "./saslprep.js";
import { createScramVerifier, formatScramVerifier } from "./scram-verifier.js";

export interface ScryptParameters {
  /** log2 of the CPU/memory cost N. */
  ln: number;
  r: number;
  p: number;
}

/**
 * ln=14 (N=16384), r=8: measured on the development machine (2 cores, Node 20) at roughly 50–75 ms per
 * hash with other work running, 16 MiB of memory each. Stored with every hash, so it can be raised later
 * without invalidating existing ones.
 */
export const DEFAULT_SCRYPT_PARAMETERS: Readonly<ScryptParameters> = { ln: 14, r: 8, p: 1 };

const SALT_BYTES = 16;
const KEY_BYTES = 32;
// Bounds on parameters read from a stored hash, so a corrupted or hostile row cannot make one login
// allocate gigabytes or spin for minutes.
const MAX_LN = 20;
const MAX_R = 32;
const MAX_P = 16;

export class PasswordHashError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PasswordHashError";
  }
}

export interface ParsedScryptHash {
  parameters: ScryptParameters;
  salt: Buffer;
  hash: Buffer;
}

export async function hashPassword(password: string): Promise<StoredCredentials> {
  const scram = await createScramVerifier(password);
  return {
    passwordHash: await hashPasswordScrypt(password),
    scramSha256: formatScramVerifier(scram),
  };
}

/**
 * The scrypt half of hashPassword(), in the form `$scrypt$ln=14,r=8,p=1$<salt b64>$<hash b64>`.
 * Throws ProhibitedStringError for a password SASLprep forbids.
 */
export async function hashPasswordScrypt(
  password: string,
  parameters: ScryptParameters = DEFAULT_SCRYPT_PARAMETERS,
  salt: Buffer = randomBytes(SALT_BYTES),
): Promise<string> {
  checkParameters(parameters);
  const hash = await deriveScrypt(prepareStored(password), salt, KEY_BYTES, parameters);
  return formatScryptHash({ parameters, salt, hash });
}

/**
 * True when the password matches. False on a mismatch; throws PasswordHashError when the stored
 * string is not a hash this module understands (that is a data problem the operator must see).
 */
export async function verifyPasswordHash(password: string, passwordHash: string): Promise<boolean> {
  const parsed = parseScryptHash(passwordHash);
  const prepared = prepareQuery(password);
  // A password SASLprep forbids matches nothing, but still costs a derivation, so it is refused in the
  // same time as a wrong one.
  const candidate = await deriveScrypt(
    prepared ?? password,
    parsed.salt,
    parsed.hash.length,
    parsed.parameters,
  );
  return prepared !== null && timingSafeEqual(candidate, parsed.hash);
}

export function formatScryptHash({ parameters, salt, hash }: ParsedScryptHash): string {
  const { ln, r, p } = parameters;
  return `$scrypt$ln=${ln},r=${r},p=${p}$${salt.toString("base64")}$${hash.toString("base64")}`;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function parseScryptHash(text: string): ParsedScryptHash {
  const fields = text.split("$");
  if (fields.length !== 5 || fields[0] !== "" || fields[1] !== "scrypt") {
    throw new PasswordHashError(
      "stored password hash is not in the form $scrypt$ln=…,r=…,p=…$salt$hash; set the password again",
    );
  }
  const [, , paramText = "", saltText = "", hashText = ""] = fields;
  const values = new Map<string, number>();
  for (const item of paramText.split(",")) {
    const match = /^(ln|r|p)=([1-9][0-9]{0,2})$/.exec(item);
    if (!match || values.has(match[1]!)) {
      throw new PasswordHashError(
        `stored password hash has a bad parameter "${item}"; set the password again`,
      );
    }
    values.set(match[1]!, Number(match[2]));
  }
  const ln = values.get("ln");
  const r = values.get("r");
  const p = values.get("p");
  if (ln === undefined || r === undefined || p === undefined) {
    throw new PasswordHashError("stored password hash lacks one of ln, r, p; set the password again");
  }
  if (!BASE64.test(saltText) || !BASE64.test(hashText)) {
    throw new PasswordHashError(
      "stored password hash has a salt or hash that is not base64; set the password again",
    );
  }
  const parameters = { ln, r, p };
  checkParameters(parameters);
  const salt = Buffer.from(saltText, "base64");
  const hash = Buffer.from(hashText, "base64");
  if (salt.length < 8 || hash.length < 16 || hash.length > 64) {
    throw new PasswordHashError(
      "stored password hash has a salt or hash of implausible length; set the password again",
    );
  }
  return { parameters, salt, hash };
}

function checkParameters({ ln, r, p }: ScryptParameters): void {
  const ok =
    Number.isInteger(ln) &&
    ln >= 1 &&
    ln <= MAX_LN &&
    Number.isInteger(r) &&
    r >= 1 &&
    r <= MAX_R &&
    Number.isInteger(p) &&
    p >= 1 &&
    p <= MAX_P;
  if (!ok) {
    throw new PasswordHashError(
      `scrypt parameters ln=${ln},r=${r},p=${p} are outside the supported range (ln 1–${MAX_LN}, r 1–${MAX_R}, p 1–${MAX_P})`,
    );
  }
}

function deriveScrypt(
  prepared: string,
  salt: Buffer,
  length: number,
  { ln, r, p }: ScryptParameters,
): Promise<Buffer> {
  const N = 2 ** ln;
  // Node's default maxmem (32 MiB) is exactly 128·N·r at ln=15, which it rejects; allow twice the need.
  const maxmem = 256 * N * r * p;
  return new Promise((resolve, reject) => {
    scrypt(prepared, salt, length, { N, r, p, maxmem }, (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}

let dummyHash: Promise<string> | null = null;

/** The hash unknown users are checked against; computed once per process, on first need. */
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPasswordScrypt(randomBytes(16).toString("base64"));
  return dummyHash;
}

/**
 * Does the same scrypt work as verifying a real hash, for a user who does not exist, so the time a
 * failed login takes does not reveal whether the address has an account. Always false.
 */
export async function burnPasswordCheck(password: string): Promise<false> {
  await verifyPasswordHash(password, await dummyPasswordHash());
  return false;
}
