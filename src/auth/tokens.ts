// App passwords / bearer tokens: "mrt_<id>_<secret>". The id is public and finds the row; the secret is
// 32 random bytes of which the store keeps only a SHA-256 hash. A fast hash suffices here (unlike for
// passwords, which scrypt stretches): a 256-bit random secret cannot be guessed from its hash.

import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

const PREFIX = "mrt_";
const TOKEN = /^mrt_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface NewToken {
  /** The whole token, shown to its owner once. */
  token: string;
  id: string;
  secretHash: string;
}

export function newToken(): NewToken {
  const id = randomBytes(8).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  return { token: `${PREFIX}${id}_${secret}`, id, secretHash: hashSecret(secret) };
}

/** The token's id and secret, or null when the text does not have a token's form. */
export function parseToken(text: string): { id: string; secret: string } | null {
  const match = TOKEN.exec(text);
  return match ? { id: match[1] as string, secret: match[2] as string } : null;
}

export function looksLikeToken(text: string): boolean {
  return text.startsWith(PREFIX);
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

export function secretMatches(secret: string, secretHash: string): boolean {
  const given = Buffer.from(hashSecret(secret), "hex");
  const stored = Buffer.from(secretHash, "hex");
  return given.length === stored.length && timingSafeEqual(given, stored);
}
