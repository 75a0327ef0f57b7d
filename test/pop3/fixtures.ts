// The shared mail fixture (test/support/mail-fixture.ts) as POP3 tests use it, and a driver for POP3 sessions.

import { type Pop3Output, Pop3Session, type Pop3SessionOptions } from "../../src/pop3/session.js";
import { ADDRESS, createMailFixture, type MailFixture, PASSWORD } from "../support/mail-fixture.js";

export { ADDRESS, PASSWORD };

export type Pop3Fixture = MailFixture;

export function createFixture(): Promise<Pop3Fixture> {
  return createMailFixture({
    dirPrefix: "mailroom-pop3-",
    encoding: "latin1",
    internalDate: () => new Date(),
  });
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
      authPolicy: "tls-or-loopback",
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
