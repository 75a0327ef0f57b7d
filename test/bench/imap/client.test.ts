import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { fetchResponses, fetchUid, ImapClient, searchResults } from "../../../bench/imap/client.js";

/**
 * A scripted IMAP server on 127.0.0.1:0: sends `greeting`, then gives every received command line to
 * `answer`, which writes what the test wants (possibly in pieces). Returns the port and the lines seen.
 */
async function scriptedServer(
  greeting: string,
  answer: (line: string, socket: net.Socket) => void,
): Promise<{ port: number; received: string[]; close: () => Promise<void> }> {
  const received: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.write(greeting);
    let pending = "";
    socket.on("data", (chunk: Buffer) => {
      pending += chunk.toString("latin1");
      for (let end = pending.indexOf("\r\n"); end >= 0; end = pending.indexOf("\r\n")) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 2);
        received.push(line);
        answer(line, socket);
      }
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    port: address.port,
    received,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, "close");
    },
  };
}

/** Writes `wire` to the socket cut at the given offsets, each piece as its own write after a tick. */
async function writeInPieces(socket: net.Socket, wire: Buffer, cuts: number[]): Promise<void> {
  let start = 0;
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
    if (cut <= start || cut >= wire.length) continue;
    socket.write(wire.subarray(start, cut));
    start = cut;
    await new Promise((resolve) => setImmediate(resolve));
  }
  socket.write(wire.subarray(start));
}

const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const close of closers) await close();
});

describe("ImapClient", () => {
  it("reads literals and completions wherever the stream is cut", async () => {
    // The literal holds what would look like a completion line if it were parsed as text.
    const literal = "Subject: x\r\nb1 OK not a completion\r\n\r\n";
    const wire = Buffer.from(
      `* 1 FETCH (UID 7 FLAGS (\\Seen) BODY[] {${literal.length}}\r\n${literal})\r\n` +
        "* 2 FETCH (UID 9 BODY[] {0}\r\n)\r\n" +
        "b1 OK FETCH done\r\n",
      "latin1",
    );
    let cuts: number[] = [];
    const server = await scriptedServer("* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n", (_line, socket) => {
      void writeInPieces(socket, wire, cuts);
    });
    closers.push(server.close);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(wire.length), { maxLength: 10 }), async (chosen) => {
        cuts = chosen;
        const client = await ImapClient.connect("127.0.0.1", server.port);
        try {
          const completion = await client.ok("UID FETCH 1:* (BODY.PEEK[])");
          assert.equal(completion.text, "FETCH done");
          const responses = fetchResponses(completion);
          assert.deepEqual(responses.map(fetchUid), [7, 9]);
          assert.deepEqual(
            responses.map((response) => response.literals.map((bytes) => bytes.toString("latin1"))),
            [[literal], [""]],
          );
        } finally {
          client.close();
        }
      }),
      { numRuns: 40 },
    );
  });

  it("sends APPEND's literal at once with LITERAL+ and after the continuation without it", async () => {
    const message = Buffer.from("Subject: hi\r\n\r\nbody\r\n");
    for (const literalPlus of [true, false]) {
      const server = await scriptedServer(
        `* OK [CAPABILITY IMAP4rev1${literalPlus ? " LITERAL+" : ""}] ready\r\n`,
        (line, socket) => {
          if (line.endsWith(`{${message.length}}`)) socket.write("+ go ahead\r\n");
          else if (line === "") socket.write("b1 OK APPEND done\r\n");
        },
      );
      closers.push(server.close);
      const client = await ImapClient.connect("127.0.0.1", server.port);
      const completion = await client.ok("APPEND INBOX", message);
      client.close();
      assert.equal(completion.status, "OK");
      // The message's own lines, then the empty line that ends the command after the literal.
      assert.deepEqual(server.received, [
        `b1 APPEND INBOX {${message.length}${literalPlus ? "+" : ""}}`,
        "Subject: hi",
        "",
        "body",
        "",
      ]);
    }
  });

  it("rejects a command that completes with NO, naming the server's text", async () => {
    const server = await scriptedServer("* OK ready\r\n", (line, socket) => {
      const tag = line.split(" ")[0];
      if (line.includes("SEARCH")) socket.write(`* SEARCH 3 5 8\r\n${tag} OK SEARCH done\r\n`);
      else socket.write(`${tag} NO [TRYCREATE] no such mailbox\r\n`);
    });
    closers.push(server.close);
    const client = await ImapClient.connect("127.0.0.1", server.port);
    try {
      await assert.rejects(
        client.ok("SELECT Nowhere"),
        /"SELECT Nowhere" failed: b1 NO \[TRYCREATE\] no such mailbox/,
      );
      assert.deepEqual(searchResults(await client.ok("UID SEARCH ALL")), [3, 5, 8]);
    } finally {
      client.close();
    }
  });

  it("refuses a greeting that is not OK", async () => {
    const server = await scriptedServer("* BYE too busy\r\n", () => undefined);
    closers.push(server.close);
    await assert.rejects(
      ImapClient.connect("127.0.0.1", server.port),
      /unexpected IMAP greeting: \* BYE too busy/,
    );
  });
});
