// SASL as every protocol sees it (SMTP AUTH, POP3 AUTH, IMAP AUTHENTICATE). Mechanisms are sans-IO:
// the protocol hands in the client's decoded response bytes and gets back a challenge to send, a
// success, or a failure. Encoding (base64 on the wire, "*" to cancel, SASL-IR) stays in the protocol.

import type { AuthPolicy } from "./policy.js";

export type SaslStep =
  | { kind: "challenge"; data: Buffer }
  /** Authenticated. `data` is additional data with success (SCRAM's server-final), if any. */
  | { kind: "success"; user: AuthenticatedUser; data?: Buffer }
  | { kind: "failure"; reason: SaslFailure };

export type SaslFailure = "malformed" | "bad-credentials" | "throttled" | "unavailable";

export interface AuthenticatedUser {
  userId: number;
  address: string;
}

/** One authentication exchange. Create a new one per attempt. */
export interface SaslExchange {
  readonly mechanism: string;
  /** `initial` is the initial response if the client sent one (SASL-IR), else null. */
  start(initial: Buffer | null): Promise<SaslStep>;
  next(response: Buffer): Promise<SaslStep>;
}

export interface AuthContext {
  /** Client IP, for throttling and logs. */
  remoteAddress: string;
  /** True once TLS is in force on this connection. */
  secure: boolean;
  /** The listener's policy: whether authentication may happen at all (see policy.ts). */
  policy: AuthPolicy;
  /** The protocol asking ("smtp", "imap", "pop3", "http"), for logs and metrics; forProtocol() sets it. */
  proto?: string;
}

/** Given to protocol sessions: which mechanisms may be offered now, and a way to start one. */
export interface Authenticator {
  /** Mechanism names to advertise in this context: none where the policy refuses authentication. */
  mechanisms(context: AuthContext): string[];
  /** null when the mechanism is unknown or the policy refuses authentication in this context. */
  begin(mechanism: string, context: AuthContext): SaslExchange | null;
  /**
   * Checks a user name and password directly (POP3 USER/PASS, IMAP LOGIN); throttled like SASL.
   * "unavailable" where the policy refuses: protocols check authRefusal() first for the precise reply.
   */
  verifyPassword(username: string, password: string, context: AuthContext): Promise<SaslStep>;
  /**
   * Checks an app token (src/auth/tokens.ts), throttled like a password. With `username`, the token
   * must also be that user's (HTTP Basic with an app password).
   */
  verifyToken(token: string, context: AuthContext, username?: string): Promise<SaslStep>;
}
