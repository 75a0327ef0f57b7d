// The SMTP client against a scripted server: the exact bytes it sends and how it handles each reply.

import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { before, describe, test } from "node:test";
import { createSecureContext, type SecureContext } from "node:tls";
import { generate } from "selfsigned";
import {
  type ClientEnvelope,
  connectSmtp,
  SmtpClientError,
  type SmtpClientOptions,
} from "../../../src/smtp/client/client.js";
import { greet, type Peer, startScriptedServer } from "./scripted-server.js";

const ENVELOPE: ClientEnvelope = { from: "alice@example.org", to: [{ address: "bob@example.net" }] };

function options(port: number, extra: Partial<SmtpClientOptions> = {}): SmtpClientOptions {
  return {
    host: "127.0.0.1",
    port,
    tls: "none",
    heloName: "client.test",
    timeouts: { connect: 5_000, command: 5_000, dataEnd: 5_000 },
    ...extra,
  };
}

/** Runs `script` as the server and `client` against it; returns once both are done. */
async function withServer<T>(
  script: (peer: Peer) => Promise<void>,
  client: (port: number) => Promise<T>,
): Promise<T> {
  const server = await startScriptedServer(script);
  // A failing script assertion is the real cause when the client then waits for a reply: report it first.
  const scriptFailure = server.done(0).then(() => new Promise<never>(() => undefined));
  try {
    const result = await Promise.race([client(server.port), scriptFailure]);
    await server.done(0);
    return result;
  } finally {
    await server.close();
  }
}

