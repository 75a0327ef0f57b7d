// Real clients (python3 imaplib, curl, a raw socket) against the IMAP adapter on 127.0.0.1, with a real
// SQLite store and authenticator.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { connect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { createSecureContext, connect as tlsConnect } from "node:tls";
import { promisify } from "node:util";
import { pino } from "pino";
import { generate } from "selfsigned";
import { defaultConfig } from "../../src/config/defaults.js";
import { createImapHandler } from "../../src/imap/handler.js";
import { DEFAULT_FRAMER_LIMITS, OVERLONG_LINE_SLACK } from "../../src/imap/protocol/framer.js";
import type { ProtocolHandler } from "../../src/net/types.js";
import type { ServiceDeps } from "../../src/server/deps.js";
import { clients, needs } from "../support/clients.js";
import { type LoopbackServer, listenOnLoopback } from "../support/listen.js";
import { ADDRESS, createFixture, type ImapFixture, message, PASSWORD } from "./fixtures.js";

const run = promisify(execFile);

interface Running extends LoopbackServer {
  handler: ProtocolHandler;
}

/** Reads a raw IMAP conversation: waits until the text received so far matches. */
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

  async until(pattern: RegExp): Promise<string> {
    const deadline = Date.now() + 5000;
    while (!pattern.test(this.text)) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${pattern}; got ${JSON.stringify(this.text)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    return this.text;
  }
}

