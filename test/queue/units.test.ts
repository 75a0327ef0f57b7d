import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { deliveryReport } from "../../src/mail/dsn.js";
import { IN_MEMORY_BODY_LIMIT, loadOutgoing, ReturnPathStripper } from "../../src/queue/body.js";
import { createMxLookup, RouteError } from "../../src/queue/mx.js";
import { retryDelay } from "../../src/queue/retry.js";
import { startTestDns, type TestDns } from "../support/dns.js";
import { parseReport } from "./helpers.js";

async function strip(chunks: Buffer[]): Promise<string> {
  return (await buffer(Readable.from(chunks).pipe(new ReturnPathStripper()))).toString("latin1");
}

function splitAt(text: string, cuts: number[]): Buffer[] {
  const bytes = Buffer.from(text, "latin1");
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  return chunks;
}

describe("ReturnPathStripper", () => {
  test("drops a leading Return-Path, folded lines included, whatever the chunking", async () => {
    const rest = "From: a@b.test\r\nReturn-Path: <kept@b.test>\r\n\r\nbody\r\n";
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(200), { maxLength: 6 }), async (cuts) => {
        assert.equal(await strip(splitAt(`Return-Path: <x@y.test>\r\n${rest}`, cuts)), rest);
        assert.equal(await strip(splitAt(`return-path:\r\n <x@y.test>\r\n${rest}`, cuts)), rest);
        assert.equal(await strip(splitAt(rest, cuts)), rest, "a message without one is untouched");
      }),
      { numRuns: 100 },
    );
  });

  test("drops it from a first chunk far longer than the field (bodies are read in 64 KiB chunks)", async () => {
    const rest = `From: a@example.org\r\n\r\n${"y".repeat(70_000)}\r\n`;
    assert.equal(await strip([Buffer.from(`Return-Path: <a@example.org>\r\n${rest}`)]), rest);
    // A field longer than any we write is not ours: left as it is.
    const long = `Return-Path: <${"a".repeat(5000)}@example.org>\r\n${rest}`;
    assert.equal(await strip([Buffer.from(long)]), long);
  });

  test("a short message and a Return-Path-like prefix of another field pass through", async () => {
    assert.equal(await strip([Buffer.from("Ret")]), "Ret");
    assert.equal(await strip([Buffer.from("Return-Paths: no\r\n\r\n")]), "Return-Paths: no\r\n\r\n");
  });
});

describe("loadOutgoing", () => {
  const chunked = (bytes: Buffer) => () => Readable.from([bytes.subarray(0, 100), bytes.subarray(100)]);

  test("a small body is read once into memory, with its 8-bit answer", async () => {
    let opened = 0;
    const ascii = Buffer.from(`Subject: a\r\n\r\n${"z".repeat(500)}\r\n`);
    const loaded = await loadOutgoing(() => {
      opened++;
      return chunked(ascii)();
    });
    assert.ok(Buffer.isBuffer(loaded.body) && loaded.body.equals(ascii));
    assert.equal(loaded.eightBit, false);
    assert.equal(opened, 1);
    const eight = Buffer.from(`Subject: a\r\n\r\n${"z".repeat(500)}\u00e9\r\n`, "utf8");
    assert.equal((await loadOutgoing(chunked(eight))).eightBit, true);
  });

  test("a body past the limit is left to stream, and an 8-bit byte anywhere in it is seen", async () => {
    const big = Buffer.alloc(IN_MEMORY_BODY_LIMIT + 10, 0x61);
    const plain = await loadOutgoing(chunked(big));
    assert.equal(typeof plain.body, "function");
    assert.equal(plain.eightBit, false);
    big[big.length - 1] = 0xe9;
    const eight = await loadOutgoing(chunked(big));
    assert.equal(typeof eight.body, "function");
    assert.equal(eight.eightBit, true);
    assert.ok((await buffer((eight.body as () => Readable)())).equals(big));
  });
});