async function rejection(promise: Promise<unknown>): Promise<SmtpClientError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof SmtpClientError, `expected SmtpClientError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected a rejection");
}

describe("SMTP client: transaction", () => {
  test("without PIPELINING: one command at a time; DATA body dot-stuffed exactly", async () => {
    let wire: Buffer = Buffer.alloc(0);
    const result = await withServer(
      async (peer) => {
        assert.equal(await greet(peer, ["8BITMIME"]), "EHLO client.test");
        assert.equal(await peer.line(), "MAIL FROM:<alice@example.org>");
        peer.send("250 2.1.0 ok");
        assert.equal(await peer.line(), "RCPT TO:<bob@example.net>");
        peer.send("250 2.1.5 ok");
        assert.equal(await peer.line(), "DATA");
        peer.send("354 go ahead");
        wire = await peer.dataBody();
        peer.send("250 2.0.0 queued as ABC123");
        assert.equal(await peer.line(), "QUIT");
        peer.send("221 bye");
      },
      async (port) => {
        const connection = await connectSmtp(options(port));
        const sent = await connection.send(
          ENVELOPE,
          Buffer.from("Subject: x\r\n\r\n.one\r\n..two\r\n.\r\nbare\nend"),
        );
        await connection.quit();
        return sent;
      },
    );
    assert.equal(wire.toString(), "Subject: x\r\n\r\n..one\r\n...two\r\n..\r\nbare\r\nend\r\n.\r\n");
    assert.deepEqual(result.data, { code: 250, enhanced: "2.0.0", text: "queued as ABC123" });
    assert.deepEqual(result.recipients, [
      { address: "bob@example.net", accepted: true, reply: { code: 250, enhanced: "2.1.5", text: "ok" } },
    ]);
  });

  test("without PIPELINING a refused MAIL stops the transaction before any RCPT", async () => {
    const error = await withServer(
      async (peer) => {
        await greet(peer, []);
        assert.equal(await peer.line(), "MAIL FROM:<alice@example.org>");
        peer.send("550 5.7.1 sender blocked");
        assert.equal(await peer.line(), "QUIT");
        peer.send("221 bye");
      },
      async (port) => {
        const connection = await connectSmtp(options(port));
        const failure = await rejection(connection.send(ENVELOPE, Buffer.from("x\r\n")));
        await connection.quit();
        return failure;
      },
    );
    assert.equal(error.stage, "mail");
    assert.equal(error.temporary, false);
    assert.equal(error.reply?.code, 550);
    assert.match(error.message, /sender blocked/);
  });

  test("with PIPELINING: MAIL, RCPTs and DATA go before any reply; 4xx and 5xx per recipient", async () => {
    let wire = "";
    const result = await withServer(
      async (peer) => {
        await greet(peer, ["PIPELINING", "SIZE 1000000"]);
        // Nothing is answered until all four commands have arrived: a client that waited would stall.
        const commands = [
          await peer.line(),
          await peer.line(),
          await peer.line(),
          await peer.line(),
          await peer.line(),
        ];
        assert.deepEqual(commands, [
          "MAIL FROM:<alice@example.org> SIZE=4",
          "RCPT TO:<a@example.net>",
          "RCPT TO:<b@example.net>",
          "RCPT TO:<c@example.net>",
          "DATA",
        ]);
        peer.send(
          "250 ok",
          "451 4.3.0 try later",
          "250 ok",
          "550-5.1.1 no such",
          "550 5.1.1 user here",
          "354 go",
        );
        wire = (await peer.dataBody()).toString();
        peer.send("250 2.0.0 queued as Q1");
      },
      async (port) => {
        const connection = await connectSmtp(options(port));
        const sent = await connection.send(
          {
            from: "alice@example.org",
            to: ["a", "b", "c"].map((name) => ({ address: `${name}@example.net` })),
          },
          Buffer.from("hi\r\n"),
        );
        connection.destroy();
        return sent;
      },
    );
    assert.equal(wire, "hi\r\n.\r\n");
    assert.deepEqual(
      result.recipients.map((outcome) => [outcome.address, outcome.accepted, outcome.reply.code]),
      [
        ["a@example.net", false, 451],
        ["b@example.net", true, 250],
        ["c@example.net", false, 550],
      ],
    );
    assert.deepEqual(result.recipients[2]?.reply, {
      code: 550,
      enhanced: "5.1.1",
      text: "no such\nuser here",
    });
    assert.equal(result.data?.text, "queued as Q1");
  });

  test("PIPELINING, every recipient refused, DATA answered 354 anyway: an empty end, no message, RSET", async () => {
    const result = await withServer(
      async (peer) => {
        await greet(peer, ["PIPELINING"]);
        for (let index = 0; index < 3; index += 1) await peer.line();
        peer.send("250 ok", "550 no", "354 go");
        assert.equal(await peer.line(), ".");
        peer.send("554 no valid recipients");
        assert.equal(await peer.line(), "RSET");
        peer.send("250 reset");
      },
      async (port) => {
        const connection = await connectSmtp(options(port));
        const sent = await connection.send(ENVELOPE, Buffer.from("body\r\n"));
        connection.destroy();
        return sent;
      },
    );
    assert.equal(result.data, null);
    assert.equal(result.recipients[0]?.accepted, false);
  });

  test("5xx after the final dot is a permanent data-stage error; 4xx is temporary", async () => {
    for (const [reply, temporary] of [
      ["554 5.6.0 content rejected", false],
      ["452 4.3.1 out of space", true],
    ] as const) {
      const error = await withServer(
        async (peer) => {
          await greet(peer, ["PIPELINING"]);
          for (let index = 0; index < 3; index += 1) await peer.line();
          peer.send("250 ok", "250 ok", "354 go");
          await peer.dataBody();
          peer.send(reply);
        },
        async (port) => {
          const connection = await connectSmtp(options(port));
          const failure = await rejection(connection.send(ENVELOPE, Buffer.from("body\r\n")));
          connection.destroy();
          return failure;
        },
      );
      assert.equal(error.stage, "data");
      assert.equal(error.temporary, temporary);
      assert.equal(error.reply?.code, Number(reply.slice(0, 3)));
    }
  });

  test("the connection dropped in the middle of DATA is a temporary data-stage error", async () => {
    const error = await withServer(
      async (peer) => {
        await greet(peer, []);
        await peer.line();
        peer.send("250 ok");
        await peer.line();
        peer.send("250 ok");
        await peer.line();
        peer.send("354 go");
        await peer.bytes(10);
        peer.drop();
      },
      async (port) => {
        const connection = await connectSmtp(options(port));
        // A stream that never ends on its own: only the dropped connection can stop the client.
        const body = () =>
          new Readable({
            read() {
              setImmediate(() => this.push(Buffer.alloc(16 * 1024, 0x61)));
            },
          });
        return rejection(connection.send(ENVELOPE, body));
      },
    );
    assert.equal(error.stage, "data");
    assert.equal(error.temporary, true);
    assert.equal(error.reply, null);
  });

  test("EHLO refused with 5xx: falls back to HELO, and then uses no extensions", async () => {
    await withServer(
      async (peer) => {
        peer.send("220-scripted.test", "220 old server");
        assert.equal(await peer.line(), "EHLO client.test");
        peer.send("502 5.5.1 what?");
        assert.equal(await peer.line(), "HELO client.test");
        peer.send("250 hello");
        assert.equal(await peer.line(), "MAIL FROM:<>");
        peer.send("250 ok");
        assert.equal(await peer.line(), "RCPT TO:<bob@example.net>");
        peer.send("250 ok");
        assert.equal(await peer.line(), "DATA");
        peer.send("354 go");
        await peer.dataBody();
        peer.send("250 ok");
      },
      async (port) => {
        const connection = await connectSmtp(options(port));
        assert.equal(connection.extensions.size, 0);
        assert.equal(connection.greeting.text, "scripted.test\nold server");
        await connection.send(
          { from: "", to: [{ address: "bob@example.net" }], eightBit: true },
          Buffer.from("x"),
        );
        connection.destroy();
      },
    );
  });

  test("4xx to EHLO is a temporary ehlo-stage error; a 554 greeting is permanent", async () => {
    const ehlo = await withServer(
      async (peer) => {
        peer.send("220 hi");
        await peer.line();
        peer.send("421 4.3.2 shutting down");
      },
      (port) => rejection(connectSmtp(options(port))),
    );
    assert.equal(ehlo.stage, "ehlo");
    assert.equal(ehlo.temporary, true);
    const greeting = await withServer(
      async (peer) => {
        peer.send("554 5.7.1 go away");
        assert.equal(await peer.line(), "QUIT");
      },
      (port) => rejection(connectSmtp(options(port))),
    );
    assert.equal(greeting.stage, "greeting");
    assert.equal(greeting.temporary, false);
    assert.equal(greeting.reply?.enhanced, "5.7.1");
  });

  test("CHUNKING: the body goes as BDAT chunks, unstuffed and exact, the last one LAST", async () => {
    const body = Buffer.concat([
      Buffer.from(".leading dot\nbare LF\r\n\0binary"),
      Buffer.alloc(2 * 1024 * 1024 + 5, 0x7a),
    ]);
    let received: Buffer = Buffer.alloc(0);
    const commands: string[] = [];
    const result = await withServer(
      async (peer) => {
        await greet(peer, ["CHUNKING", "PIPELINING", "8BITMIME"]);
        commands.push(await peer.line(), await peer.line());
        peer.send("250 ok", "250 ok");
        for (;;) {
          const command = await peer.line();
          commands.push(command);
          const match = /^BDAT (\d+)( LAST)?$/.exec(command);
          assert.ok(match, command);
          received = Buffer.concat([received, await peer.bytes(Number(match[1]))]);
          peer.send(match[2] ? "250 2.0.0 queued as B1" : "250 2.0.0 chunk ok");
          if (match[2]) break;
        }
      },
      async (port) => {
        const connection = await connectSmtp(options(port));
        const chunks = [body.subarray(0, 100_000), body.subarray(100_000)];
        const sent = await connection.send({ ...ENVELOPE, eightBit: true }, () => Readable.from(chunks));
        connection.destroy();
        return sent;
      },
    );
    assert.deepEqual(commands, [
      "MAIL FROM:<alice@example.org> BODY=8BITMIME",
      "RCPT TO:<bob@example.net>",
      "BDAT 1048576",
      "BDAT 1048576",
      `BDAT ${body.length - 2 * 1048576} LAST`,
    ]);
    assert.ok(received.equals(body));
    assert.equal(result.data?.text, "queued as B1");
  });

  test("SIZE: a body over the server's limit is refused before MAIL is sent", async () => {
    const error = await withServer(
      async (peer) => {
        await greet(peer, ["SIZE 100"]);
        assert.equal(await peer.line(), "QUIT");
        peer.send("221 bye");
      },
      async (port) => {
        const connection = await connectSmtp(options(port));
        const failure = await rejection(connection.send(ENVELOPE, Buffer.alloc(101, 0x61)));
        await connection.quit();
        return failure;
      },
    );
    assert.equal(error.stage, "mail");
    assert.equal(error.temporary, false);
    assert.match(error.message, /101 bytes.*SIZE 100/);
  });

  test("DSN parameters only when DSN is offered; SMTPUTF8 for UTF-8 addresses", async () => {
    const envelope: ClientEnvelope = {
      from: "älice@example.org",
      to: [
        { address: "bob@example.net", notify: ["SUCCESS", "FAILURE"], orcpt: "rfc822;Bob+x=y@example.net" },
      ],
      ret: "HDRS",
      envid: "id 1",
    };
    const seen: string[][] = [];
    for (const extensions of [["DSN", "SMTPUTF8"], ["SMTPUTF8"]]) {
      await withServer(
        async (peer) => {
          await greet(peer, extensions);
          const mail = await peer.line();
          peer.send("250 ok");
          const rcpt = await peer.line();
          peer.send("550 no");
          assert.equal(await peer.line(), "RSET");
          peer.send("250 ok");
          seen.push([mail, rcpt]);
        },
        async (port) => {
          const connection = await connectSmtp(options(port));
          await connection.send(envelope, Buffer.from("x"));
          connection.destroy();
        },
      );
    }
    assert.deepEqual(seen, [
      [
        "MAIL FROM:<älice@example.org> SMTPUTF8 RET=HDRS ENVID=id+201",
        "RCPT TO:<bob@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob+2Bx+3Dy@example.net",
      ],
      ["MAIL FROM:<älice@example.org> SMTPUTF8", "RCPT TO:<bob@example.net>"],
    ]);
  });

  test("UTF-8 addresses to a server without SMTPUTF8 are refused locally", async () => {
    const error = await withServer(
      async (peer) => {
        await greet(peer, ["8BITMIME"]);
        assert.equal(await peer.line(), "QUIT");
        peer.send("221 bye");
      },
      async (port) => {
        const connection = await connectSmtp(options(port));
        const failure = await rejection(
          connection.send(
            { from: "a@example.org", to: [{ address: "jürgen@example.net" }] },
            Buffer.from("x"),
          ),
        );
        await connection.quit();
        return failure;
      },
    );
    assert.equal(error.temporary, false);
    assert.match(error.message, /SMTPUTF8/);
  });

  test("an address with a line break is refused before anything is sent", async () => {
    const error = await withServer(
      async (peer) => {
        await greet(peer, ["PIPELINING"]);
        assert.equal(await peer.line(), "QUIT");
        peer.send("221 bye");
      },
      async (port) => {
        const connection = await connectSmtp(options(port));
        const failure = await rejection(
          connection.send(
            { from: "a@example.org", to: [{ address: "b@x\r\nRCPT TO:<evil@x>" }] },
            Buffer.from("x"),
          ),
        );
        await connection.quit();
        return failure;
      },
    );
    assert.equal(error.temporary, false);
  });

  test("a silent server: the command timeout gives a temporary error", async () => {
    const error = await withServer(
      async (peer) => {
        await peer.closed();
      },
      (port) => rejection(connectSmtp(options(port, { timeouts: { command: 200 } }))),
    );
    assert.equal(error.stage, "greeting");
    assert.equal(error.temporary, true);
  });

  test("a malformed reply closes the connection with a temporary error", async () => {
    const error = await withServer(
      async (peer) => {
        peer.send("hello there");
        await peer.closed();
      },
      (port) => rejection(connectSmtp(options(port))),
    );
    assert.equal(error.temporary, true);
    assert.match(error.message, /malformed reply/);
  });

  test("nothing listening: a temporary connect-stage error naming the server", async () => {
    const server = await startScriptedServer(async () => undefined);
    const port = server.port;
    await server.close();
    const error = await rejection(connectSmtp(options(port)));
    assert.equal(error.stage, "connect");
    assert.equal(error.temporary, true);
    assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
  });

  test("the connection is reusable: RSET, then a second transaction", async () => {
    const froms: string[] = [];
    await withServer(
      async (peer) => {
        await greet(peer, ["PIPELINING"]);
        for (let round = 0; round < 2; round += 1) {
          froms.push(await peer.line());
          await peer.line();
          await peer.line();
          peer.send("250 ok", "250 ok", "354 go");
          await peer.dataBody();
          peer.send(`250 queued as R${round}`);
          assert.equal(await peer.line(), "RSET");
          peer.send("250 ok");
        }
      },
      async (port) => {
        const connection = await connectSmtp(options(port));
        for (const from of ["a@example.org", "b@example.org"]) {
          await connection.send({ from, to: [{ address: "x@example.net" }] }, Buffer.from("x\r\n"));
          await connection.reset();
        }
        connection.destroy();
      },
    );
    assert.deepEqual(froms, ["MAIL FROM:<a@example.org>", "MAIL FROM:<b@example.org>"]);
  });
});

describe("SMTP client: STARTTLS and AUTH against a scripted server", () => {
  let context: SecureContext;
  let cert: string;
  before(async () => {
    const pems = await generate([{ name: "commonName", value: "localhost" }], { keySize: 2048 });
    cert = pems.cert;
    context = createSecureContext({ key: pems.private, cert: pems.cert });
  });

  const tlsThenAuth =
    (auth: (peer: Peer) => Promise<void>, succeeds = true) =>
    async (peer: Peer) => {
      await greet(peer, ["STARTTLS"]);
      assert.equal(await peer.line(), "STARTTLS");
      // An injected reply after the 220 must be ignored by the client (RFC 3207 §4.2).
      peer.send("220 ready", "250 injected");
      await peer.startTls(context);
      assert.equal(await peer.line(), "EHLO client.test");
      peer.send("250-scripted.test", "250 AUTH PLAIN LOGIN");
      await auth(peer);
      if (!succeeds) return;
      assert.equal(await peer.line(), "QUIT");
      peer.send("221 bye");
    };

  test("STARTTLS verified against the given CA, then AUTH PLAIN with the secret masked in the transcript", async () => {
    const transcript: string[] = [];
    await withServer(
      tlsThenAuth(async (peer) => {
        const line = await peer.line();
        assert.equal(line, `AUTH PLAIN ${Buffer.from("\0alice@example.org\0s3cret").toString("base64")}`);
        peer.send("235 2.7.0 ok");
      }),
      async (port) => {
        const connection = await connectSmtp(
          options(port, {
            tls: "starttls",
            tlsOptions: { ca: cert },
            auth: { user: "alice@example.org", password: "s3cret" },
            onTranscript: (direction, line) => transcript.push(`${direction}: ${line}`),
          }),
        );
        assert.equal(connection.secure, true);
        // The injected "250" was dropped: the extensions are those of the EHLO sent inside TLS.
        assert.deepEqual([...connection.extensions.keys()], ["AUTH"]);
        await connection.quit();
      },
    );
    assert.ok(transcript.includes("C: AUTH PLAIN ***"));
    assert.ok(transcript.includes("S: 235 2.7.0 ok"));
    const secret = Buffer.from("\0alice@example.org\0s3cret").toString("base64");
    assert.ok(!transcript.some((line) => line.includes(secret) || line.includes("s3cret")));
  });

  test("AUTH LOGIN: user and password in separate base64 lines; 535 is permanent and says what to check", async () => {
    const error = await withServer(
      tlsThenAuth(async (peer) => {
        assert.equal(await peer.line(), "AUTH LOGIN");
        peer.send("334 VXNlcm5hbWU6");
        assert.equal(Buffer.from(await peer.line(), "base64").toString(), "alice@example.org");
        peer.send("334 UGFzc3dvcmQ6");
        assert.equal(Buffer.from(await peer.line(), "base64").toString(), "wrong");
        peer.send("535 5.7.8 bad credentials");
      }, false),
      async (port) => {
        const failure = await rejection(
          connectSmtp(
            options(port, {
              tls: "opportunistic",
              auth: { user: "alice@example.org", password: "wrong", mechanism: "LOGIN" },
            }),
          ),
        );
        return failure;
      },
    );
    assert.equal(error.stage, "auth");
    assert.equal(error.temporary, false);
    assert.match(error.message, /check the user name and password/);
  });

  test("STARTTLS against an untrusted certificate fails the tls stage; required STARTTLS not offered fails", async () => {
    const server = await startScriptedServer(async (peer) => {
      await greet(peer, ["STARTTLS"]);
      await peer.line();
      peer.send("220 ready");
      await peer.startTls(context).catch(() => undefined);
    });
    try {
      const error = await rejection(connectSmtp(options(server.port, { tls: "starttls" })));
      assert.equal(error.stage, "tls");
      assert.match(error.message, /TLS with .* failed/);
    } finally {
      await server.close();
    }
    const missing = await withServer(
      async (peer) => {
        await greet(peer, ["PIPELINING"]);
        await peer.closed();
      },
      (port) => rejection(connectSmtp(options(port, { tls: "starttls" }))),
    );
    assert.equal(missing.stage, "starttls");
    assert.match(missing.message, /does not offer STARTTLS/);
  });
});
