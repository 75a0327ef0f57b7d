// Real SMTP clients against the adapter (with the fake agent): python3 smtplib and swaks.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { createSecureContext, type SecureContext } from "node:tls";
import { promisify } from "node:util";
import { generate } from "selfsigned";
import type { ProtocolHandler } from "../../src/net/types.js";
import { createSmtpHandler } from "../../src/smtp/server/handler.js";
import { clients, needs } from "../support/clients.js";
import { type LoopbackServer, listenOnLoopback } from "../support/listen.js";
import { FakeAgent, FakeAuthenticator, silentLogger, testConfig } from "./fakes.js";

const run = promisify(execFile);

const SMTPLIB_SCRIPT = `
import smtplib, ssl, sys
port = int(sys.argv[1])
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
with smtplib.SMTP("127.0.0.1", port, local_hostname="python.example") as client:
    client.ehlo()
    client.starttls(context=context)
    client.ehlo()
    client.login("alice@example.org", "secret")
    refused = client.sendmail(
        "alice@example.org",
        ["bob@remote.example", "nobody@example.org", "carol@example.org"],
        "Subject: from smtplib\\r\\n\\r\\n.starts with a dot\\r\\nbye\\r\\n",
    )
    print(sorted(refused))
`;

describe("real clients", () => {
  let context: SecureContext;
  let running: LoopbackServer;
  let handler: ProtocolHandler;
  let agent: FakeAgent;
  let port: number;

  before(async () => {
    const pems = await generate([{ name: "commonName", value: "localhost" }], { keySize: 2048 });
    context = createSecureContext({ key: pems.private, cert: pems.cert });
    agent = new FakeAgent();
    handler = createSmtpHandler({
      listener: "submission",
      hostname: "mx.example.org",
      config: testConfig(),
      agent,
      authenticator: new FakeAuthenticator(),
      logger: silentLogger,
      tls: context,
    });
    running = await listenOnLoopback(handler, "submission");
    port = running.port;
  });

  after(async () => {
    await running.close();
  });

  test("python3 smtplib: STARTTLS, AUTH, pipelined recipients, dot-stuffing", {
    skip: needs(clients.python3),
  }, async () => {
    const before = agent.commits.length;
    const { stdout } = await run("python3", ["-c", SMTPLIB_SCRIPT, String(port)], { timeout: 15_000 });
    assert.equal(stdout.trim(), "['nobody@example.org']");
    const commit = agent.commits[before]!;
    assert.deepEqual(
      commit.recipients.map((recipient) => recipient.address),
      ["bob@remote.example", "carol@example.org"],
    );
    const stored = agent.bodies.get(commit.blob.id)!.toString();
    assert.match(stored, /^Return-Path: <alice@example\.org>\r\nReceived: from python\.example /);
    assert.match(stored, /with ESMTPSA/);
    // The submission listener adds the Date and Message-ID smtplib left out (RFC 6409 §8).
    assert.match(
      stored,
      /\r\nSubject: from smtplib\r\nDate: [^\r]+\r\nMessage-ID: <[^@>]+@mx\.example\.org>\r\n\r\n\.starts with a dot\r\nbye\r\n$/,
    );
  });

  test("swaks: STARTTLS, AUTH LOGIN, PIPELINING", { skip: needs(clients.swaks) }, async () => {
    const before = agent.commits.length;
    const { stdout } = await run(
      "swaks",
      [
        "--server",
        "127.0.0.1",
        "--port",
        String(port),
        "--helo",
        "swaks.example",
        "--from",
        "alice@example.org",
        "--to",
        "carol@example.org",
        "--tls",
        "--auth",
        "LOGIN",
        "--auth-user",
        "alice@example.org",
        "--auth-password",
        "secret",
        "--pipeline",
        "--body",
        "hello from swaks",
      ],
      { timeout: 15_000 },
    );
    assert.match(stdout, /<~ +250 2\.0\.0 Ok: queued as /);
    assert.equal(agent.commits.length, before + 1);
    const stored = agent.bodies.get(agent.commits[before]!.blob.id)!.toString();
    assert.match(stored, /hello from swaks/);
  });
});
