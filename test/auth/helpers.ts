import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { pino } from "pino";
import { hashPasswordScrypt } from "../../src/auth/password.js";
import { createScramVerifier, formatScramVerifier } from "../../src/auth/scram-verifier.js";
import type { AuthContext, SaslStep } from "../../src/auth/types.js";
import type { AuthConfig } from "../../src/config/types.js";
import type { User } from "../../src/store/types.js";

/** Contexts on an IMAP-like listener (policy "tls-or-loopback", the default of imap and pop3). */
export const REMOTE: AuthContext = { remoteAddress: "203.0.113.7", secure: false, policy: "tls-or-loopback" };
export const REMOTE_TLS: AuthContext = {
  remoteAddress: "203.0.113.7",
  secure: true,
  policy: "tls-or-loopback",
};
export const LOOPBACK: AuthContext = { remoteAddress: "127.0.0.1", secure: false, policy: "tls-or-loopback" };

export function authConfig(overrides: Partial<AuthConfig> = {}): AuthConfig {
  return {
    failureDelay: 0,
    maxFailuresPerIp: 10,
    failureWindow: 15 * 60_000,
    ...overrides,
  };
}

/** A user whose scrypt hash uses a small N, so tests stay fast; the format is the production one. */
export async function makeUser(
  id: number,
  address: string,
  password: string,
  scram: { salt?: Buffer; iterations?: number } = {},
): Promise<User> {
  return {
    id,
    address,
    domainId: 1,
    admin: false,
    disabled: false,
    name: null,
    createdAt: new Date(0),
    passwordHash: await hashPasswordScrypt(password, { ln: 4, r: 8, p: 1 }),
    scramSha256: formatScramVerifier(await createScramVerifier(password, scram)),
  };
}

export function userDirectory(users: User[]): (address: string) => Promise<User | null> {
  return async (address) => users.find((u) => u.address === address) ?? null;
}

export function captureLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level: "debug" }, stream), lines };
}

export function assertFailure(step: SaslStep, reason: string): void {
  assert.equal(step.kind, "failure", `expected failure ${reason}, got ${JSON.stringify(step)}`);
  if (step.kind === "failure") assert.equal(step.reason, reason);
}

export function assertChallenge(step: SaslStep, text?: string): Buffer {
  assert.equal(step.kind, "challenge", `expected a challenge, got ${JSON.stringify(step)}`);
  if (step.kind !== "challenge") throw new Error("unreachable");
  if (text !== undefined) assert.equal(step.data.toString("utf8"), text);
  return step.data;
}

export function assertSuccess(step: SaslStep, address: string): void {
  assert.equal(step.kind, "success", `expected success, got ${JSON.stringify(step)}`);
  if (step.kind === "success") assert.equal(step.user.address, address);
}
