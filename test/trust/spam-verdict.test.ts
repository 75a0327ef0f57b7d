// rspamd's reply and what it means here (trust/spam-verdict.ts), the RFC 5782 §2.4 query names of
// blocklists (trust/inbound.ts), and which moves train rspamd (trust/training.ts).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { blocklistName } from "../../src/trust/inbound.js";
import { parseCheckReply, spamtestScore, spamVerdict } from "../../src/trust/spam-verdict.js";
import { learnDirection } from "../../src/trust/training.js";

const now = new Date("2026-12-04T06:00:00Z");
const scan = (action: string, score = 5) => ({
  score,
  requiredScore: 15,
  action,
  symbols: [],
  scannedAt: now,
});

describe("parseCheckReply", () => {
  test("a /checkv2 reply keeps score, required score, action and symbol names", () => {
    assert.deepEqual(
      parseCheckReply(
        { score: 15, required_score: 15, action: "reject", symbols: { GTUBE: { name: "GTUBE", score: 0 } } },
        now,
      ),
      { score: 15, requiredScore: 15, action: "reject", symbols: ["GTUBE"], scannedAt: now },
    );
  });

  test("anything else is no reply", () => {
    for (const bad of [
      null,
      "reject",
      3,
      {},
      { score: "1", action: "reject" },
      { score: 1 },
      { score: Number.NaN, action: "x" },
    ]) {
      assert.equal(parseCheckReply(bad, now), null);
    }
  });
});

describe("spamVerdict", () => {
  test("reject 550 5.7.1, soft reject 451 4.7.1, add header and rewrite subject to Junk, no action kept", () => {
    assert.deepEqual(
      [spamVerdict(scan("reject", 15), false)].map((v) => v.kind === "reject" && [v.code, v.enhanced]),
      [[550, "5.7.1"]],
    );
    const soft = spamVerdict(scan("soft reject"), false);
    assert.ok(soft.kind === "reject" && soft.code === 451 && soft.enhanced === "4.7.1");
    assert.deepEqual(spamVerdict(scan("add header"), false), { kind: "accept", junk: true });
    assert.deepEqual(spamVerdict(scan("rewrite subject"), false), { kind: "accept", junk: true });
    assert.deepEqual(spamVerdict(scan("no action"), false), { kind: "accept", junk: false });
  });

  test("greylist: 451 4.7.1, unless our own greylisting already passed the transaction", () => {
    const first = spamVerdict(scan("greylist"), false);
    assert.ok(first.kind === "reject" && first.code === 451 && first.enhanced === "4.7.1");
    assert.deepEqual(spamVerdict(scan("greylist"), true), { kind: "accept", junk: false });
  });

  test("spamtest scale: 1 for a negative score, 10 at the reject score, percent in between", () => {
    assert.deepEqual(spamtestScore(scan("no action", -2)), { value: 1, percent: 0 });
    assert.deepEqual(spamtestScore(scan("reject", 30)), { value: 10, percent: 100 });
    assert.deepEqual(spamtestScore(scan("add header", 7.5)), { value: 6, percent: 50 });
  });
});

describe("blocklistName", () => {
  test("IPv4 octets reversed; IPv6 all 32 nibbles reversed (RFC 5782 §2.4); mapped IPv4 as IPv4", () => {
    assert.equal(blocklistName("192.0.2.99"), "99.2.0.192");
    // The example of RFC 5782 §2.4.
    assert.equal(
      blocklistName("2001:db8:1:2:3:4:567:89ab"),
      "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2",
    );
    assert.equal(blocklistName("::1"), `1${".0".repeat(31)}`);
    assert.equal(blocklistName("::ffff:192.0.2.1"), "1.2.0.192");
    assert.equal(blocklistName("not-an-address"), null);
  });
});

describe("learnDirection", () => {
  test("into Junk is spam, out of Junk is ham, Junk to Trash and other moves teach nothing", () => {
    assert.equal(learnDirection(null, "\\Junk"), "spam");
    assert.equal(learnDirection("\\Archive", "\\Junk"), "spam");
    assert.equal(learnDirection("\\Junk", null), "ham");
    assert.equal(learnDirection("\\Junk", "\\Trash"), null);
    assert.equal(learnDirection("\\Junk", "\\Junk"), null);
    assert.equal(learnDirection(null, "\\Archive"), null);
  });
});