describe("IMAP adapter with real clients", () => {
  let fixture: ImapFixture;
  let plain: Running;
  let implicit: Running;
  let deps: ServiceDeps;

  before(async () => {
    fixture = await createFixture();
    await fixture.deliver(message("first", "Hello Alice\r\n"));
    const pems = await generate([{ name: "commonName", value: "mail.example.test" }], { keySize: 2048 });
    deps = {
      config: defaultConfig({ hostname: "mail.example.test" }),
      store: fixture.store,
      logger: pino({ level: "silent" }),
      authenticator: fixture.authenticator,
      tls: createSecureContext({ key: pems.private, cert: pems.cert }),
    };
    const plainHandler = createImapHandler("imap", deps);
    plain = { handler: plainHandler, ...(await listenOnLoopback(plainHandler, "imap")) };
    const tlsHandler = createImapHandler("imaps", deps);
    const tls = { key: pems.private, cert: pems.cert };
    implicit = { handler: tlsHandler, ...(await listenOnLoopback(tlsHandler, "imaps", { tls })) };
  });

  after(async () => {
    for (const running of [plain, implicit]) await running.close();
    await fixture.cleanup();
  });

  test("python imaplib: login, list, select, append, fetch, store, search, copy, expunge", {
    skip: needs(clients.python3),
  }, async () => {
    const script = `
import imaplib, sys
port = int(sys.argv[1])
m = imaplib.IMAP4("127.0.0.1", port)
m.login(sys.argv[2], sys.argv[3])
typ, boxes = m.list()
assert typ == "OK" and any(b'"Sent"' in b for b in boxes), boxes
typ, data = m.select("INBOX")
assert typ == "OK" and data[0] == b"1", data
msg = b"Subject: from python\\r\\n\\r\\nbody line\\r\\n"
typ, data = m.append("INBOX", "(\\\\Flagged)", None, msg)
assert typ == "OK" and b"APPENDUID" in data[0], data
m.noop()
typ, data = m.uid("FETCH", "2", "(BODY.PEEK[] FLAGS)")
assert typ == "OK" and data[0][1] == msg, data
assert b"\\\\Flagged" in data[1], data
typ, data = m.store("1", "+FLAGS", "(\\\\Deleted)")
assert typ == "OK", data
typ, data = m.search(None, "FLAGGED")
assert data == [b"2"], data
typ, data = m.copy("2", "Archive")
assert typ == "OK", data
typ, data = m.expunge()
assert data == [b"1"], data
typ, data = m.status("Archive", "(MESSAGES)")
assert b"MESSAGES 1" in data[0], data
m.close()
m.logout()
print("ok")
`;
    const { stdout } = await run("python3", ["-c", script, String(plain.port), ADDRESS, PASSWORD]);
    assert.equal(stdout.trim(), "ok");
  });

  test("curl over imaps: LIST and FETCH by UID return the stored bytes", {
    skip: needs(clients.curl),
  }, async () => {
    const raw = message("for curl", "curl body\r\n");
    const archive = await fixture.store.mailboxes.getMailbox(fixture.userId, "Drafts");
    assert.ok(archive !== null);
    const uid = await fixture.deliver(raw, archive.id);
    const base = `imaps://127.0.0.1:${implicit.port}`;
    const auth = ["-k", "-s", "--user", `${ADDRESS}:${PASSWORD}`];
    const list = await run("curl", [...auth, `${base}/`]);
    assert.match(list.stdout, /\* LIST \(\\HasNoChildren \\Drafts\) "\/" "?Drafts"?/);
    const fetched = await run("curl", [...auth, `${base}/Drafts/;UID=${uid}`], { encoding: "buffer" });
    assert.deepEqual(fetched.stdout, Buffer.from(raw));
  });

  test("curl over imap with STARTTLS required", { skip: needs(clients.curl) }, async () => {
    const { stdout } = await run("curl", [
      "-k",
      "-s",
      "--ssl-reqd",
      "--user",
      `${ADDRESS}:${PASSWORD}`,
      "-X",
      "STATUS INBOX (MESSAGES)",
      `imap://127.0.0.1:${plain.port}/`,
    ]);
    assert.match(stdout, /\* STATUS "?INBOX"? \(MESSAGES \d+\)/);
  });

  test("1 MiB without a line feed: BAD, BYE and the close come after the limit and a bounded slack", {
    timeout: 10_000,
  }, async () => {
    const sockets: Socket[] = [];
    const handler = createImapHandler("imap", deps);
    const server = await listenOnLoopback(handler, "imap", { onSocket: (socket) => sockets.push(socket) });
    try {
      const socket = connect(server.port, "127.0.0.1");
      const client = new RawClient(socket);
      await client.until(/^\* OK .*\r\n/);
      const closed = new Promise((resolve) => socket.once("end", resolve));
      const started = Date.now();
      socket.write(`t1 NOOP ${"A".repeat(1024 * 1024)}`);
      await client.until(/\* BYE \[TOOBIG\] .*closing the connection\r\n/);
      assert.match(client.text, /t1 BAD \[TOOBIG\] the command line is too long\r\n/);
      await closed;
      const elapsed = Date.now() - started;
      const read = sockets[0]!.bytesRead;
      // The framer stops at limit + slack; the paused socket may have taken up to two 64 KiB reads by then.
      const bound = DEFAULT_FRAMER_LIMITS.maxLine + OVERLONG_LINE_SLACK + 128 * 1024;
      assert.ok(read <= bound, `read ${read} octets`);
      assert.ok(elapsed < 2_000, `closed after ${elapsed} ms`);
      socket.destroy();
    } finally {
      await server.close();
    }
  });

  test("raw socket: STARTTLS drops pipelined commands; IDLE hears a delivery at once", async () => {
    const socket = connect(plain.port, "127.0.0.1");
    const client = new RawClient(socket);
    await client.until(/^\* OK .*\r\n/);
    socket.write("s1 STARTTLS\r\ns2 LOGIN injected\r\n");
    const beforeTls = await client.until(/s1 OK/);
    assert.doesNotMatch(beforeTls, /s2/);
    const secure = new RawClient(tlsConnect({ socket, rejectUnauthorized: false }) as unknown as Socket);
    secure.socket.write("s3 CAPABILITY\r\n");
    const afterTls = await secure.until(/s3 OK/);
    assert.doesNotMatch(afterTls, /s2/, "the command pipelined after STARTTLS was discarded");
    assert.doesNotMatch(afterTls, /STARTTLS/);
    secure.socket.destroy();

    const idle = new RawClient(connect(plain.port, "127.0.0.1"));
    await idle.until(/^\* OK/);
    idle.socket.write(`a LOGIN {${ADDRESS.length}}\r\n`);
    await idle.until(/\+ Ready/);
    idle.socket.write(`${ADDRESS} "${PASSWORD}"\r\nb SELECT Junk\r\nc IDLE\r\n`);
    await idle.until(/\+ idling\r\n/);
    const junk = await fixture.store.mailboxes.getMailbox(fixture.userId, "Junk");
    assert.ok(junk !== null);
    const raw = message("idle", "wake up\r\n");
    await fixture.deliver(raw, junk.id);
    await idle.until(/\* 1 EXISTS\r\n/);
    idle.socket.write("DONE\r\nd FETCH 1 BODY.PEEK[]\r\ne LOGOUT\r\n");
    const text = await idle.until(/e OK/);
    assert.ok(text.includes(`* 1 FETCH (BODY[] {${raw.length}}\r\n${raw})`));
    idle.socket.destroy();
  });
});
