// Real clients (python3 poplib, curl, raw sockets) against the POP3 adapter on 127.0.0.1, with a real
// SQLite store and authenticator.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { after, before, beforeEach, describe, test } from "node:test";
import { createSecureContext, type TLSSocket, connect as tlsConnect } from "node:tls";
import { promisify } from "node:util";
import { pino } from "pino";
import { generate } from "selfsigned";
import { defaultConfig } from "../../src/config/defaults.js";
import type { ProtocolHandler } from "../../src/net/types.js";
import { createPop3Handler, type Pop3HandlerOptions } from "../../src/pop3/handler.js";
import { MAX_COMMAND_LINE, OVERLONG_LINE_SLACK } from "../../src/pop3/line-reader.js";
import type { ServiceDeps } from "../../src/server/deps.js";
import { clients, needs } from "../support/clients.js";
import { type LoopbackServer, listenOnLoopback } from "../support/listen.js";
import { ADDRESS, createFixture, PASSWORD, type Pop3Fixture } from "./fixtures.js";

const run = promisify(execFile);

const MESSAGES = [
  "From: bob@example.test\r\nSubject: first\r\n\r\nHello Alice\r\n.\r\n..two dots\r\n.one dot\r\nend\r\n",
  "Subject: second\r\n\r\nshort\r\n",
  "Subject: third\r\nX-Test: yes\r\n\r\nline 1\r\nline 2\r\nline 3\r\n",
];

interface Running extends LoopbackServer {
  handler: ProtocolHandler;
}

class LineClient {
  private buffer = "";
  private closed = false;
  private waiters: Array<() => void> = [];

  constructor(public socket: Socket | TLSSocket) {
    this.listen(socket);
  }

