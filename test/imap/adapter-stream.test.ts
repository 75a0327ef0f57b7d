// The IMAP adapter over real sockets: a streamed FETCH held back by a slow reader, and APPEND literals
// streamed to the blob store (whole, and cut short by a disconnect).

import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { defaultConfig } from "../../src/config/defaults.js";
import { createImapHandler } from "../../src/imap/handler.js";
import type { ProtocolHandler } from "../../src/net/types.js";
import type { ServiceDeps } from "../../src/server/deps.js";
import type { BlobWriter } from "../../src/store/types.js";
import { type LoopbackServer, listenOnLoopback } from "../support/listen.js";
import { spyStore } from "../support/store-spy.js";
import { ADDRESS, createFixture, type ImapFixture, PASSWORD } from "./fixtures.js";

const MESSAGES = 200;
const BODY_SIZE = 100 * 1024;
/** What the server may hold unsent for one connection: the socket's high-water mark plus one write. */
const MAX_BUFFERED = 256 * 1024;

/** A byte-level client: collects what arrives, reading only while `reading` is on. */
class Client {
  readonly socket: Socket;
  private chunks: Buffer[] = [];
  private length = 0;
  private waiters: Array<() => void> = [];

  constructor(port: number) {
    this.socket = connect(port, "127.0.0.1");
    this.socket.on("data", (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.length += chunk.length;
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.socket.on("error", () => {});
  }

  get received(): number {
    return this.length;
  }

  /** The last octets received, as text. */
  tail(): string {
    return (this.chunks[this.chunks.length - 1] ?? Buffer.alloc(0)).subarray(-200).toString("latin1");
  }

  bytes(): Buffer {
    const all = Buffer.concat(this.chunks);
    this.chunks = [all];
    return all;
  }

  async until(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = this.bytes().toString("latin1");
      if (pattern.test(text)) return text;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; got ${text.slice(-300)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }
}

describe("IMAP adapter streaming", () => {
  let fixture: ImapFixture;
  let handler: ProtocolHandler;
  let running: LoopbackServer;
  let port: number;
  const serverSockets: Socket[] = [];
  const writers = { opened: 0, aborted: 0 };
  const reads = { bodies: 0 };

  before(async () => {
    fixture = await createFixture();
    for (let i = 0; i < MESSAGES; i++) {
      const body = Buffer.alloc(BODY_SIZE, 0x61 + (i % 26));
      await fixture.deliver(Buffer.concat([Buffer.from(`Subject: big ${i}\r\n\r\n`), body]));
    }
    const store = spyStore(fixture.store, {
      blobs: (blobs) => ({
        readBlob: (id) => {
          reads.bodies++;
          return blobs.readBlob(id);
        },
        readBlobBytes: (id) => {
          reads.bodies++;
          return blobs.readBlobBytes(id);
        },
        createBlobWriter: async (): Promise<BlobWriter> => {
          const writer = await blobs.createBlobWriter();
          writers.opened++;
          return {
            id: writer.id,
            write: (chunk) => writer.write(chunk),
            finish: () => writer.finish(),
            abort: () => {
              writers.aborted++;
              return writer.abort();
            },
          };
        },
      }),
    });
    const deps: ServiceDeps = {
      config: defaultConfig({ hostname: "mail.example.test" }),
      store,
      logger: pino({ level: "silent" }),
      authenticator: fixture.authenticator,
      tls: undefined as unknown as ServiceDeps["tls"],
    };
    handler = createImapHandler("imap", deps, { maxMessageSize: 8 * 1024 * 1024 });
    running = await listenOnLoopback(handler, "imap", { onSocket: (socket) => serverSockets.push(socket) });
    port = running.port;
  });

  after(async () => {
    await running.close();
    await fixture.cleanup();
  });

  async function loggedIn(): Promise<{ client: Client; serverSide: Socket }> {
    const client = new Client(port);
    await client.until(/^\* OK/);
    const serverSide = serverSockets[serverSockets.length - 1];
    assert.ok(serverSide !== undefined);
    client.socket.write(`L LOGIN ${ADDRESS} "${PASSWORD}"\r\nS SELECT INBOX\r\n`);
    await client.until(/S OK/);
    return { client, serverSide };
  }

  test("a slow reader holds the FETCH back: the server buffers little and reads bodies as it sends", async () => {
    const { client, serverSide } = await loggedIn();
    let maxBuffered = 0;
    const sampler = setInterval(() => {
      maxBuffered = Math.max(maxBuffered, serverSide.writableLength);
    }, 2);
    client.socket.pause();
    const readsBefore = reads.bodies;
    client.socket.write("F UID FETCH 1:* BODY.PEEK[]\r\nN NOOP\r\n");
    await new Promise((resolve) => setTimeout(resolve, 400));
    const readWhilePaused = reads.bodies - readsBefore;
    assert.ok(
      readWhilePaused < MESSAGES,
      `with nobody reading, the server read only ${readWhilePaused} of ${MESSAGES} bodies`,
    );
    // Read slowly: a little at a time.
    while (!client.tail().includes("N OK")) {
      client.socket.resume();
      await new Promise((resolve) => setTimeout(resolve, 5));
      client.socket.pause();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    client.socket.resume();
    clearInterval(sampler);
    maxBuffered = Math.max(maxBuffered, serverSide.writableLength);
    assert.ok(maxBuffered <= MAX_BUFFERED, `the server buffered up to ${maxBuffered} octets`);
    const text = client.bytes().toString("latin1");
    const fetched = text.match(/\* \d+ FETCH \(BODY\[\] \{\d+\}\r\n/g) ?? [];
    assert.equal(fetched.length, MESSAGES, text.slice(0, 300));
    // The pipelined NOOP was answered only after the FETCH completed.
    assert.ok(text.indexOf("F OK UID FETCH completed") < text.indexOf("N OK"));
    assert.ok(text.includes(`Subject: big 199\r\n\r\n${"r".repeat(BODY_SIZE)} UID ${MESSAGES})\r\n`));
    client.socket.destroy();
  });

  test("a client that leaves mid-FETCH stops the reading of bodies", async () => {
    const { client } = await loggedIn();
    client.socket.pause();
    const readsBefore = reads.bodies;
    client.socket.write("F UID FETCH 1:* BODY.PEEK[]\r\n");
    await new Promise((resolve) => setTimeout(resolve, 200));
    client.socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const readAfterClose = reads.bodies;
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(reads.bodies, readAfterClose, "no body is read after the connection closed");
    assert.ok(readAfterClose - readsBefore < MESSAGES);
  });

  test("APPEND of a 5 MiB literal arrives byte-identical, synchronizing and LITERAL+", async () => {
    const { client } = await loggedIn();
    const message = Buffer.alloc(5 * 1024 * 1024);
    for (let i = 0; i < message.length; i++) message[i] = (i * 31 + (i >> 12)) & 0xff;
    message.write("Subject: five mebibytes\r\n\r\n", 0, "latin1");
    client.socket.write(`A1 APPEND Drafts {${message.length}}\r\n`);
    await client.until(/\+ Ready for literal data\r\n$/);
    client.socket.write(message);
    client.socket.write("\r\n");
    const first = (await client.until(/A1 OK \[APPENDUID \d+ \d+\]/)).match(/A1 OK \[APPENDUID \d+ (\d+)\]/);
    client.socket.write(`A2 APPEND Drafts {${message.length}+}\r\n`);
    client.socket.write(message);
    client.socket.write("\r\n");
    const second = (await client.until(/A2 OK \[APPENDUID \d+ \d+\]/)).match(/A2 OK \[APPENDUID \d+ (\d+)\]/);
    const drafts = await fixture.store.mailboxes.getMailbox(fixture.userId, "Drafts");
    assert.ok(drafts !== null);
    for (const uid of [Number(first?.[1]), Number(second?.[1])]) {
      const stored = await fixture.store.messages.getMessage(drafts.id, uid);
      assert.ok(stored !== null);
      assert.ok(
        (await fixture.store.blobs.readBlobBytes(stored.messageId)).equals(message),
        `UID ${uid} intact`,
      );
    }
    client.socket.destroy();
  });

  test("a client that disconnects mid-APPEND leaves no message, and the writer is aborted", async () => {
    const { client } = await loggedIn();
    const trash = await fixture.store.mailboxes.getMailbox(fixture.userId, "Trash");
    assert.ok(trash !== null);
    const abortedBefore = writers.aborted;
    const openedBefore = writers.opened;
    client.socket.write("A1 APPEND Trash {1000000+}\r\n");
    client.socket.write(Buffer.alloc(300_000, 0x78));
    const deadline = Date.now() + 5000;
    while (writers.opened === openedBefore && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    client.socket.destroy();
    while (writers.aborted === abortedBefore && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(writers.opened, openedBefore + 1);
    assert.equal(writers.aborted, abortedBefore + 1);
    assert.equal((await fixture.store.messages.listMessages(trash.id)).length, 0);
  });
});
