// Limits over a real socket against a real `mailroom serve` with small limits: an oversize message, too
// many recipients, a client that trickles bytes past the command deadline, and the per-message log line.
// Limits live in the SMTP session, not the store, so the embedded store is enough here.

import assert from "node:assert/strict";
import { createConnection, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "../support/server.js";

/** A line-oriented SMTP conversation on a raw socket, so the test controls every byte and its timing. */
class Conversation {
  private buffer = "";
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      this.buffer += chunk;
      for (const wake of this.waiters.splice(0)) wake();
    });
    socket.on("close", () => {
      this.closed = true;
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static open(port: number): Promise<Conversation> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host: "127.0.0.1", port }, () => resolve(new Conversation(socket)));
      socket.once("error", reject);
    });
  }

  /** The next complete reply (the line whose code is followed by a space). */
  async reply(): Promise<string> {
    for (;;) {
      const match = /^(?:\d{3}-[^\r\n]*\r\n)*\d{3} [^\r\n]*\r\n/.exec(this.buffer);
      if (match) {
        this.buffer = this.buffer.slice(match[0].length);
        return match[0];
      }
      if (this.closed) throw new Error(`connection closed; unread: ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((wake) => this.waiters.push(wake));
    }
  }

  async command(line: string): Promise<string> {
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }

  async untilClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((wake) => this.waiters.push(wake));
  }
}

describe("SMTP limits on a running server", () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({
      env: {
        MAILROOM_SMTP_MAX_MESSAGE_SIZE: "2000",
        MAILROOM_SMTP_MAX_RECIPIENTS: "3",
        MAILROOM_SMTP_COMMAND_TIMEOUT: "1500ms",
      },
    });
    assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
    assert.equal(
      (await server.cli(["user", "add", "alice@example.org", "--password-stdin"], "pw-limits\n")).code,
      0,
    );
  });

  after(async () => {
    await server?.cleanup();
  });

  const listed = async () => {
    const result = await server.cli(["mail", "list", "alice@example.org", "--json"]);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as Array<{ subject: string }>;
  };

  test("a message over SIZE gets 552 and nothing is stored; a SIZE= declaration over it is refused at MAIL", async () => {
    const smtp = await Conversation.open(server.ports.smtp);
    assert.match(await smtp.reply(), /^220 /);
    assert.match(await smtp.command("EHLO client.test"), /250[ -]SIZE 2000\r\n/);
    assert.match(await smtp.command("MAIL FROM:<big@remote.test> SIZE=5000"), /^552 5\.3\.4 /);
    assert.match(await smtp.command("MAIL FROM:<big@remote.test>"), /^250 /);
    assert.match(await smtp.command("RCPT TO:<alice@example.org>"), /^250 /);
    assert.match(await smtp.command("DATA"), /^354 /);
    smtp.socket.write(`Subject: oversize\r\n\r\n${"x".repeat(70)}\r\n`.repeat(40));
    assert.match(await smtp.command("."), /^552 5\.3\.4 /);
    assert.match(await smtp.command("QUIT"), /^221 /);
    assert.equal((await listed()).filter((m) => m.subject === "oversize").length, 0);
  });

  test("recipients past the limit get 452 4.5.3, and the message still goes to the accepted ones", async () => {
    const smtp = await Conversation.open(server.ports.smtp);
    await smtp.reply();
    await smtp.command("EHLO client.test");
    await smtp.command("MAIL FROM:<many@remote.test>");
    for (let n = 0; n < 3; n++) assert.match(await smtp.command("RCPT TO:<alice@example.org>"), /^250 /);
    assert.match(await smtp.command("RCPT TO:<alice@example.org>"), /^452 4\.5\.3 /);
    assert.match(await smtp.command("DATA"), /^354 /);
    assert.match(await smtp.command("Subject: capped\r\n\r\nbody\r\n."), /^250 2\.0\.0 Ok: queued as /);
    await smtp.command("QUIT");
    assert.equal((await listed()).filter((m) => m.subject === "capped").length, 1);
  });

  test("a client trickling a command past the deadline gets 421 4.4.2 and is disconnected", async () => {
    const smtp = await Conversation.open(server.ports.smtp);
    await smtp.reply();
    const started = Date.now();
    const trickle = setInterval(() => {
      if (!smtp.closed) smtp.socket.write("N");
    }, 200);
    try {
      assert.match(await smtp.reply(), /^421 4\.4\.2 /);
      await smtp.untilClosed();
    } finally {
      clearInterval(trickle);
    }
    // The deadline is 1.5 s from the greeting however many bytes arrive; allow generous slack for load.
    assert.ok(Date.now() - started < 15_000);
  });

  test("each accepted message is one log line with id, client, sender, recipients, size, TLS and duration", async () => {
    const smtp = await Conversation.open(server.ports.smtp);
    await smtp.reply();
    await smtp.command("EHLO client.test");
    await smtp.command("MAIL FROM:<logged@remote.test>");
    await smtp.command("RCPT TO:<alice@example.org>");
    await smtp.command("DATA");
    const queued = await smtp.command("Subject: logged\r\n\r\nbody\r\n.");
    await smtp.command("QUIT");
    const id = /queued as (\S+)/.exec(queued)?.[1];
    assert.ok(id);
    let line: Record<string, unknown> | undefined;
    for (let wait = 0; wait < 50 && !line; wait++) {
      line = server.logs().find((entry) => entry.msg === "message accepted" && entry.messageId === id);
      if (!line) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(line, "the accepted message was logged");
    assert.equal(line.client, "127.0.0.1");
    assert.equal(line.from, "logged@remote.test");
    assert.deepEqual(line.to, ["alice@example.org"]);
    assert.equal(typeof line.size, "number");
    assert.equal(line.tls, null);
    assert.equal(typeof line.ms, "number");
  });
});
