// IMAP METADATA (RFC 5464) against a running mailroom on both stores, over a raw socket so every byte
// of the exchange is visible: SETMETADATA with quoted strings, NIL and a literal8 holding NUL, GETMETADATA
// with DEPTH and MAXSIZE, the limits' response codes, entries that follow a RENAME and go with a DELETE,
// and the server's own entries ("").

import assert from "node:assert/strict";
import { createConnection, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { integrationBackends, startTestServer, type TestServer } from "../support/server.js";
import { password, user } from "./imap-helpers.js";

/** A plain IMAP connection (loopback) that sends a command and gives back every byte until its tagged reply. */
class RawImap {
  private received = Buffer.alloc(0);
  private waiting: (() => void) | null = null;
  private tag = 0;

  private constructor(private readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.waiting?.();
    });
  }

  static async open(port: number): Promise<RawImap> {
    const socket = createConnection({ host: "127.0.0.1", port });
    const client = new RawImap(socket);
    await client.until(/^\* OK .*\r\n/m);
    return client;
  }

  private async until(pattern: RegExp): Promise<string> {
    for (;;) {
      const text = this.received.toString("latin1");
      const match = pattern.exec(text);
      if (match) {
        const end = match.index + match[0].length;
        this.received = this.received.subarray(Buffer.byteLength(text.slice(0, end), "latin1"));
        return text.slice(0, end);
      }
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
      });
    }
  }

  /** Sends `parts` (text, or bytes for a literal's content) as one command; answers the whole reply. */
  async send(...parts: Array<string | Buffer>): Promise<string> {
    const tag = `m${++this.tag}`;
    this.socket.write(
      Buffer.concat([Buffer.from(`${tag} `), ...parts.map((part) => Buffer.from(part)), Buffer.from("\r\n")]),
    );
    return this.until(new RegExp(`^${tag} (OK|NO|BAD)[^\\r]*\\r\\n`, "m"));
  }

  close(): void {
    this.socket.destroy();
  }
}

for (const backend of await integrationBackends()) {
  describe(`IMAP METADATA on ${backend.name}`, { skip: backend.skip }, () => {
    let server: TestServer;
    let imap: RawImap;

    before(async () => {
      server = await startTestServer({
        store: backend.store,
        env: { MAILROOM_IMAP_METADATA_MAX_SIZE: "2048", MAILROOM_IMAP_METADATA_MAX_ENTRIES: "6" },
      });
      assert.equal((await server.cli(["domain", "add", "example.org"])).code, 0);
      assert.equal((await server.cli(["user", "add", user, "--password-stdin"], `${password}\n`)).code, 0);
      imap = await RawImap.open(server.ports.imap);
      assert.match(await imap.send(`LOGIN ${user} "${password}"`), /OK \[CAPABILITY [^\]]* METADATA[ \]]/);
    });

    after(async () => {
      imap?.close();
      await server?.cleanup();
      await backend.release();
    });

    test("set, get with depth, NIL removes, names without regard to case, a NUL value as literal8", async () => {
      assert.match(
        await imap.send(
          'SETMETADATA INBOX (/private/comment "My inbox" /Private/Comment/Work "work" /shared/comment "shared")',
        ),
        /^m\d+ OK SETMETADATA completed/m,
      );
      const binary = Buffer.from([0x61, 0x00, 0x62, 0xff]);
      assert.match(
        await imap.send(`SETMETADATA INBOX (/private/vendor/x/blob ~{${binary.length}+}\r\n`, binary, ")"),
        /OK SETMETADATA completed/,
      );
      assert.match(
        await imap.send("GETMETADATA INBOX /private/comment"),
        /^\* METADATA "INBOX" \(\/private\/comment "My inbox"\)\r\nm\d+ OK GETMETADATA completed\r\n$/,
      );
      assert.match(
        await imap.send("GETMETADATA (DEPTH 1) INBOX (/PRIVATE/COMMENT /shared/comment /private/none)"),
        /^\* METADATA "INBOX" \(\/private\/comment "My inbox" \/private\/comment\/work "work" \/private\/none NIL \/shared\/comment "shared"\)\r\nm\d+ OK GETMETADATA completed\r\n$/,
      );
      const withBinary = await imap.send("GETMETADATA (DEPTH infinity) INBOX /private/vendor");
      assert.ok(
        withBinary.includes(`/private/vendor/x/blob ~{4}\r\n${Buffer.from(binary).toString("latin1")})`),
        withBinary,
      );
      assert.match(await imap.send("SETMETADATA INBOX (/private/comment NIL)"), /OK/);
      assert.match(await imap.send("GETMETADATA INBOX /private/comment"), /\(\/private\/comment NIL\)/);
    });

    test("MAXSIZE leaves long values out with LONGENTRIES; the limits answer MAXSIZE and TOOMANY; bad names are BAD", async () => {
      await imap.send(`SETMETADATA INBOX (/private/long "${"x".repeat(300)}")`);
      assert.match(
        await imap.send("GETMETADATA (MAXSIZE 100) INBOX (/private/long /shared/comment)"),
        /^\* METADATA "INBOX" \(\/shared\/comment "shared"\)\r\nm\d+ OK \[METADATA LONGENTRIES 300\]/m,
      );
      assert.match(
        await imap.send(`SETMETADATA INBOX (/private/huge "${"y".repeat(1000)}${"z".repeat(1100)}")`),
        /NO \[METADATA MAXSIZE 2048\]/,
      );
      // Four entries are held (comment/work, shared/comment, the blob, long): three more pass the limit of 6.
      assert.match(
        await imap.send('SETMETADATA "" (/private/a "1" /private/b "2" /private/c "3")'),
        /NO \[METADATA TOOMANY\]/,
      );
      assert.match(
        await imap.send('GETMETADATA "" /private/a'),
        /\(\/private\/a NIL\)/,
        "nothing of the refused set stayed",
      );
      assert.match(await imap.send('SETMETADATA "" (/private/a "1")'), /OK SETMETADATA/);
      assert.match(await imap.send('SETMETADATA "" (/shared/comment "for all")'), /NO \[NOPERM\]/);
      assert.match(await imap.send('SETMETADATA INBOX (/other/x "1")'), /BAD .*\/private or \/shared/);
      assert.match(await imap.send("GETMETADATA INBOX /private/*"), /BAD .*not a valid entry name/);
      assert.match(await imap.send("GETMETADATA (DEPTH 2) INBOX /private/comment"), /BAD .*DEPTH must be/);
      assert.match(await imap.send("GETMETADATA Nowhere /private/comment"), /NO \[NONEXISTENT\]/);
    });

    test("a mailbox's entries follow RENAME and go with DELETE", async () => {
      assert.match(await imap.send("CREATE Plans"), /OK/);
      assert.match(await imap.send('SETMETADATA Plans (/private/comment "plans")'), /OK/);
      assert.match(await imap.send("RENAME Plans Later"), /OK/);
      assert.match(await imap.send("GETMETADATA Later /private/comment"), /\(\/private\/comment "plans"\)/);
      assert.match(await imap.send("DELETE Later"), /OK/);
      assert.match(await imap.send("CREATE Later"), /OK/);
      assert.match(await imap.send("GETMETADATA Later /private/comment"), /\(\/private\/comment NIL\)/);
    });
  });
}
