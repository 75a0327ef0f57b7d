// The shared mail fixture (test/support/mail-fixture.ts) as IMAP tests use it, and a driver for sans-IO IMAP sessions.

import { CommandFramer } from "../../src/imap/protocol/framer.js";
import { type ImapOutput, ImapSession, type ImapSessionOptions } from "../../src/imap/session.js";
import { ADDRESS, createMailFixture, type MailFixture, PASSWORD } from "../support/mail-fixture.js";

export { ADDRESS, PASSWORD };

export type ImapFixture = MailFixture;

export function createFixture(): Promise<ImapFixture> {
  return createMailFixture({
    dirPrefix: "mailroom-imap-",
    encoding: "utf8",
    internalDate: () => new Date("2024-02-01T10:00:00Z"),
  });
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
  action: "continue" | "starttls" | "compress" | "close" = "continue";

  constructor(fixture: ImapFixture, options: Partial<ImapSessionOptions> = {}) {
    this.session = new ImapSession({
      store: fixture.store,
      authenticator: fixture.authenticator,
      remoteAddress: "127.0.0.1",
      secure: false,
      tlsAvailable: true,
      authPolicy: "tls-or-loopback",
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
