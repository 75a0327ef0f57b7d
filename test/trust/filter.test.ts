// The spam filter as the SMTP session uses it (trust/filter.ts), sans IO: greylisting at RCPT with a
// controlled clock (an in-memory stand-in for the store's `greylist` part, whose real backends the
// contract test covers), authenticated and whitelisted clients exempt, rspamd's verdict applied after
// the body and carried to the commit. Then the rspamd HTTP adapter (trust/rspamd.ts) against a loopback
// HTTP server: the request headers it sends, and a server that never answers.

import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import pino from "pino";
import type { GreylistRecord, GreylistStore, SpamScan } from "../../src/store/types.js";
import { createInboundFilter } from "../../src/trust/filter.js";
import { createRspamdClient, type RspamdClient } from "../../src/trust/rspamd.js";
import { codes, FakeAgent, harness } from "../smtp/fakes.js";

const silent = pino({ level: "silent" });
const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

class MemoryGreylist implements GreylistStore {
  readonly records = new Map<string, GreylistRecord>();
  async getTriplet(key: string) {
    return this.records.get(key);
  }
  async putTriplet(key: string, record: GreylistRecord) {
    this.records.set(key, record);
  }
  async pruneTriplets(before: Date) {
    let pruned = 0;
    for (const [key, record] of this.records) {
      if (record.lastSeen < before) pruned += this.records.delete(key) ? 1 : 0;
    }
    return pruned;
  }
}

function setup(options: { action?: string; whitelist?: string[]; remoteAddress?: string } = {}) {
  const agent = new FakeAgent();
  const clock = { now: new Date("2026-12-04T06:00:00Z") };
  const scans: string[] = [];
  const rspamd: RspamdClient | undefined =
    options.action === undefined
      ? undefined
      : {
          async scan(message, envelope) {
            for await (const chunk of message) scans.push(chunk.toString());
            scans.push(`queue id ${envelope.queueId}`);
            const scan: SpamScan = {
              score: 7,
              requiredScore: 15,
              action: options.action!,
              symbols: ["TEST"],
              scannedAt: clock.now,
            };
            return scan;
          },
          learn: async () => undefined,
        };
  const store = new MemoryGreylist();
  const filter = createInboundFilter({
    logger: silent,
    blobs: { readBlob: (id: string) => Readable.from([agent.bodies.get(id) ?? Buffer.alloc(0)]) },
    ...(rspamd ? { rspamd } : {}),
    greylist: {
      store,
      delay: 300_000,
      expiry: 86_400_000,
      whitelist: options.whitelist ?? [],
      now: () => clock.now,
    },
  });
  const h = harness({ agent, filter, remoteAddress: options.remoteAddress ?? "192.0.2.7" });
  return { h, clock, store, scans, agent };
}

const transaction = "MAIL FROM:<sender@remote.example>\r\nRCPT TO:<alice@example.org>\r\n";

describe("greylisting in the SMTP session", () => {
  test("451 4.7.1 at RCPT the first time, and after the delay the retry is accepted", async () => {
    const { h, clock, store } = setup();
    await h.send("EHLO client.example\r\n");
    const first = await h.send(transaction);
    assert.deepEqual(codes(first), ["250", "451"]);
    assert.match(first, /451 4\.7\.1 Greylisted: .*try again in 300 s/);
    assert.deepEqual([...store.records.keys()], ["192.0.2.0/24 sender@remote.example alice@example.org"]);
    await h.send("RSET\r\n");
    clock.now = new Date(clock.now.getTime() + 301_000);
    assert.deepEqual(codes(await h.send(transaction)), ["250", "250"]);
  });

  test("an authenticated client and a whitelisted network are not greylisted", async () => {
    const authenticated = setup({ remoteAddress: "127.0.0.1" });
    await authenticated.h.send("EHLO client.example\r\n");
    assert.equal(
      codes(await authenticated.h.send(`AUTH PLAIN ${b64("\0alice@example.org\0secret")}\r\n`))[0],
      "235",
    );
    assert.deepEqual(
      codes(await authenticated.h.send("MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\n")),
      ["250", "250"],
    );
    assert.equal(authenticated.store.records.size, 0);
    const listed = setup({ whitelist: ["192.0.2.0/28"] });
    await listed.h.send("EHLO client.example\r\n");
    assert.deepEqual(codes(await listed.h.send(transaction)), ["250", "250"]);
  });
});

