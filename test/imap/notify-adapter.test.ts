// IMAP NOTIFY (RFC 5465) through the socket adapter: a raw client that stops reading fills the
// connection's buffer with a MessageNew FETCH, changes elsewhere then wait in the session, and past
// imap.notify_max_pending the client, once it reads again, gets the whole FETCH and then
// NOTIFICATIONOVERFLOW (§5.8), after which nothing more is pushed.

import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { defaultConfig } from "../../src/config/defaults.js";
import { createImapHandler } from "../../src/imap/handler.js";
import type { ServiceDeps } from "../../src/server/deps.js";
import { type LoopbackServer, listenOnLoopback } from "../support/listen.js";
import { ADDRESS, createFixture, type ImapFixture, message, PASSWORD } from "./fixtures.js";

class RawClient {
  text = "";
  private waiters: Array<() => void> = [];

  constructor(readonly socket: Socket) {
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      this.text += chunk;
      for (const wake of this.waiters.splice(0)) wake();
    });
    socket.on("error", () => {});
  }

  /** Waits until the text received from `from` on matches (a large literal is not scanned again). */
  async until(pattern: RegExp, ms = 10_000, from = 0): Promise<string> {
    const deadline = Date.now() + ms;
    let scanned = from;
    for (;;) {
      // Lines matched here are short: look back a little for one cut between two chunks.
      if (pattern.test(this.text.slice(Math.max(from, scanned - 200)))) break;
      scanned = this.text.length;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${pattern}; got ${this.text.slice(-500)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    return this.text;
  }
}

describe("IMAP NOTIFY through the adapter", () => {
  let fixture: ImapFixture;
  let server: LoopbackServer;

  before(async () => {
    fixture = await createFixture();
    const deps: ServiceDeps = {
      config: defaultConfig({ hostname: "mail.example.test" }),
      store: fixture.store,
      logger: pino({ level: "silent" }),
      authenticator: fixture.authenticator,
    } as ServiceDeps;
    server = await listenOnLoopback(createImapHandler("imap", deps, { notifyMaxPending: 3 }), "imap");
  });

  after(async () => {
    await server.close();
    await fixture.cleanup();
  });

  test("a client that stops reading holds pushes back, then hears NOTIFICATIONOVERFLOW", async () => {
    const client = new RawClient(connect(server.port, "127.0.0.1"));
    await client.until(/^\* OK .*\r\n/);
    client.socket.write(`a LOGIN ${ADDRESS} "${PASSWORD}"\r\nb SELECT INBOX\r\n`);
    await client.until(/b OK /);
    client.socket.write(
      "n NOTIFY SET (selected (MessageNew (BODY.PEEK[]) MessageExpunge)) (personal (MessageNew MessageExpunge))\r\n",
    );
    await client.until(/n OK NOTIFY completed\r\n/);
    const before = client.text.length;
    client.socket.pause();
    // Far more than loopback buffers hold while nobody reads.
    const big = message("big", `${"x".repeat(998)}\r\n`.repeat(8 * 1024));
    await fixture.deliver(big);
    // Time for the session to read the body and push its FETCH into the full connection.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    for (const name of ["Drafts", "Sent", "Trash", "Junk"]) {
      const mailbox = await fixture.store.mailboxes.getMailbox(fixture.userId, name);
      assert.ok(mailbox);
      await fixture.deliver(message(name), mailbox.id);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    client.socket.resume();
    const text = (await client.until(/NOTIFICATIONOVERFLOW[^\r\n]*\r\n/, 30_000, before)).slice(before);
    const overflow = text.indexOf("* OK [NOTIFICATIONOVERFLOW]");
    // The FETCH was written whole before the notice, and the waiting STATUS responses were dropped.
    assert.ok(
      text.startsWith(`* 1 EXISTS\r\n* 1 RECENT\r\n* 1 FETCH (BODY[] {${big.length}}\r\n`),
      text.slice(0, 200),
    );
    assert.equal(text.slice(overflow - 9, overflow), " UID 1)\r\n", "the FETCH ends just before the notice");
    assert.doesNotMatch(text, /\* STATUS/);
    const after = client.text.length;
    const junk = await fixture.store.mailboxes.getMailbox(fixture.userId, "Junk");
    assert.ok(junk);
    await fixture.deliver(message("after"), junk.id);
    client.socket.write("z NOOP\r\n");
    assert.equal(
      (await client.until(/z OK [^\r\n]*\r\n/, 10_000, after)).slice(after),
      "z OK NOOP completed\r\n",
    );
    client.socket.end();
  });
});
