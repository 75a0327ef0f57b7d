// Test doubles for the SMTP session: a DeliveryAgent that keeps bodies in memory and a small
// Authenticator with PLAIN, LOGIN and a mechanism that returns additional data with success.

import pino from "pino";
import { authRefusal } from "../../src/auth/policy.js";
import type { AuthContext, Authenticator, SaslExchange, SaslStep } from "../../src/auth/types.js";
import type { SmtpConfig } from "../../src/config/types.js";
import type { AcceptedMessage, DeliveryAgent, RecipientVerdict } from "../../src/delivery/types.js";
import { type SessionOutput, SmtpSession, type SmtpSessionOptions } from "../../src/smtp/server/session.js";
import type { BlobWriter } from "../../src/store/types.js";

export const silentLogger = pino({ level: "silent" });

export function testConfig(overrides: Partial<SmtpConfig> = {}): SmtpConfig {
  return {
    maxMessageSize: 10_000,
    maxRecipients: 5,
    maxTransactions: 3,
    maxCommandLine: 512,
    maxDataLine: 1000,
    maxConnections: 10,
    maxConnectionsPerIp: 10,
    maxErrors: 10,
    commandTimeout: 60_000,
    dataTimeout: 120_000,
    greetingDelay: 0,
    allowBareAddresses: false,
    vacationPeriod: 7 * 24 * 3600_000,
    ...overrides,
  };
}

export class FakeAgent implements DeliveryAgent {
  commits: AcceptedMessage[] = [];
  bodies = new Map<string, Buffer>();
  aborted: string[] = [];
  checked: Array<{ address: string; user: string | null }> = [];
  commitError: Error | null = null;
  writeError: Error | null = null;
  private next = 0;

  async checkRecipient(
    address: string,
    context: { authenticated: { address: string } | null },
  ): Promise<RecipientVerdict> {
    this.checked.push({ address, user: context.authenticated?.address ?? null });
    const domain = address.slice(address.lastIndexOf("@") + 1);
    if (address.startsWith("nobody@"))
      return { kind: "reject", code: 550, enhanced: "5.1.1", text: "No such user" };
    if (domain === "example.org" || domain === "xn--bcher-kva.example") return { kind: "local" };
    if (context.authenticated !== null) return { kind: "remote" };
    return { kind: "reject", code: 554, enhanced: "5.7.1", text: "Relay access denied" };
  }

  async createBlobWriter(): Promise<BlobWriter> {
    this.next += 1;
    const id = `msg${this.next}`;
    const chunks: Buffer[] = [];
    return {
      id,
      write: async (chunk) => {
        if (this.writeError) throw this.writeError;
        chunks.push(Buffer.from(chunk));
      },
      finish: async () => {
        const body = Buffer.concat(chunks);
        this.bodies.set(id, body);
        return { id, size: body.length };
      },
      abort: async () => {
        this.aborted.push(id);
        this.bodies.delete(id);
      },
    };
  }

  async commit(message: AcceptedMessage) {
    if (this.commitError) throw this.commitError;
    this.commits.push(message);
    return { messageId: message.blob.id, uids: [], queueIds: [] };
  }

  /** The stored message minus the trace headers the session prepended. */
  body(id: string): string {
    const text = this.bodies.get(id)?.toString("latin1") ?? "";
    return text.replace(/^Return-Path: [^\r]*\r\n/, "").replace(/^Received: (?:[^\r]*\r\n\t)*[^\r]*\r\n/, "");
  }
}

const USERS: Record<string, string> = { "alice@example.org": "secret" };

function plainExchange(mechanism: string): SaslExchange {
  const check = (user: string, password: string): SaslStep =>
    USERS[user] === password
      ? { kind: "success", user: { userId: 1, address: user } }
      : { kind: "failure", reason: "bad-credentials" };
  if (mechanism === "PLAIN") {
    const step = (data: Buffer): SaslStep => {
      const parts = data.toString("utf8").split("\0");
      if (parts.length !== 3) return { kind: "failure", reason: "malformed" };
      return check(parts[1]!, parts[2]!);
    };
    return {
      mechanism,
      start: async (initial) =>
        initial === null ? { kind: "challenge", data: Buffer.alloc(0) } : step(initial),
      next: async (response) => step(response),
    };
  }
  if (mechanism === "LOGIN") {
    let user: string | null = null;
    return {
      mechanism,
      start: async () => ({ kind: "challenge", data: Buffer.from("Username:") }),
      next: async (response) => {
        if (user === null) {
          user = response.toString("utf8");
          return { kind: "challenge", data: Buffer.from("Password:") };
        }
        return check(user, response.toString("utf8"));
      },
    };
  }
  // X-FINAL: stands in for SCRAM's server-final message, "additional data with success".
  return {
    mechanism,
    start: async () => ({ kind: "challenge", data: Buffer.from("proof?") }),
    next: async (response) =>
      response.toString() === "proof"
        ? { kind: "success", user: { userId: 2, address: "bob@example.org" }, data: Buffer.from("v=ok") }
        : { kind: "failure", reason: "bad-credentials" },
  };
}

export class FakeAuthenticator implements Authenticator {
  throttled = false;
  mechanisms(context: AuthContext): string[] {
    return authRefusal(context) === null ? ["X-FINAL", "PLAIN", "LOGIN"] : [];
  }
  begin(mechanism: string, context: AuthContext): SaslExchange | null {
    if (!this.mechanisms(context).includes(mechanism)) return null;
    const exchange = plainExchange(mechanism);
    if (!this.throttled) return exchange;
    return { ...exchange, next: async () => ({ kind: "failure", reason: "throttled" }) };
  }
  async verifyPassword(): Promise<SaslStep> {
    return { kind: "failure", reason: "unavailable" };
  }
  async verifyToken(): Promise<SaslStep> {
    return { kind: "failure", reason: "unavailable" };
  }
}

export interface Harness {
  session: SmtpSession;
  agent: FakeAgent;
  clock: { now: number };
  /** Sends bytes, returns the replies as one string; effects are collected in `effects`. */
  send(input: string | Uint8Array): Promise<string>;
  effects: string[];
}

export function harness(options: Partial<SmtpSessionOptions> & { config?: SmtpConfig } = {}): Harness & {
  greeting: string;
} {
  const agent = (options.agent as FakeAgent | undefined) ?? new FakeAgent();
  const clock = { now: 1_000_000 };
  const session = new SmtpSession({
    hostname: "mx.example.org",
    agent,
    authenticator: new FakeAuthenticator(),
    logger: silentLogger,
    remoteAddress: "192.0.2.7",
    tls: null,
    starttls: true,
    authPolicy: "tls-or-loopback",
    authRequired: false,
    now: () => clock.now,
    ...options,
    config: options.config ?? testConfig(),
  });
  const effects: string[] = [];
  const collect = (output: SessionOutput) => {
    effects.push(...output.effects.map((effect) => effect.kind));
    return output.replies.join("");
  };
  const greeting = collect(session.start());
  return {
    session,
    agent,
    clock,
    effects,
    greeting,
    send: async (input) =>
      collect(await session.receive(typeof input === "string" ? Buffer.from(input, "utf8") : input)),
  };
}

/** Reply codes in order, e.g. ["250", "354"]. */
export function codes(replies: string): string[] {
  return replies
    .split("\r\n")
    .filter((line) => /^\d{3} /.test(line))
    .map((line) => line.slice(0, 3));
}