describe("rspamd's verdict in the SMTP session", () => {
  const send = async (action: string, whitelist: string[] = []) => {
    const context = setup({ action, whitelist });
    await context.h.send("EHLO client.example\r\n");
    await context.h.send(transaction);
    await context.h.send("DATA\r\n");
    const reply = await context.h.send("Subject: hi\r\n\r\nhello\r\n.\r\n");
    return { ...context, reply };
  };

  test("reject: 550 5.7.1 and nothing committed; the scanned bytes are the message without our trace", async () => {
    const { reply, agent, scans } = await send("reject", ["192.0.2.0/24"]);
    assert.match(reply, /^550 5\.7\.1 Message refused as spam/);
    assert.equal(agent.commits.length, 0);
    assert.equal(scans[0], "Subject: hi\r\n\r\nhello\r\n");
    assert.match(scans[1]!, /^queue id \S+/);
  });

  test("add header: committed into Junk with the scan; greylist passes when our greylisting passed", async () => {
    const junk = await send("add header", ["192.0.2.0/24"]);
    assert.match(junk.reply, /^250 /);
    assert.equal(junk.agent.commits[0]?.junk, true);
    assert.equal(junk.agent.commits[0]?.spam?.score, 7);
    const greylisted = await send("greylist", ["192.0.2.0/24"]);
    assert.match(greylisted.reply, /^250 /);
    assert.equal(greylisted.agent.commits[0]?.junk, undefined);
  });
});

describe("the rspamd HTTP adapter", () => {
  test("POST /checkv2 with IP, Helo, From, every Rcpt, Queue-Id and User; the reply parsed", async () => {
    let seen: { url?: string; headers?: IncomingHttpHeaders; body?: string } = {};
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        seen = { url: request.url!, headers: request.headers, body: Buffer.concat(chunks).toString() };
        response.setHeader("content-type", "application/json");
        response.end(
          JSON.stringify({ score: 2.5, required_score: 15, action: "no action", symbols: { A: {} } }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const client = createRspamdClient({ url, timeout: 5000, logger: silent });
      const scan = await client.scan(Readable.from([Buffer.from("Subject: x\r\n\r\nbody\r\n")]), {
        remoteAddress: "::ffff:192.0.2.7",
        helo: "client.example\r\nX-Injected: 1",
        sender: "sender@remote.example",
        recipients: ["a@example.org", "b@example.org"],
        queueId: "01abc",
        user: "alice@example.org",
      });
      assert.equal(scan?.score, 2.5);
      assert.deepEqual(scan?.symbols, ["A"]);
      assert.equal(seen.url, "/checkv2");
      assert.equal(seen.body, "Subject: x\r\n\r\nbody\r\n");
      assert.equal(seen.headers?.ip, "192.0.2.7");
      assert.equal(seen.headers?.helo, "client.exampleX-Injected: 1");
      assert.equal(seen.headers?.["x-injected"], undefined);
      assert.equal(seen.headers?.from, "sender@remote.example");
      assert.equal(seen.headers?.rcpt, "a@example.org, b@example.org");
      assert.equal(seen.headers?.["queue-id"], "01abc");
      assert.equal(seen.headers?.user, "alice@example.org");
    } finally {
      server.close();
    }
  });

  test("a server that never answers: null after the timeout, and a warning naming the URL", async () => {
    const server = createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const lines: string[] = [];
    const logger = pino({ level: "warn" }, { write: (line: string) => void lines.push(line) });
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const client = createRspamdClient({ url, timeout: 300, logger });
      const started = Date.now();
      const scan = await client.scan(Readable.from([Buffer.from("Subject: x\r\n\r\nbody\r\n")]), {
        remoteAddress: "192.0.2.7",
        helo: "client.example",
        sender: "",
        recipients: ["a@example.org"],
        queueId: "01abc",
      });
      assert.equal(scan, null);
      assert.ok(Date.now() - started < 5000);
      assert.ok(lines.some((line) => line.includes(`rspamd at ${url} could not scan the message`)));
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