  listen(socket: Socket | TLSSocket): void {
    this.socket = socket;
    socket.setEncoding("latin1");
    socket.on("data", (text: string) => {
      this.buffer += text;
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    socket.on("error", () => {});
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** The next line, or null once the server has closed. */
  async line(): Promise<string | null> {
    for (;;) {
      const end = this.buffer.indexOf("\r\n");
      if (end !== -1) {
        const line = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        return line;
      }
      if (this.closed) return null;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Lines of a multi-line response after its status line, up to the lone ".". */
  async multiline(): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.line();
      if (line === null || line === ".") return lines;
      lines.push(line);
    }
  }

  send(text: string): void {
    this.socket.write(text);
  }

  async command(text: string): Promise<string | null> {
    this.send(`${text}\r\n`);
    return this.line();
  }

  async closedByServer(): Promise<boolean> {
    while ((await this.line()) !== null) {}
    return this.closed;
  }
}

async function connectClient(port: number): Promise<LineClient> {
  const socket = connect(port, "127.0.0.1");
  await once(socket, "connect");
  return new LineClient(socket);
}

describe("POP3 adapter over sockets", () => {
  let fixture: Pop3Fixture;
  let deps: ServiceDeps;
  let key: string;
  let cert: string;
  let plain: Running;
  let implicit: Running;
  const extra: Running[] = [];

  async function startPlain(options: Pop3HandlerOptions = {}): Promise<Running> {
    const handler = createPop3Handler("pop3", deps, options);
    return { handler, ...(await listenOnLoopback(handler, "pop3")) };
  }

  before(async () => {
    fixture = await createFixture();
    const pems = await generate([{ name: "commonName", value: "mail.example.test" }], { keySize: 2048 });
    key = pems.private;
    cert = pems.cert;
    deps = {
      config: defaultConfig({ hostname: "mail.example.test" }),
      store: fixture.store,
      logger: pino({ level: "silent" }),
      authenticator: fixture.authenticator,
      tls: createSecureContext({ key, cert }),
    };
    plain = await startPlain();
    const implicitHandler = createPop3Handler("pop3s", deps);
    implicit = {
      handler: implicitHandler,
      ...(await listenOnLoopback(implicitHandler, "pop3s", { tls: { key, cert } })),
    };
  });

  after(async () => {
    for (const running of [plain, implicit, ...extra]) await running.close();
    await fixture.cleanup();
  });

  let uids: number[] = [];
  beforeEach(async () => {
    const existing = await fixture.store.messages.listMessages(fixture.inbox.id);
    await fixture.store.messages.expunge(
      fixture.inbox.id,
      existing.map((message) => message.uid),
    );
    uids = [];
    for (const message of MESSAGES) uids.push(await fixture.deliver(message));
  });

  /** Logs in until the maildrop lock of an earlier, just-dropped connection has been released. */
  async function loginWhenFree(port: number): Promise<LineClient> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const client = await connectClient(port);
      await client.line();
      await client.command(`USER ${ADDRESS}`);
      const reply = await client.command(`PASS ${PASSWORD}`);
      if (reply?.startsWith("+OK")) return client;
      assert.match(reply ?? "", /^-ERR \[IN-USE\]/);
      client.socket.destroy();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error("the maildrop lock was never released");
  }

  test("python poplib: capa, stls, user/pass_, stat, list, retr, top, uidl, dele, quit", {
    skip: needs(clients.python3),
  }, async () => {
    const script = `
import json, poplib, ssl, sys
port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
p = poplib.POP3("127.0.0.1", port, timeout=10)
out = {"welcome": p.getwelcome().decode(), "capa_plain": sorted(p.capa())}
p.stls(context)
out["capa_tls"] = {k: v for k, v in p.capa().items()}
p.user(user)
p.pass_(password)
out["stat"] = list(p.stat())
out["list"] = [l.decode() for l in p.list()[1]]
out["retr"] = [l.decode("latin1") for l in p.retr(1)[1]]
out["top"] = [l.decode("latin1") for l in p.top(3, 1)[1]]
out["uidl"] = [l.decode() for l in p.uidl()[1]]
out["uidl2"] = p.uidl(2).decode()
out["dele"] = p.dele(2).decode()
out["quit"] = p.quit().decode()
print(json.dumps(out))
`;
    const { stdout } = await run("python3", ["-c", script, String(plain.port), ADDRESS, PASSWORD], {
      timeout: 20_000,
    });
    const out = JSON.parse(stdout);
    assert.match(out.welcome, /^\+OK mail\.example\.test /);
    assert.ok(out.capa_plain.includes("STLS"));
    assert.ok(!("STLS" in out.capa_tls));
    assert.deepEqual(out.capa_tls.SASL.sort(), ["LOGIN", "PLAIN", "SCRAM-SHA-256"]);
    const sizes = MESSAGES.map((message) => Buffer.byteLength(message));
    assert.deepEqual(out.stat, [3, sizes.reduce((a, b) => a + b, 0)]);
    assert.deepEqual(
      out.list,
      sizes.map((size, i) => `${i + 1} ${size}`),
    );
    assert.equal(`${out.retr.join("\r\n")}\r\n`, MESSAGES[0], "RETR is byte-exact after unstuffing");
    assert.deepEqual(out.top, ["Subject: third", "X-Test: yes", "", "line 1"]);
    const validity = fixture.inbox.uidValidity;
    assert.deepEqual(
      out.uidl,
      uids.map((uid, i) => `${i + 1} ${validity}.${uid}`),
    );
    assert.equal(out.uidl2, `+OK 2 ${validity}.${uids[1]}`);
    assert.match(out.dele, /^\+OK /);
    assert.match(out.quit, /^\+OK .*\(1 messages deleted\)$/);
    const left = await fixture.store.messages.listMessages(fixture.inbox.id);
    assert.deepEqual(
      left.map((message) => message.uid),
      [uids[0], uids[2]],
    );
    assert.ok(left[0]?.flags.includes("\\Seen"), "RETR marked the message \\Seen");
  });

  test("python poplib over implicit TLS (pop3s)", { skip: needs(clients.python3) }, async () => {
    const script = `
import json, poplib, ssl, sys
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
p = poplib.POP3_SSL("127.0.0.1", int(sys.argv[1]), context=context, timeout=10)
capa = p.capa()
p.user(sys.argv[2])
p.pass_(sys.argv[3])
print(json.dumps({"stls": "STLS" in capa, "user": "USER" in capa, "stat": list(p.stat()), "quit": p.quit().decode()}))
`;
    const { stdout } = await run("python3", ["-c", script, String(implicit.port), ADDRESS, PASSWORD], {
      timeout: 20_000,
    });
    const out = JSON.parse(stdout);
    assert.equal(out.stls, false);
    assert.equal(out.user, true);
    assert.equal(out.stat[0], 3);
    assert.match(out.quit, /^\+OK /);
  });

  test("curl pop3:// lists and retrieves by number; pop3s:// retrieves byte-exact", {
    skip: needs(clients.curl),
  }, async () => {
    const credentials = `${ADDRESS}:${PASSWORD}`;
    const list = await run("curl", [
      "-sS",
      "--max-time",
      "10",
      "-u",
      credentials,
      `pop3://127.0.0.1:${plain.port}/`,
    ]);
    const sizes = MESSAGES.map((message) => Buffer.byteLength(message));
    assert.equal(list.stdout, sizes.map((size, i) => `${i + 1} ${size}\r\n`).join(""));
    const retr = await run("curl", [
      "-sS",
      "--max-time",
      "10",
      "-u",
      credentials,
      `pop3://127.0.0.1:${plain.port}/1`,
    ]);
    assert.equal(retr.stdout, MESSAGES[0]);
    const secure = await run("curl", [
      "-sS",
      "-k",
      "--max-time",
      "10",
      "-u",
      credentials,
      `pop3s://127.0.0.1:${implicit.port}/3`,
    ]);
    assert.equal(secure.stdout, MESSAGES[2]);
  });

  test("commands pipelined after STLS are discarded, not run inside TLS", async () => {
    const client = await connectClient(plain.port);
    await client.line();
    client.send(`STLS\r\nUSER ${ADDRESS}\r\n`);
    assert.equal(await client.line(), "+OK begin TLS negotiation");
    const secure = tlsConnect({ socket: client.socket as Socket, rejectUnauthorized: false });
    await once(secure, "secureConnect");
    const tlsClient = new LineClient(secure);
    assert.match((await tlsClient.command(`PASS ${PASSWORD}`)) ?? "", /^-ERR send USER before PASS/);
    assert.match((await tlsClient.command("CAPA")) ?? "", /^\+OK/);
    assert.ok(!(await tlsClient.multiline()).includes("STLS"));
    assert.match((await tlsClient.command("QUIT")) ?? "", /^\+OK/);
  });

  test("pipelined commands are answered in order; an overlong line gets one -ERR", async () => {
    const client = await connectClient(plain.port);
    await client.line();
    client.send(
      `${"A".repeat(1000)}\r\nUSER ${ADDRESS}\r\nPASS ${PASSWORD}\r\nSTAT\r\nDELE 1\r\nLIST 1\r\nRSET\r\nQUIT\r\n`,
    );
    assert.match((await client.line()) ?? "", /^-ERR line too long/);
    assert.match((await client.line()) ?? "", /^\+OK send your password/);
    assert.match((await client.line()) ?? "", /^\+OK alice@example\.test has 3 messages/);
    assert.match((await client.line()) ?? "", /^\+OK 3 /);
    assert.equal(await client.line(), "+OK message 1 deleted");
    assert.match((await client.line()) ?? "", /^-ERR message 1 is deleted/);
    assert.match((await client.line()) ?? "", /^\+OK maildrop has 3 messages/);
    assert.match((await client.line()) ?? "", /\(0 messages deleted\)$/);
    assert.equal(await client.closedByServer(), true);
  });

  test("1 MiB without a line feed: -ERR and the close come after the limit and a bounded slack", {
    timeout: 10_000,
  }, async () => {
    const sockets: Socket[] = [];
    const handler = createPop3Handler("pop3", deps);
    const server = {
      handler,
      ...(await listenOnLoopback(handler, "pop3", { onSocket: (s) => sockets.push(s) })),
    };
    extra.push(server);
    const client = await connectClient(server.port);
    await client.line();
    const started = Date.now();
    client.send("A".repeat(1024 * 1024));
    assert.match((await client.line()) ?? "", /^-ERR line too long .*closing the connection$/);
    assert.equal(await client.closedByServer(), true);
    const elapsed = Date.now() - started;
    const read = sockets[0]!.bytesRead;
    // The reader stops at limit + slack; the paused socket may have taken up to two 64 KiB reads by then.
    assert.ok(read <= MAX_COMMAND_LINE + OVERLONG_LINE_SLACK + 128 * 1024, `read ${read} octets`);
    assert.ok(elapsed < 2_000, `closed after ${elapsed} ms`);
  });

  test("a dropped connection after DELE deletes nothing and frees the maildrop", async () => {
    const first = await loginWhenFree(plain.port);
    assert.equal(await first.command("DELE 1"), "+OK message 1 deleted");
    const second = await connectClient(plain.port);
    await second.line();
    await second.command(`USER ${ADDRESS}`);
    assert.match((await second.command(`PASS ${PASSWORD}`)) ?? "", /^-ERR \[IN-USE\]/);
    first.socket.destroy();
    const third = await loginWhenFree(plain.port);
    assert.match((await third.command("STAT")) ?? "", /^\+OK 3 /);
    await third.command("QUIT");
    second.socket.destroy();
  });

  test("a large message streams through intact", async () => {
    const line = `${"x".repeat(70)}\r\n.${"y".repeat(70)}\r\n`;
    const big = `Subject: big\r\n\r\n${line.repeat(20_000)}`;
    await fixture.deliver(big);
    const client = await loginWhenFree(plain.port);
    assert.equal(await client.command("RETR 4"), `+OK ${Buffer.byteLength(big)} octets`);
    const lines = await client.multiline();
    const unstuffed = lines.map((l) => (l.startsWith(".") ? l.slice(1) : l));
    assert.equal(`${unstuffed.join("\r\n")}\r\n`, big);
    await client.command("QUIT");
  });

  test("the idle timer closes silently and deletes nothing", async () => {
    // Long enough that a password check on a loaded machine (scrypt, no socket activity meanwhile)
    // does not itself run into the timer.
    const quick = await startPlain({ idleTimeoutMs: 1500 });
    extra.push(quick);
    const client = await loginWhenFree(quick.port);
    assert.equal(await client.command("DELE 1"), "+OK message 1 deleted");
    assert.equal(await client.line(), null, "no reply, just a close (RFC 1939 §3)");
    const again = await loginWhenFree(quick.port);
    assert.match((await again.command("STAT")) ?? "", /^\+OK 3 /);
    again.socket.destroy();
  });

  test("drain: AUTHORIZATION sessions are told to come back, TRANSACTION ones finish with QUIT", async () => {
    const draining = await startPlain();
    extra.push(draining);
    const idle = await connectClient(draining.port);
    await idle.line();
    const busy = await loginWhenFree(draining.port);
    let drained = false;
    const done = draining.handler.drain().then(() => {
      drained = true;
    });
    assert.equal(await idle.line(), "-ERR [SYS/TEMP] server shutting down, try again later");
    assert.equal(await idle.closedByServer(), true);
    const late = await connectClient(draining.port);
    assert.equal(await late.line(), "-ERR [SYS/TEMP] server busy or shutting down, try again later");
    assert.match((await busy.command("STAT")) ?? "", /^\+OK 3 /);
    assert.equal(drained, false);
    assert.match((await busy.command("QUIT")) ?? "", /^\+OK /);
    await done;
    assert.equal(drained, true);
  });
});
