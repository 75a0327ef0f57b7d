import assert from "node:assert/strict";
import net from "node:net";
import { describe, it } from "node:test";
import fc from "fast-check";
import { type Pop3Response, ResponseParser, runSession } from "../../../bench/pop3/client.js";
import { generateMessage } from "../../../bench/pop3/corpus.js";

/** RFC 1939 §3: a line starting with "." gets another one; the response ends with CRLF "." CRLF. */
function multiline(status: string, content: string): string {
  return `${status}\r\n${content.replace(/^\./gm, "..")}.\r\n`;
}

function feedInPieces(parser: ResponseParser, wire: Buffer, cuts: number[]): void {
  let start = 0;
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
    if (cut <= start || cut >= wire.length) continue;
    parser.push(wire.subarray(start, cut));
    start = cut;
  }
  parser.push(wire.subarray(start));
}

describe("ResponseParser", () => {
  it("measures dot-stuffed bodies wherever the chunks are cut", async () => {
    const bodies = [
      "Subject: a\r\n\r\n.leading dot\r\nplain\r\n..two dots\r\n",
      "",
      ".\r\n",
      "x\r\n.\r\n.\r\n",
    ];
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(200), { maxLength: 12 }), async (cuts) => {
        const parser = new ResponseParser();
        const replies: Promise<Pop3Response>[] = [];
        let wire = "";
        for (const body of bodies) {
          replies.push(parser.expect("listing"));
          wire += multiline("+OK follows", body);
        }
        replies.push(parser.expect("multiline"));
        wire += "-ERR no such message\r\n";
        replies.push(parser.expect("line"));
        wire += "+OK 3 300\r\n";
        feedInPieces(parser, Buffer.from(wire, "latin1"), cuts);
        const results = await Promise.all(replies);
        bodies.forEach((body, index) => {
          assert.equal(results[index]?.octets, Buffer.byteLength(body, "latin1"));
          assert.equal(results[index]?.lines, body.split("\r\n").length - 1);
          assert.equal(results[index]?.ok, true);
        });
        assert.deepEqual(results[4], { ok: false, status: "-ERR no such message", octets: 0, lines: 0 });
        assert.deepEqual(results[5], { ok: true, status: "+OK 3 300", octets: 0, lines: 0 });
      }),
      { numRuns: 200 },
    );
  });

  it("refuses bytes that are not a POP3 status line", () => {
    const parser = new ResponseParser();
    void parser.expect("line").catch(() => undefined);
    assert.throws(() => parser.push(Buffer.from("HTTP/1.1 400 Bad Request\r\n")), /not a POP3 status line/);
  });

  it("refuses a reply nobody asked for", () => {
    const parser = new ResponseParser();
    assert.throws(() => parser.push(Buffer.from("+OK surprise\r\n")), /unexpected line/);
  });
});

/** A minimal pipelining POP3 server over fixed messages; `corrupt` serves one message short by a byte. */
function fakeServer(messages: Buffer[], corrupt?: number): Promise<net.Server> {
  const server = net.createServer((socket) => {
    socket.write("+OK ready\r\n");
    let pending = "";
    socket.on("data", (chunk: Buffer) => {
      pending += chunk.toString("latin1");
      let end = pending.indexOf("\r\n");
      while (end !== -1) {
        const [verb, arg] = pending.slice(0, end).split(" ");
        pending = pending.slice(end + 2);
        end = pending.indexOf("\r\n");
        const total = messages.reduce((sum, message) => sum + message.length, 0);
        if (verb === "USER" || verb === "PASS") socket.write("+OK\r\n");
        else if (verb === "STAT") socket.write(`+OK ${messages.length} ${total}\r\n`);
        else if (verb === "LIST" || verb === "UIDL") {
          const lines = messages.map((message, index) => `${index + 1} ${message.length}\r\n`).join("");
          socket.write(multiline("+OK", lines));
        } else if (verb === "RETR") {
          const number = Number(arg);
          const message = messages[number - 1];
          if (message === undefined) socket.write("-ERR no such message\r\n");
          else {
            const text = message.toString("latin1");
            socket.write(multiline("+OK", number === corrupt ? text.slice(1) : text), "latin1");
          }
        } else if (verb === "QUIT") socket.end("+OK bye\r\n");
        else socket.write("-ERR unknown\r\n");
      }
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

async function withServer<T>(
  messages: Buffer[],
  corrupt: number | undefined,
  body: (port: number) => Promise<T>,
) {
  const server = await fakeServer(messages, corrupt);
  try {
    const address = server.address();
    assert.ok(address && typeof address === "object");
    return await body(address.port);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe("runSession", () => {
  const messages = Array.from({ length: 40 }, (_, index) => generateMessage(7, index));
  const sizes = messages.map((message) => message.length);
  const session = (port: number) =>
    runSession({
      host: "127.0.0.1",
      port,
      user: "u@bench.test",
      password: "pw",
      window: 8,
      serialCount: 5,
      expectedSizes: sizes,
      timeoutMs: 10_000,
    });

  it("retrieves every message, pipelined, and counts its exact octets", async () => {
    const result = await withServer(messages, undefined, session);
    assert.equal(result.messages, 40);
    assert.equal(result.serialMessages, 5);
    assert.equal(
      result.octets,
      sizes.reduce((sum, size) => sum + size, 0),
    );
    assert.deepEqual(result.problems, []);
  });

  it("reports a message that comes back with the wrong size", async () => {
    const result = await withServer(messages, 17, session);
    assert.deepEqual(result.problems, [
      `RETR 17 returned ${sizes[16]! - 1} octets; the message has ${sizes[16]}`,
    ]);
  });

  it("fails when the maildrop does not hold the corpus", async () => {
    await assert.rejects(
      withServer(messages.slice(0, 39), undefined, session),
      /STAT says 39 messages; the corpus has 40/,
    );
  });
});
