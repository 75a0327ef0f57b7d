import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { createSecureContext, type SecureContext, connect as tlsConnect } from "node:tls";
import { generate } from "selfsigned";
import type { ProtocolHandler } from "../../src/net/types.js";
import { createSmtpHandler } from "../../src/smtp/server/handler.js";
import { OVERLONG_LINE_SLACK } from "../../src/smtp/server/session.js";
import { FakeAgent, FakeAuthenticator, silentLogger, testConfig } from "./fakes.js";
import { ReplyReader } from "./wire.js";

/** What a paused socket may already have read past the point the session stopped: two 64 KiB reads. */
const SOCKET_READS = 128 * 1024;

let secureContext: SecureContext;

before(async () => {
  const pems = await generate([{ name: "commonName", value: "localhost" }], { keySize: 2048 });
  secureContext = createSecureContext({ key: pems.private, cert: pems.cert });
});

interface Running {
  server: Server;
  handler: ProtocolHandler;
  agent: FakeAgent;
  port: number;
  accepted: Socket[];
}

async function startServer(
  mode: "accept" | "reject" = "accept",
  listener: "smtp" | "submission" = "smtp",
): Promise<Running> {
  const agent = new FakeAgent();
  const handler = createSmtpHandler({
    listener,
    hostname: "mx.example.org",
    config: testConfig(),
    agent,
    authenticator: new FakeAuthenticator(),
    logger: silentLogger,
    tls: secureContext,
  });
  const accepted: Socket[] = [];
  const server = createServer((socket) => {
    accepted.push(socket);
    const info = {
      listener,
      remoteAddress: socket.remoteAddress ?? "",
      remotePort: socket.remotePort ?? 0,
      localAddress: socket.localAddress ?? "",
      localPort: socket.localPort ?? 0,
      secure: false,
    };
    if (mode === "reject") handler.reject(socket, info, "too-many-connections");
    else handler.accept(socket, info);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  assert.ok(address !== null && typeof address === "object");
  return { server, handler, agent, port: address.port, accepted };
}

async function stop(running: Running): Promise<void> {
  running.handler.destroyAll();
  for (const socket of running.accepted) socket.destroy();
  running.server.close();
  await once(running.server, "close");
}

describe("SMTP adapter over a real socket", () => {
  const servers: Running[] = [];
  after(async () => {
    for (const running of servers) await stop(running);
  });

  test("a dialogue with STARTTLS; plaintext injected after STARTTLS is discarded", async () => {
    const running = await startServer();
    servers.push(running);
    const plain = connect(running.port, "127.0.0.1");
    const reader = new ReplyReader(plain);
    assert.equal(await reader.next(), "220 mx.example.org ESMTP mailroom\r\n");
    plain.write("EHLO client.example\r\n");
    assert.match(await reader.next(), /250-STARTTLS\r\n/);
    plain.write("STARTTLS\r\nMAIL FROM:<injected@example.org>\r\n");
    assert.equal(await reader.next(), "220 2.0.0 Ready to start TLS\r\n");
    const secure = tlsConnect({ socket: plain, rejectUnauthorized: false, servername: "localhost" });
    await once(secure, "secureConnect");
    reader.attach(secure);
    // Had the injected MAIL been kept, this RCPT would be accepted; after the reset it is out of sequence.
    secure.write("RCPT TO:<alice@example.org>\r\n");
    assert.match(await reader.next(), /^503 5\.5\.1 /);
    secure.write("EHLO client.example\r\n");
    const ehlo = await reader.next();
    assert.doesNotMatch(ehlo, /STARTTLS/);
    assert.doesNotMatch(ehlo, /AUTH/, "the MX offers no AUTH by default, not even over TLS");
    secure.write("MAIL FROM:<bob@remote.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
    assert.match(await reader.next(), /^250 /);
    assert.match(await reader.next(), /^250 /);
    assert.match(await reader.next(), /^354 /);
    secure.write("Subject: over TLS\r\n\r\nhello\r\n.\r\n");
    assert.equal(await reader.next(), "250 2.0.0 Ok: queued as msg1\r\n");
    secure.write("QUIT\r\n");
    assert.match(await reader.next(), /^221 /);
    await once(secure, "close");
    const stored = running.agent.bodies.get("msg1")!.toString();
    assert.match(stored, /with ESMTPS\r\n\t\(TLSv1\.[23] cipher [A-Z0-9_-]+\)\r\n/);
    assert.ok(stored.endsWith("Subject: over TLS\r\n\r\nhello\r\n"));
    assert.equal(running.agent.commits.length, 1);
    assert.equal(running.agent.commits[0]!.sender, "bob@remote.example");
  });

  test("submission with default settings: a loopback client finds no AUTH before STARTTLS, and gets it after", async () => {
    const running = await startServer("accept", "submission");
    servers.push(running);
    const plain = connect(running.port, "127.0.0.1");
    const reader = new ReplyReader(plain);
    await reader.next();
    plain.write("EHLO hostile.example\r\n");
    const before = await reader.next();
    assert.match(before, /250-STARTTLS\r\n/);
    assert.doesNotMatch(before, /AUTH/);
    const credentials = Buffer.from("\0alice@example.org\0secret").toString("base64");
    for (const mechanism of ["PLAIN", "LOGIN", "X-FINAL", "SCRAM-SHA-256"]) {
      plain.write(`AUTH ${mechanism}${mechanism === "PLAIN" ? ` ${credentials}` : ""}\r\n`);
      assert.match(await reader.next(), /^538 5\.7\.11 .*STARTTLS/, mechanism);
    }
    plain.write("MAIL FROM:<alice@example.org>\r\n");
    assert.match(await reader.next(), /^530 5\.7\.0 .*STARTTLS/);
    plain.write("STARTTLS\r\n");
    assert.match(await reader.next(), /^220 /);
    const secure = tlsConnect({ socket: plain, rejectUnauthorized: false, servername: "localhost" });
    await once(secure, "secureConnect");
    reader.attach(secure);
    secure.write("EHLO hostile.example\r\n");
    assert.match(await reader.next(), /250-AUTH X-FINAL PLAIN LOGIN\r\n/);
    secure.write(`AUTH PLAIN ${credentials}\r\n`);
    assert.match(await reader.next(), /^235 /);
    secure.end("QUIT\r\n");
  });

  test("a large body streamed through the socket arrives intact", async () => {
    const running = await startServer();
    servers.push(running);
    const socket = connect(running.port, "127.0.0.1");
    const reader = new ReplyReader(socket);
    await reader.next();
    socket.write("EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
    await reader.next();
    await reader.next();
    await reader.next();
    assert.match(await reader.next(), /^354 /);
    const line = `${"x".repeat(70)}\r\n`;
    socket.write(line.repeat(120));
    socket.write(".\r\nQUIT\r\n");
    assert.match(await reader.next(), /^250 2\.0\.0 Ok: queued as msg1/);
    assert.match(await reader.next(), /^221 /);
    assert.equal(running.agent.body("msg1"), line.repeat(120));
  });

  test("drain says 421 4.3.2 to idle sessions and resolves once they are closed", async () => {
    const running = await startServer();
    servers.push(running);
    const socket = connect(running.port, "127.0.0.1");
    const reader = new ReplyReader(socket);
    await reader.next();
    const drained = running.handler.drain();
    assert.match(await reader.next(), /^421 4\.3\.2 mx\.example\.org Service shutting down/);
    socket.end();
    await drained;
  });

  test("1 MiB without a line feed: 500 5.5.6 and the close come after the limit and a bounded slack", {
    timeout: 10_000,
  }, async () => {
    const running = await startServer();
    servers.push(running);
    const socket = connect(running.port, "127.0.0.1");
    socket.on("error", () => {});
    const reader = new ReplyReader(socket);
    await reader.next();
    const ended = once(socket, "end");
    const started = Date.now();
    socket.write("A".repeat(1024 * 1024));
    assert.match(await reader.next(), /^500 5\.5\.6 Line too long; .*closing connection\r\n$/);
    await ended;
    const elapsed = Date.now() - started;
    const read = running.accepted[0]!.bytesRead;
    // The session stops at limit + slack; the socket may have taken up to a few reads more by then.
    assert.ok(
      read <= testConfig().maxCommandLine + OVERLONG_LINE_SLACK + SOCKET_READS,
      `read ${read} octets`,
    );
    assert.ok(elapsed < testConfig().commandTimeout / 10, `closed after ${elapsed} ms`);
    socket.destroy();
  });

  test("reject() answers 421 4.7.0 and closes", async () => {
    const running = await startServer("reject");
    servers.push(running);
    const socket = connect(running.port, "127.0.0.1");
    const reader = new ReplyReader(socket);
    assert.equal(await reader.next(), "421 4.7.0 mx.example.org Too many connections, try again later\r\n");
    await once(socket, "end");
  });
});
