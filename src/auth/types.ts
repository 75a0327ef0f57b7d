// SASL as every protocol sees it (SMTP AUTH, POP3 AUTH, IMAP AUTHENTICATE). Mechanisms are sans-IO:
// the protocol hands in the client's decoded response bytes and gets back a challenge to send, a
// success, or a failure. Encoding (base64 on the wire, "*" to cancel, SASL-IR) stays in the protocol.

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
}

/** Given to protocol sessions: which mechanisms may be offered now, and a way to start one. */
export interface Authenticator {
  /** Mechanism names to advertise in this context (PLAIN/LOGIN only where plaintext is allowed). */
  mechanisms(context: AuthContext): string[];
  /** null when the mechanism is unknown or not allowed in this context. */
  begin(mechanism: string, context: AuthContext): SaslExchange | null;
  /** Checks a user name and password directly (POP3 USER/PASS, IMAP LOGIN); throttled like SASL. */
  verifyPassword(username: string, password: string, context: AuthContext): Promise<SaslStep>;
  /** Whether cleartext passwords (LOGIN, USER/PASS, PLAIN) are acceptable in this context. */
  plaintextAllowed(context: AuthContext): boolean;
}
