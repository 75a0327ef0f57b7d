// The ManageSieve adapter over real sockets on 127.0.0.1 with a real SQLite store: the greeting, a
// script uploaded as a literal split over writes, STARTTLS (what was pipelined behind it is dropped; the
// capabilities come again, unasked, over TLS), the idle timeout and shutdown answered with BYE.

import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { createSecureContext, type TLSSocket, connect as tlsConnect } from "node:tls";
import { pino } from "pino";
import { generate } from "selfsigned";
import { defaultConfig, defaultManageSieveConfig } from "../../src/config/defaults.js";
import { createManageSieveHandler } from "../../src/managesieve/handler.js";
import type { ServiceDeps } from "../../src/server/deps.js";
import { type LoopbackServer, listenOnLoopback } from "../support/listen.js";
import { ADDRESS, createMailFixture, type MailFixture, PASSWORD } from "../support/mail-fixture.js";

/** Everything the server sent, read until `until` matches it (or the connection ends). */
class Reader {
  text = "";
  closed = false;
  private wake: (() => void) | null = null;

  constructor(readonly socket: Socket | TLSSocket) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.text += chunk;
      this.wake?.();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on("error", () => {});
  }

  async until(pattern: RegExp): Promise<string> {
    while (!pattern.test(this.text) && !this.closed) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
    const all = this.text;
    this.text = "";
    return all;
  }
}

describe("ManageSieve adapter over sockets", () => {
  let fixture: MailFixture;
  let deps: ServiceDeps;
  let running: LoopbackServer & { handler: ReturnType<typeof createManageSieveHandler> };

  before(async () => {
    fixture = await createMailFixture({
      dirPrefix: "mailroom-msieve-",
      encoding: "utf8",
      internalDate: () => new Date(),
    });
    const pems = await generate([{ name: "commonName", value: "mail.example.test" }], { keySize: 2048 });
    deps = {
      config: defaultConfig({ hostname: "mail.example.test" }),
      store: fixture.store,
      logger: pino({ level: "silent" }),
      authenticator: fixture.authenticator,
      tls: createSecureContext({ key: pems.private, cert: pems.cert }),
    };
    const handler = createManageSieveHandler(deps, { ...defaultManageSieveConfig(), idleTimeout: 60_000 });
    running = { handler, ...(await listenOnLoopback(handler, "managesieve")) };
  });
  after(async () => {
    await running.close();
    await fixture.cleanup();
  });

  const open = async (port = running.port) => {
    const socket = connect(port, "127.0.0.1");
    await once(socket, "connect");
    const reader = new Reader(socket);
    assert.match(await reader.until(/\r\nOK "[^"]*"\r\n$/), /^"IMPLEMENTATION" "mailroom"\r\n/);
    return reader;
  };

  test("a literal script split over writes is stored; GETSCRIPT returns it", async () => {
    const reader = await open();
    const plain = Buffer.from(`\0${ADDRESS}\0${PASSWORD}`).toString("base64");
    reader.socket.write(`AUTHENTICATE "PLAIN" "${plain}"\r\n`);
    assert.match(await reader.until(/\r\n$/), /^OK /);
    const script = 'require "fileinto";\r\nfileinto "Lists";\r\n';
    reader.socket.write(`PUTSCRIPT "split" {${script.length}+}\r\n${script.slice(0, 10)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    reader.socket.write(`${script.slice(10)}\r\nGETSCRIPT "split"\r\nLOGOUT\r\n`);
    const out = await reader.until(/Logout completed"\r\n$/);
    assert.equal(
      out,
      `OK "Script stored"\r\n{${script.length}}\r\n${script}\r\nOK "Getscript completed"\r\nOK "Logout completed"\r\n`,
    );
    await reader.until(/(?!)/);
    assert.ok(reader.closed);
  });

  test("STARTTLS: input pipelined behind it is dropped, the capabilities come again over TLS", async () => {
    const reader = await open();
    reader.socket.write("STARTTLS\r\nLOGOUT\r\n");
    assert.match(await reader.until(/\r\n$/), /^OK "Begin TLS/);
    const plainSocket = reader.socket as Socket;
    plainSocket.removeAllListeners("data");
    const secure = tlsConnect({ socket: plainSocket, rejectUnauthorized: false });
    await once(secure, "secureConnect");
    const tls = new Reader(secure);
    const caps = await tls.until(/\r\nOK "[^"]*"\r\n$/);
    assert.match(caps, /"SASL" "[^"]*PLAIN/);
    assert.doesNotMatch(caps, /STARTTLS/);
    secure.write("NOOP\r\n");
    assert.match(await tls.until(/\r\n$/), /^OK "Done"\r\n$/);
    secure.end();
  });

  test("idle clients get BYE and are closed; on shutdown every client is told BYE", async () => {
    const handler = createManageSieveHandler(deps, { ...defaultManageSieveConfig(), idleTimeout: 200 });
    const quick = await listenOnLoopback(handler, "managesieve");
    try {
      const idle = await open(quick.port);
      assert.match(await idle.until(/BYE[^\r]*\r\n$/), /^BYE "Idle for too long; closing"\r\n$/);
      await idle.until(/(?!)/);
      assert.ok(idle.closed);
      const waiting = await open(running.port);
      const drained = running.handler.drain();
      assert.match(await waiting.until(/BYE[^\r]*\r\n$/), /^BYE "Server shutting down/);
      await drained;
    } finally {
      await quick.close();
    }
  });
});
