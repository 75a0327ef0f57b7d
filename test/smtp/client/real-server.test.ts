// The client against mailroom's own SMTP server: PIPELINING, CHUNKING, STARTTLS, AUTH (PLAIN, LOGIN,
// and SCRAM-SHA-256 with the real authenticator).

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createAuthenticator } from "../../../src/auth/authenticator.js";
import { hashPassword } from "../../../src/auth/password.js";
import { connectSmtp, SmtpClientError, type SmtpClientOptions } from "../../../src/smtp/client/client.js";
import type { User } from "../../../src/store/types.js";
import { type RealServer, startRealServer } from "./real-server.js";

const base = (port: number, extra: Partial<SmtpClientOptions> = {}): SmtpClientOptions => ({
  host: "127.0.0.1",
  port,
  tls: "none",
  heloName: "client.test",
  timeouts: { connect: 5_000, command: 5_000, dataEnd: 5_000 },
  ...extra,
});

describe("client against the mailroom SMTP server", () => {
  let server: RealServer;
  before(async () => {
    server = await startRealServer();
  });
  after(() => server.close());

  test("STARTTLS (verified), then a message with a dot line and a refused recipient", async () => {
    const connection = await connectSmtp(
      base(server.port, { tls: "starttls", tlsOptions: { ca: server.cert } }),
    );
    assert.equal(connection.secure, true);
    assert.ok(connection.extensions.has("PIPELINING"));
    const body = Buffer.from("Subject: hi\r\n\r\n.dot first\r\n.\r\nlast\r\n");
    const result = await connection.send(
      { from: "alice@example.org", to: [{ address: "bob@example.org" }, { address: "nobody@example.org" }] },
      body,
    );
    await connection.quit();
    assert.deepEqual(
      result.recipients.map((outcome) => [
        outcome.address,
        outcome.accepted,
        outcome.reply.code,
        outcome.reply.enhanced,
      ]),
      [
        ["bob@example.org", true, 250, "2.1.5"],
        ["nobody@example.org", false, 550, "5.1.1"],
      ],
    );
    assert.match(result.data?.text ?? "", /queued as msg1/);
    assert.equal(server.agent.body("msg1"), body.toString("latin1"));
  });

  test("a second transaction on the same connection after RSET; SIZE refusal is local", async () => {
    const connection = await connectSmtp(base(server.port, { tls: "opportunistic" }));
    const first = await connection.send(
      { from: "", to: [{ address: "carol@example.org" }] },
      Buffer.from("a\r\n"),
    );
    await connection.reset();
    const second = await connection.send(
      { from: "", to: [{ address: "carol@example.org" }] },
      Buffer.from("b\r\n"),
    );
    assert.notEqual(first.data?.text, second.data?.text);
    await assert.rejects(
      connection.send({ from: "", to: [{ address: "carol@example.org" }] }, Buffer.alloc(100_001, 0x61)),
      (error: unknown) =>
        error instanceof SmtpClientError && !error.temporary && /SIZE 100000/.test(error.message),
    );
    await connection.quit();
  });
});

describe("client AUTH against the mailroom submission server", () => {
  let fake: RealServer;
  let real: RealServer;
  before(async () => {
    // Cleartext AUTH from loopback needs a listener configured auth = "any" since the default is "tls".
    fake = await startRealServer({ listener: "submission", authPolicy: "any" });
    const user: User = {
      id: 7,
      address: "alice@example.org",
      domainId: 1,
      admin: false,
      disabled: false,
      name: null,
      createdAt: new Date(),
      ...(await hashPassword("pencil")),
    };
    real = await startRealServer({
      listener: "submission",
      authenticator: createAuthenticator({
        lookupUser: async (address) => (address === user.address ? user : null),
        config: {
          failureDelay: 0,
          maxFailuresPerIp: 100,
          failureWindow: 60_000,
        },
        sleep: async () => undefined,
      }),
    });
  });
  after(async () => {
    await fake.close();
    await real.close();
  });

  for (const mechanism of ["PLAIN", "LOGIN"] as const) {
    test(`AUTH ${mechanism} then relay to a remote recipient`, async () => {
      const connection = await connectSmtp(
        base(fake.port, { auth: { user: "alice@example.org", password: "secret", mechanism } }),
      );
      const result = await connection.send(
        { from: "alice@example.org", to: [{ address: "dave@remote.example" }] },
        Buffer.from("x\r\n"),
      );
      await connection.quit();
      assert.equal(result.recipients[0]?.accepted, true);
      assert.equal(fake.agent.checked.at(-1)?.user, "alice@example.org");
    });
  }

  test("AUTH SCRAM-SHA-256 is chosen when offered, and verifies the server", async () => {
    const transcript: string[] = [];
    const connection = await connectSmtp(
      base(real.port, {
        tls: "starttls",
        tlsOptions: { ca: real.cert },
        auth: { user: "alice@example.org", password: "pencil" },
        onTranscript: (direction, line) => transcript.push(`${direction} ${line}`),
      }),
    );
    await connection.quit();
    assert.ok(transcript.includes("C AUTH SCRAM-SHA-256 ***"));
    assert.ok(transcript.some((line) => /^S 235 /.test(line)));
  });

  test("a wrong SCRAM password: permanent auth-stage error with the server's 535", async () => {
    const error = await connectSmtp(
      base(real.port, {
        tls: "starttls",
        tlsOptions: { ca: real.cert },
        auth: { user: "alice@example.org", password: "nope" },
      }),
    ).then(
      () => assert.fail("expected a failure"),
      (failure: unknown) => failure,
    );
    assert.ok(error instanceof SmtpClientError);
    assert.equal(error.stage, "auth");
    assert.equal(error.temporary, false);
    assert.equal(error.reply?.code, 535);
  });
});
