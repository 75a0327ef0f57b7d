// SCRAM-SHA-256 key derivation (RFC 5802 §3 with SHA-256 per RFC 7677) and the stored verifier's text
// form `SCRAM-SHA-256$<iterations>:<salt b64>$<StoredKey b64>:<ServerKey b64>`. Shared by the server
// mechanism, the client, and password.ts.

import { createHash, createHmac, pbkdf2, randomBytes } from "node:crypto";
import { prepareStored } from "./saslprep.js";

/** RFC 7677 §4: the iteration count SHOULD be at least 4096. Raise here for new passwords. */
export const DEFAULT_SCRAM_ITERATIONS = 4096;
export const MIN_SCRAM_ITERATIONS = 4096;
/** Upper bound accepted from a stored verifier or from a server (client side), against CPU exhaustion. */
export const MAX_SCRAM_ITERATIONS = 1_000_000;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

export interface ScramVerifier {
  iterations: number;
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

export class ScramVerifierError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ScramVerifierError";
  }
}

export function hmacSha256(key: Buffer, data: string | Buffer): Buffer {
  return createHmac("sha256", key).update(data).digest();
}

export function sha256(data: Buffer): Buffer {
  return createHash("sha256").update(data).digest();
}

export function xorBuffers(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ (b[i] ?? 0);
  return out;
}

/**
 * Hi() of RFC 5802 §2.2 is PBKDF2 with HMAC as the PRF and one output block; `prepared` has been
 * through SASLprep (saslprep.ts).
 */
export function saltedPassword(prepared: string, salt: Buffer, iterations: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    pbkdf2(prepared, salt, iterations, KEY_BYTES, "sha256", (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}

export function clientKeyOf(salted: Buffer): Buffer {
  return hmacSha256(salted, "Client Key");
}

export function serverKeyOf(salted: Buffer): Buffer {
  return hmacSha256(salted, "Server Key");
}

export async function createScramVerifier(
  password: string,
  options: { iterations?: number; salt?: Buffer } = {},
): Promise<ScramVerifier> {
  const iterations = options.iterations ?? DEFAULT_SCRAM_ITERATIONS;
  const salt = options.salt ?? randomBytes(SALT_BYTES);
  const salted = await saltedPassword(prepareStored(password), salt, iterations);
  return { iterations, salt, storedKey: sha256(clientKeyOf(salted)), serverKey: serverKeyOf(salted) };
}

export function formatScramVerifier(v: ScramVerifier): string {
  const b64 = (b: Buffer) => b.toString("base64");
  return `SCRAM-SHA-256$${v.iterations}:${b64(v.salt)}$${b64(v.storedKey)}:${b64(v.serverKey)}`;
}

const VERIFIER =
  /^SCRAM-SHA-256\$([1-9][0-9]{0,9}):([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2}):([A-Za-z0-9+/]+={0,2})$/;

export function parseScramVerifier(text: string): ScramVerifier {
  const match = VERIFIER.exec(text);
  if (!match) {
    throw new ScramVerifierError(
      "stored SCRAM-SHA-256 verifier is not in the form SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey; set the password again",
    );
  }
  const iterations = Number(match[1]);
  const salt = Buffer.from(match[2]!, "base64");
  const storedKey = Buffer.from(match[3]!, "base64");
  const serverKey = Buffer.from(match[4]!, "base64");
  if (
    iterations > MAX_SCRAM_ITERATIONS ||
    salt.length === 0 ||
    storedKey.length !== KEY_BYTES ||
    serverKey.length !== KEY_BYTES
  ) {
    throw new ScramVerifierError(
      "stored SCRAM-SHA-256 verifier has an iteration count, salt or key of impossible size; set the password again",
    );
  }
  return { iterations, salt, storedKey, serverKey };
}
