// The ring of recent warn and error events (src/log/recent.ts): bounded to its capacity, newest first,
// with how many were pushed out; fields that may hold secrets or message content redacted, errors without
// their stack, every value bounded; fed through a real pino logger at any level, pretty or JSON.

import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, test } from "node:test";
import { createLogger } from "../../src/log/logger.js";
import { createRecentEvents, recentEventOf } from "../../src/log/recent.js";

const line = (n: number, level: string | number = "warn") => ({
  level,
  time: `2026-12-04T10:00:${String(n).padStart(2, "0")}.000Z`,
  msg: `event ${n}`,
});

describe("recent errors ring", () => {
  test("keeps the last N, newest first, and counts what it dropped", () => {
    const ring = createRecentEvents(3);
    assert.deepEqual(ring.snapshot(), { capacity: 3, total: 0, dropped: 0, events: [] });
    ring.record(line(1));
    ring.record(line(2, "error"));
    assert.deepEqual(
      ring.snapshot().events.map((event) => [event.message, event.level]),
      [
        ["event 2", "error"],
        ["event 1", "warn"],
      ],
    );
    for (let n = 3; n <= 10; n++) ring.record(line(n));
    const full = ring.snapshot();
    assert.deepEqual(
      full.events.map((event) => event.message),
      ["event 10", "event 9", "event 8"],
    );
    assert.deepEqual([full.capacity, full.total, full.dropped], [3, 10, 7]);
  });

  test("only warn and worse enter; numeric pino levels as well as names", () => {
    const ring = createRecentEvents(10);
    ring.record(line(1, "info"));
    ring.record(line(2, 30));
    ring.record(line(3, "debug"));
    ring.record(line(4, 40));
    ring.record(line(5, 50));
    ring.record(line(6, 60));
    assert.deepEqual(
      ring.snapshot().events.map((event) => event.level),
      ["fatal", "error", "warn"],
    );
    assert.equal(ring.snapshot().total, 3);
  });

  test("capacity 0 keeps nothing but still counts", () => {
    const ring = createRecentEvents(0);
    ring.record(line(1));
    ring.record(line(2));
    assert.deepEqual(ring.snapshot(), { capacity: 0, total: 2, dropped: 2, events: [] });
    assert.throws(() => createRecentEvents(-1), RangeError);
  });

  test("redacts secrets and message content, strips stacks and URL queries, bounds values", () => {
    const event = recentEventOf({
      level: "error",
      time: "2026-12-04T10:00:00.000Z",
      msg: "authentication could not be performed",
      proto: "imap",
      listener: "imap",
      client: "192.0.2.7",
      user: "alice@example.org",
      password: "hunter2 hunter2",
      appToken: "mrt_secret",
      authorization: "Basic YWxpY2U6aHVudGVyMg==",
      saslResponse: "AGFsaWNlAGh1bnRlcjI=",
      body: "Subject: private\r\n\r\nthe letter",
      headers: { subject: "private" },
      subject: "private",
      url: "/jmap/download/a/b/name?accept=text/plain&token=x",
      nested: { clientProof: "p", credentials: { hash: "h" }, ok: "kept" },
      err: {
        type: "StoreError",
        message: "disk full",
        code: "full",
        stack: "StoreError: disk full\n    at …",
      },
      long: "x".repeat(5000),
      list: Array.from({ length: 50 }, (_, i) => i),
    });
    assert.ok(event);
    assert.equal(event.proto, "imap");
    assert.equal(event.message, "authentication could not be performed");
    const fields = event.fields as Record<string, unknown>;
    for (const key of [
      "password",
      "appToken",
      "authorization",
      "saslResponse",
      "body",
      "headers",
      "subject",
    ]) {
      assert.equal(fields[key], "[redacted]", key);
    }
    assert.deepEqual(fields.nested, { clientProof: "[redacted]", credentials: "[redacted]", ok: "kept" });
    assert.equal(fields.url, "/jmap/download/a/b/name?[redacted]");
    assert.deepEqual(fields.err, { type: "StoreError", code: "full", message: "disk full" });
    assert.equal(fields.client, "192.0.2.7");
    assert.equal(fields.user, "alice@example.org");
    assert.ok((fields.long as string).length <= 300);
    assert.equal((fields.list as unknown[]).length, 11);
    assert.equal("proto" in fields || "time" in fields || "msg" in fields, false);
    const text = JSON.stringify(event);
    for (const secret of ["hunter2", "mrt_secret", "YWxpY2U6", "AGFsaWNl", "the letter", "token=x", "at …"]) {
      assert.equal(text.includes(secret), false, secret);
    }
  });

  for (const format of ["json", "pretty"] as const) {
    test(`fed by the ${format} logger, with child bindings, even at level "error"`, () => {
      const ring = createRecentEvents(10);
      const out = new PassThrough();
      let printed = "";
      out.on("data", (chunk: Buffer) => {
        printed += chunk.toString();
      });
      const logger = createLogger({ level: "error", format }, out, ring);
      const smtp = logger.child({ proto: "smtp", listener: "submission", client: "192.0.2.9" });
      smtp.info("hello");
      smtp.warn({ to: "bob@example.net", password: "pw" }, "recipient check failed");
      smtp.error({ err: new Error("boom") }, "smtp session failed");
      const events = ring.snapshot().events;
      assert.deepEqual(
        events.map((event) => [event.level, event.message, event.proto]),
        [
          ["error", "smtp session failed", "smtp"],
          ["warn", "recipient check failed", "smtp"],
        ],
      );
      assert.deepEqual(events[1]?.fields, {
        listener: "submission",
        client: "192.0.2.9",
        to: "bob@example.net",
        password: "[redacted]",
      });
      assert.deepEqual(events[0]?.fields.err, { type: "Error", message: "boom" });
      assert.ok(!Number.isNaN(Date.parse(events[0]?.time ?? "")));
      // The log itself still obeys its level: the warning went to the ring only.
      assert.equal(printed.includes("recipient check failed"), false);
      assert.equal(printed.includes("smtp session failed"), true);
    });
  }
});