describe("retryDelay", () => {
  test("follows the schedule and repeats its last step", () => {
    const schedule = [5, 10, 20];
    assert.deepEqual(
      [1, 2, 3, 4, 9].map((attempts) => retryDelay(schedule, attempts)),
      [5, 10, 20, 20, 20],
    );
    assert.throws(() => retryDelay([], 1), /retry schedule is empty/);
  });
});

describe("MX lookup", () => {
  let dns: TestDns;
  before(async () => {
    dns = await startTestDns({
      "pref.test": {
        mx: [
          { preference: 20, exchange: "c.pref.test" },
          { preference: 10, exchange: "a.pref.test" },
          { preference: 10, exchange: "b.pref.test" },
        ],
      },
      "a.pref.test": { a: ["192.0.2.1"] },
      "b.pref.test": { a: ["192.0.2.2"], aaaa: ["2001:db8::2"] },
      "c.pref.test": { a: ["192.0.2.3"] },
      "bare.test": { a: ["192.0.2.9"] },
      "empty.test": {},
      "broken.test": { servfail: true },
    });
  });
  after(() => dns.close());
  const lookup = (random: () => number) => createMxLookup({ server: `${dns.address}:${dns.port}`, random });

  test("preference order, equal preferences shuffled", async () => {
    const names = async (random: () => number) =>
      (await lookup(random)("pref.test")).map((host) => host.name);
    assert.deepEqual(await names(() => 0.99), ["a.pref.test", "b.pref.test", "c.pref.test"]);
    assert.deepEqual(await names(() => 0), ["b.pref.test", "a.pref.test", "c.pref.test"]);
    const hosts = await lookup(() => 0.99)("pref.test");
    assert.deepEqual(hosts[1]?.addresses, ["192.0.2.2", "2001:db8::2"]);
  });

  test("no MX: the domain's own address (implicit MX)", async () => {
    assert.deepEqual(await lookup(Math.random)("bare.test"), [
      { name: "bare.test", preference: 0, addresses: ["192.0.2.9"] },
    ]);
  });

  test("permanent for a missing domain or one without any address, temporary for SERVFAIL", async () => {
    const failure = async (domain: string): Promise<RouteError> => {
      try {
        await lookup(Math.random)(domain);
      } catch (err) {
        assert.ok(err instanceof RouteError);
        return err;
      }
      throw new Error(`${domain} resolved`);
    };
    assert.deepEqual(
      [await failure("missing.test"), await failure("empty.test"), await failure("broken.test")].map(
        (err) => [err.permanent, err.status],
      ),
      [
        [true, "5.1.2"],
        [true, "5.1.2"],
        [false, "4.4.3"],
      ],
    );
  });
});

describe("deliveryReport", () => {
  test("RET=FULL returns the message; fields are folded and stripped of line breaks", async () => {
    const original = "Subject: x\r\n\r\nno final newline";
    const chunks: Buffer[] = [];
    for await (const chunk of deliveryReport(
      {
        reportingMta: "mx.example.org",
        to: "alice@example.org",
        arrivalDate: new Date("2025-07-01T10:00:00Z"),
        recipients: [
          {
            finalRecipient: "bob@remote.test",
            action: "failed",
            status: "5.0.0",
            diagnostic: `550 ${"word ".repeat(40)}\r\nInjected: header`,
          },
        ],
        ret: "FULL",
        date: new Date("2025-07-02T10:00:00Z"),
      },
      Readable.from([Buffer.from(original)]),
    )) {
      chunks.push(chunk);
    }
    const report = parseReport(Buffer.concat(chunks));
    assert.equal(report.parts[2]?.contentType, "message/rfc822");
    assert.equal(report.parts[2]?.body, `${original}\r\n`);
    const status = report.parts[1]?.body ?? "";
    assert.doesNotMatch(status, /^Injected:/m);
    assert.ok(status.split("\r\n").every((line) => line.length <= 78));
    assert.match(report.status[0]?.["arrival-date"] ?? "", /^Tue, 01 Jul 2025 10:00:00 \+0000$/);
    assert.match(report.headers, /^Auto-Submitted: auto-replied$/m);
  });
});
