// A real SQLite store and authenticator with one user, for the POP3 session and socket tests.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { createAuthenticator } from "../../src/auth/authenticator.js";
import { hashPassword } from "../../src/auth/password.js";
import type { Authenticator } from "../../src/auth/types.js";
import type { AuthConfig } from "../../src/config/types.js";
import { type Pop3Output, Pop3Session, type Pop3SessionOptions } from "../../src/pop3/session.js";
import { openStore } from "../../src/store/open.js";
import type { Mailbox, Store } from "../../src/store/types.js";

export const ADDRESS = "alice@example.test";
export const PASSWORD = "correct horse battery";

export const AUTH_CONFIG: AuthConfig = {
  allowPlaintextOnLoopback: true,
  failureDelay: 0,
  maxFailuresPerIp: 1000,
  failureWindow: 60_000,
};

export interface Pop3Fixture {
  store: Store;
  authenticator: Authenticator;
  inbox: Mailbox;
  userId: number;
  /** Delivers raw bytes to the INBOX; returns the UID. */
  deliver(message: string | Buffer): Promise<number>;
  cleanup(): Promise<void>;
}

export async function createFixture(): Promise<Pop3Fixture> {
  const dataDir = await mkdtemp(join(tmpdir(), "mailroom-pop3-"));
  const logger = pino({ level: "silent" });
  const store = await openStore({ store: "sqlite", dataDir, logger });
  await store.addDomain("example.test");
  const user = await store.addUser(ADDRESS, await hashPassword(PASSWORD));
  const inbox = await store.getMailbox(user.id, "INBOX");
  if (inbox === null) throw new Error("the store created no INBOX");
  const authenticator = createAuthenticator({
    lookupUser: (address) => store.getUser(address),
    config: AUTH_CONFIG,
    logger,
    sleep: async () => {},
  });
  return {
    store,
    authenticator,
    inbox,
    userId: user.id,
    async deliver(message) {
      const writer = await store.createBlobWriter();
      await writer.write(typeof message === "string" ? Buffer.from(message, "latin1") : message);
      const blob = await writer.finish();
      const result = await store.deliver({
        blob,
        sender: "",
        internalDate: new Date(),
        mailboxes: [{ mailboxId: inbox.id }],
        queue: [],
      });
      const placed = result.uids[0];
      if (placed === undefined) throw new Error("deliver placed nothing");
      return placed.uid;
    },
    async cleanup() {
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function collect(output: Pop3Output[]): Promise<string> {
  const parts: Buffer[] = [];
  for (const part of output) {
    if (typeof part === "string") {
      parts.push(Buffer.from(part, "utf8"));
    } else {
      for await (const chunk of part) parts.push(chunk);
    }
  }
  return Buffer.concat(parts).toString("latin1");
}

/** Drives a session the way the adapter does, one line at a time, and collects what it says. */
export class SessionDriver {
  readonly session: Pop3Session;
  lastAction: "continue" | "starttls" | "close" = "continue";

  constructor(fixture: Pop3Fixture, options: Partial<Pop3SessionOptions> = {}) {
    this.session = new Pop3Session({
      store: fixture.store,
      authenticator: fixture.authenticator,
      remoteAddress: "127.0.0.1",
      secure: false,
      tlsAvailable: true,
      hostname: "mail.example.test",
      ...options,
    });
  }

  async send(line: string | Buffer): Promise<string> {
    const bytes = typeof line === "string" ? Buffer.from(line, "utf8") : line;
    const result = await this.session.handle({ kind: "line", line: bytes });
    this.lastAction = result.action;
    return collect(result.output);
  }

  async overlong(): Promise<string> {
    const result = await this.session.handle({ kind: "overlong" });
    this.lastAction = result.action;
    return collect(result.output);
  }

  async login(): Promise<string> {
    await this.send(`USER ${ADDRESS}`);
    return this.send(`PASS ${PASSWORD}`);
  }
}
