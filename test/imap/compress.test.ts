// COMPRESS=DEFLATE (RFC 4978) on the real IMAP adapter over loopback: a raw client that deflates what
// it sends and inflates what it reads, a large body through the compressed stream, IDLE's pushed
// responses flushed at once, the refusals, and imapflow (which asks for COMPRESS by itself) on top.

import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { createSecureContext } from "node:tls";
import { constants, createDeflateRaw, createInflateRaw } from "node:zlib";
import { ImapFlow } from "imapflow";
import { pino } from "pino";
import { generate } from "selfsigned";
import { defaultConfig } from "../../src/config/defaults.js";
import { createImapHandler } from "../../src/imap/handler.js";
import { type LoopbackServer, listenOnLoopback } from "../support/listen.js";
import { ADDRESS, createFixture, type ImapFixture, message, PASSWORD } from "./fixtures.js";

/** A client that speaks plain IMAP until `compress()`, then DEFLATE in both directions. */
class DeflatingClient {
  text = "";
  wire = 0;
  private send: (data: string) => void;
  private waiters: Array<() => void> = [];

  constructor(readonly socket: Socket) {
    const received = (chunk: Buffer) => {
      this.text += chunk.toString("latin1");
      for (const wake of this.waiters.splice(0)) wake();
    };
    this.send = (data) => socket.write(data);
    socket.on("data", (chunk: Buffer) => {
      this.wire += chunk.length;
      if (this.inflate) this.inflate.write(chunk);
      else received(chunk);
    });
    this.received = received;
  }

  private inflate: ReturnType<typeof createInflateRaw> | null = null;
  private readonly received: (chunk: Buffer) => void;

  compress(): void {
    const inflate = createInflateRaw();
    inflate.on("data", this.received);
    this.inflate = inflate;
    const deflate = createDeflateRaw();
    deflate.on("data", (chunk: Buffer) => this.socket.write(chunk));
    this.send = (data) => {
      deflate.write(data);
      deflate.flush(constants.Z_SYNC_FLUSH);
    };
  }

  command(line: string): void {
    this.send(`${line}\r\n`);
  }

  async until(pattern: RegExp): Promise<string> {
    const deadline = Date.now() + 10_000;
    while (!pattern.test(this.text)) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${pattern}; got ${JSON.stringify(this.text.slice(-300))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    return this.text;
  }
}

describe("IMAP COMPRESS=DEFLATE (RFC 4978)", () => {
  let fixture: ImapFixture;
  let server: LoopbackServer;
  const body = `${"All work and no play makes a dull mail server. ".repeat(20_000)}\r\n`;

  before(async () => {
    fixture = await createFixture();
    await fixture.deliver(message("big", body));
    const pems = await generate([{ name: "commonName", value: "mail.example.test" }], { keySize: 2048 });
    const handler = createImapHandler("imap", {
      config: defaultConfig({ hostname: "mail.example.test" }),
      store: fixture.store,
      logger: pino({ level: "silent" }),
      authenticator: fixture.authenticator,
      tls: createSecureContext({ key: pems.private, cert: pems.cert }),
    });
    server = await listenOnLoopback(handler, "imap");
  });

  after(async () => {
    await server.close();
    await fixture.cleanup();
  });

  async function client(): Promise<DeflatingClient> {
    const socket = connect(server.port, "127.0.0.1");
    const c = new DeflatingClient(socket);
    await c.until(/^\* OK /);
    return c;
  }

  test("after OK DEFLATE active both directions are deflated; a 1 MB body arrives whole, compressed", async () => {
    const c = await client();
    c.command("P1 COMPRESS DEFLATE");
    await c.until(/P1 BAD /);
    c.command(`L1 LOGIN ${ADDRESS} "${PASSWORD}"`);
    await c.until(/L1 OK .*\r\n/);
    assert.match(c.text, /COMPRESS=DEFLATE/);
    c.command("Z1 COMPRESS GZIP");
    await c.until(/Z1 BAD unknown compression mechanism GZIP/);
    c.command("Z2 COMPRESS DEFLATE");
    await c.until(/Z2 OK DEFLATE active\r\n/);
    c.compress();
    const wireBefore = c.wire;
    c.command("S1 SELECT INBOX");
    await c.until(/S1 OK \[READ-WRITE\]/);
    c.command("F1 FETCH 1 BODY.PEEK[TEXT]");
    const text = await c.until(/F1 OK /);
    const literal = /\* 1 FETCH \(BODY\[TEXT\] \{(\d+)\}\r\n/.exec(text);
    assert.ok(literal);
    assert.equal(Number(literal[1]), Buffer.byteLength(body));
    assert.ok(text.includes(body), "the body came through the inflater unchanged");
    // The repetitive body compresses far below its size on the wire.
    assert.ok(
      c.wire - wireBefore < Buffer.byteLength(body) / 20,
      `${c.wire - wireBefore} octets on the wire`,
    );
    c.command("Z3 COMPRESS DEFLATE");
    await c.until(/Z3 NO \[COMPRESSIONACTIVE\]/);
    c.command("I1 IDLE");
    await c.until(/\+ idling/i);
    await fixture.deliver(message("pushed while idle"));
    await c.until(/\* 2 EXISTS\r\n/);
    c.command("DONE");
    await c.until(/I1 OK /);
    c.command("O1 LOGOUT");
    await c.until(/\* BYE .*\r\nO1 OK /);
    c.socket.destroy();
  });

  test("imapflow negotiates COMPRESS by itself and works through it", async () => {
    const flow = new ImapFlow({
      host: "127.0.0.1",
      port: server.port,
      secure: false,
      doSTARTTLS: false,
      auth: { user: ADDRESS, pass: PASSWORD },
      logger: false,
    });
    const sent: string[] = [];
    // imapflow's command runner is internal; wrapping it records what the library chose to send.
    const internal = flow as unknown as { run: (command: string, ...args: unknown[]) => Promise<unknown> };
    const original = internal.run.bind(flow);
    internal.run = (command, ...args) => {
      sent.push(command);
      return original(command, ...args);
    };
    await flow.connect();
    try {
      assert.ok(sent.includes("COMPRESS"), `imapflow sent ${sent.join(", ")}`);
      const lock = await flow.getMailboxLock("INBOX");
      try {
        const fetched = await flow.fetchOne("1", { source: true });
        assert.ok(fetched && fetched.source?.includes(body.slice(0, 1000)));
      } finally {
        lock.release();
      }
    } finally {
      await flow.logout();
    }
  });
});
