// A real SQLite store and authenticator with one user, and a driver for sans-IO IMAP sessions.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { createAuthenticator } from "../../src/auth/authenticator.js";
import { hashPassword } from "../../src/auth/password.js";
import type { Authenticator } from "../../src/auth/types.js";
import type { AuthConfig } from "../../src/config/types.js";
import { CommandFramer } from "../../src/imap/protocol/framer.js";
import { type ImapOutput, ImapSession, type ImapSessionOptions } from "../../src/imap/session.js";
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

export interface ImapFixture {
  store: Store;
  authenticator: Authenticator;
  inbox: Mailbox;
  userId: number;
  dataDir: string;
  /** Delivers raw bytes to a mailbox (INBOX by default), as SMTP would; returns the UID. */
  deliver(message: string | Buffer, mailboxId?: number, flags?: string[]): Promise<number>;
  cleanup(): Promise<void>;
}

export async function createFixture(): Promise<ImapFixture> {
  const dataDir = await mkdtemp(join(tmpdir(), "mailroom-imap-"));
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
    dataDir,
    async deliver(message, mailboxId = inbox.id, flags) {
      const writer = await store.createBlobWriter();
      await writer.write(typeof message === "string" ? Buffer.from(message, "utf8") : message);
      const blob = await writer.finish();
      const result = await store.deliver({
        blob,
        sender: "",
        internalDate: new Date("2024-02-01T10:00:00Z"),
        mailboxes: [{ mailboxId, ...(flags === undefined ? {} : { flags }) }],
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

/** Reads a session's output to its end, as the adapter would write it. */
export async function collect(output: ImapOutput): Promise<Buffer[]> {
  const pieces: Buffer[] = [];
  for await (const piece of output) pieces.push(piece);
  return pieces;
}

/** Drives a session the way the adapter does: bytes in, framed, answered; "+" for literals included. */
export class SessionDriver {
  readonly session: ImapSession;
  readonly framer = new CommandFramer();
  /** Unsolicited output pushed while idling. */
  readonly pushed: Buffer[] = [];
  action: "continue" | "starttls" | "close" = "continue";

  constructor(fixture: ImapFixture, options: Partial<ImapSessionOptions> = {}) {
    this.session = new ImapSession({
      store: fixture.store,
      authenticator: fixture.authenticator,
      remoteAddress: "127.0.0.1",
      secure: false,
      tlsAvailable: true,
      push: (data) => this.pushed.push(data),
      ...options,
    });
  }

  greeting(): string {
    return Buffer.concat(this.session.greeting().output).toString("utf8");
  }

  /** Sends raw bytes; returns everything the session answered, as text (latin1 keeps bytes). */
  async send(bytes: string | Buffer): Promise<string> {
    this.framer.lineMode = this.session.lineMode;
    const out: Buffer[] = [];
    const queue = this.framer.push(typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes);
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
      const result = await this.session.handle(item);
      out.push(...(await collect(result.output)));
      if (item.kind === "literal-start" && item.sync)
        queue.unshift(...this.framer.resolveLiteral(result.literal === "accepted"));
      this.action = result.action;
      this.framer.lineMode = this.session.lineMode;
    }
    return Buffer.concat(out).toString("latin1");
  }

  /** Sends one command line with CRLF. */
  command(line: string): Promise<string> {
    return this.send(`${line}\r\n`);
  }

  async login(): Promise<string> {
    const reply = await this.command(`L1 LOGIN ${ADDRESS} "${PASSWORD}"`);
    if (!reply.includes("L1 OK")) throw new Error(`login failed: ${reply}`);
    return reply;
  }
}

export function message(subject: string, body = "Hello there.\r\n", extraHeaders = ""): string {
  return `From: Bob <bob@example.org>\r\nTo: alice@example.test\r\nSubject: ${subject}\r\nDate: Thu, 01 Feb 2024 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, "")}@example.org>\r\n${extraHeaders}\r\n${body}`;
}
