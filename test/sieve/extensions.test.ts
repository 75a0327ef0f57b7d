import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { VacationAction } from "../../src/sieve/index.js";
import { actions, filesYes, holds, run, runtimeError, summary } from "./helpers.js";

const MULTIPART = Buffer.from(
  [
    "From: shop@example.com",
    "Content-Type: multipart/alternative; boundary=b",
    "",
    "--b",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: quoted-printable",
    "",
    "caf=C3=A9 =3D open",
    "--b",
    "Content-Type: text/html",
    "Content-Transfer-Encoding: base64",
    "",
    Buffer.from("<b>bold</b>").toString("base64"),
    "--b--",
    "",
  ].join("\r\n"),
);

describe("body (RFC 5173)", () => {
  test(":text searches decoded text parts; :content picks types; :raw the undecoded body", () => {
    const options = { message: MULTIPART };
    assert.equal(holds('body :contains "café = open"', ["body"], options), true);
    assert.equal(holds('body :text :contains "<b>bold"', ["body"], options), true);
    assert.equal(holds('body :content "text/plain" :contains "bold"', ["body"], options), false);
    assert.equal(holds('body :content "text/html" :contains "<b>bold"', ["body"], options), true);
    assert.equal(holds('body :raw :contains "=3D"', ["body"], options), true);
    assert.equal(holds('body :raw :contains "café"', ["body"], options), false);
  });
});

describe("vacation (RFC 5230) and vacation-seconds (RFC 6131)", () => {
  const vacation = (script: string) => actions(script).find((a) => a.type === "vacation") as VacationAction;

  test("parameters are resolved for the caller; the implicit keep stays", () => {
    const result = actions(
      'require "vacation"; vacation :days 3 :subject "Away" :from "bob@example.com" :addresses ["b@x.y"] "Gone.";',
    );
    assert.deepEqual(result, [
      {
        type: "vacation",
        reason: "Gone.",
        mime: false,
        seconds: 3 * 86_400,
        subject: "Away",
        from: "bob@example.com",
        addresses: ["b@x.y"],
        handle: "Gone.Awaybob@example.com<NO-MIME>",
      },
      { type: "keep", flags: [], implicit: true },
    ]);
  });

  test("the period defaults to 7 days and is clamped; :seconds 0 means every time", () => {
    assert.equal(vacation('require "vacation"; vacation "x";').seconds, 7 * 86_400);
    assert.equal(vacation('require "vacation"; vacation :days 365 "x";').seconds, 60 * 86_400);
    assert.equal(vacation('require "vacation-seconds"; vacation :seconds 60 "x";').seconds, 86_400);
    assert.equal(vacation('require "vacation-seconds"; vacation :seconds 0 "x";').seconds, 0);
    assert.equal(vacation('require "vacation"; vacation :handle "h" :mime "x";').handle, "h");
  });

  test("vacation may be used once (RFC 5230 §4.7)", () => {
    assert.match(runtimeError('require "vacation"; vacation "a"; vacation "b";'), /vacation used twice/);
  });
});

describe("date and currentdate (RFC 5260)", () => {
  test("date parts in the local zone, :zone and :originalzone", () => {
    assert.equal(holds('date :is "date" "hour" "08"', ["date"]), true);
    assert.equal(holds('date :is :originalzone "date" "hour" "10"', ["date"]), true);
    assert.equal(
      holds('date :is :zone "-0500" "date" "iso8601" "2024-10-01T03:00:00-05:00"', ["date"]),
      true,
    );
    assert.equal(
      holds('date :is :originalzone "date" "std11" "Tue, 01 Oct 2024 10:00:00 +0200"', ["date"]),
      true,
    );
    assert.equal(holds('date :is "date" "weekday" "2"', ["date"]), true);
    assert.equal(holds('date :is "date" "julian" "60584"', ["date"]), true);
    assert.equal(holds('date :is "date" "zone" "+0000"', ["date"]), true);
  });

  test("the date of a Received field follows its last semicolon; :index picks the field", () => {
    assert.equal(holds('date :is "received" "time" "08:01:00"', ["date"]), true);
    assert.equal(holds('date :index 1 :last "received" "date" "2024-10-01"', ["date", "index"]), true);
  });

  test("an unparsable date and an invalid run-time zone make the test fail, not the script", () => {
    assert.equal(holds('date :matches "subject" "year" "*"', ["date"]), false);
    assert.equal(
      filesYes('set "z" "CET"; if date :matches :zone "${z}" "date" "year" "*" { fileinto "yes"; }', [
        "date",
        "variables",
      ]),
      false,
    );
  });

  test("currentdate reads the environment's clock", () => {
    assert.equal(holds('currentdate :is "date" "2024-10-01"', ["date"]), true);
    assert.equal(holds('currentdate :is :zone "+1300" "date" "2024-10-02"', ["date"]), true);
  });
});

describe("index (RFC 5260 §6)", () => {
  test(":index counts from the top, with :last from the bottom", () => {
    assert.equal(holds('header :index 2 "x-tag" "two"', ["index"]), true);
    assert.equal(holds('header :index 1 :last "x-tag" "two"', ["index"]), true);
    assert.equal(holds('header :index 3 "x-tag" "two"', ["index"]), false);
    assert.equal(holds('address :index 1 :is "to" "carol@example.net"', ["index"]), true);
    // RFC 5260 §6: :index counts fields, not the addresses in one field.
    assert.equal(holds('address :index 2 :is "to" "carol@example.net"', ["index"]), false);
  });
});

describe("editheader (RFC 5293)", () => {
  test("addheader prepends or appends; later tests and the caller see the change", () => {
    const result = run('require "editheader"; addheader "X-A" "1"; addheader :last "X-B" "2";');
    assert.equal(result.status, "ok");
    const text = result.message.toString();
    assert.ok(text.startsWith("X-A: 1\r\nReceived:"));
    assert.match(text, /X-Tag: two\r\nX-B: 2\r\n\r\nHello/);
    assert.deepEqual(
      summary(
        'require ["editheader", "fileinto"]; addheader "X-A" "1"; if header "x-a" "1" { fileinto "seen"; }',
      ),
      ["addheader X-A", "fileinto seen"],
    );
  });

  test("deleteheader by name, by value pattern, by :index", () => {
    assert.equal(
      filesYes('deleteheader "x-tag"; if not exists "x-tag" { fileinto "yes"; }', ["editheader"]),
      true,
    );
    assert.equal(
      filesYes('deleteheader :is "x-tag" "one"; if header :index 1 "x-tag" "two" { fileinto "yes"; }', [
        "editheader",
        "index",
      ]),
      true,
    );
    assert.equal(
      filesYes('deleteheader :index 1 :last "x-tag"; if header "x-tag" "one" { fileinto "yes"; }', [
        "editheader",
      ]),
      true,
    );
  });

  test("Received and Auto-Submitted are protected: edits of them are ignored", () => {
    assert.equal(
      filesYes('deleteheader "received"; if exists "received" { fileinto "yes"; }', ["editheader"]),
      true,
    );
    assert.deepEqual(summary('require "editheader"; addheader "Received" "forged";'), ["keep*"]);
  });

  test("non-ASCII values are written as encoded words and read back decoded", () => {
    const result = run('require "editheader"; addheader "X-Note" "café";');
    assert.ok(result.message.toString().startsWith("X-Note: =?UTF-8?B?Y2Fmw6k=?=\r\n"));
    assert.equal(
      filesYes('addheader "X-Note" "café"; if header "x-note" "café" { fileinto "yes"; }', ["editheader"]),
      true,
    );
  });
});

describe("mailbox (RFC 5490), spamtest/virustest (RFC 5235), copy (RFC 3894)", () => {
  test("mailboxexists against the environment's mailboxes; fileinto :create", () => {
    const environment = { mailboxes: ["INBOX", "Work"] };
    assert.equal(holds('mailboxexists ["inbox", "Work"]', ["mailbox"], { environment }), true);
    assert.equal(holds('mailboxexists "Play"', ["mailbox"], { environment }), false);
    assert.deepEqual(actions('require ["mailbox", "fileinto"]; fileinto :create "New";')[0], {
      type: "fileinto",
      mailbox: "New",
      flags: [],
      create: true,
      copy: false,
    });
  });

  test("spamtest, :percent and virustest read the environment's scores; untested is 0", () => {
    const numeric = ["relational", "comparator-i;ascii-numeric"];
    const environment = { spam: { value: 8, percent: 75 }, virus: 1 };
    assert.equal(
      holds('spamtest :value "ge" :comparator "i;ascii-numeric" "8"', ["spamtest", ...numeric], {
        environment,
      }),
      true,
    );
    assert.equal(
      holds(
        'spamtest :percent :value "gt" :comparator "i;ascii-numeric" "70"',
        ["spamtestplus", ...numeric],
        { environment },
      ),
      true,
    );
    assert.equal(holds('virustest :is "1"', ["virustest"], { environment }), true);
    assert.equal(holds('spamtest :is "0"', ["spamtest"]), true);
  });
});

describe("include (RFC 6609)", () => {
  const scripts: Record<string, string> = {
    "personal:sub":
      'require ["include", "variables", "fileinto"]; global "box"; fileinto "${box}"; return; fileinto "never";',
    "personal:loop": 'require "include"; include "loop";',
    "global:shared": 'require "fileinto"; fileinto "Shared";',
    "personal:broken": "this is not sieve",
    "personal:deep": 'require "include"; include "deep2";',
    "personal:deep2": 'require "include"; include :global "shared";',
  };
  const environment = { include: (location: string, name: string) => scripts[`${location}:${name}`] ?? null };

  test("included scripts share global variables and add their actions; return leaves them", () => {
    const script =
      'require ["include", "variables"]; global "box"; set "box" "Inc"; include "sub"; include :once "sub"; include :global "shared";';
    assert.deepEqual(summary(script, { environment }), ["fileinto Inc", "fileinto Shared"]);
  });

  test(":optional skips a missing script; otherwise it is an error, as are loops and broken scripts", () => {
    assert.deepEqual(summary('require "include"; include :optional "nope";', { environment }), ["keep*"]);
    assert.match(
      runtimeError('require "include"; include "nope";', { environment }),
      /no personal script "nope"/,
    );
    assert.match(
      runtimeError('require "include"; include "loop";', { environment }),
      /"loop" includes itself/,
    );
    assert.match(
      runtimeError('require "include"; include "broken";', { environment }),
      /personal script "broken": 1:18: expected ";"/,
    );
  });

  test("include depth is bounded", () => {
    assert.match(
      runtimeError('require "include"; include "deep";', { environment, limits: { maxIncludeDepth: 1 } }),
      /nested deeper than 1/,
    );
  });
});

describe("encoded-character (RFC 5228 §2.4.2.4)", () => {
  test("${hex:…} and ${unicode:…} decode; malformed ones stay as written", () => {
    assert.deepEqual(
      summary('require ["encoded-character", "fileinto"]; fileinto "${hex: 43 61 66 C3 A9}${unicode:21}";'),
      ["fileinto Café!"],
    );
    assert.deepEqual(summary('require ["encoded-character", "fileinto"]; fileinto "${hex:4}";'), [
      "fileinto ${hex:4}",
    ]);
    assert.deepEqual(summary('require "fileinto"; fileinto "${hex:41}";'), ["fileinto ${hex:41}"]);
  });
});

describe("limits", () => {
  test("actions and steps are bounded", () => {
    const many = Array.from({ length: 5 }, (_, i) => `fileinto "f${i}";`).join(" ");
    assert.match(
      runtimeError(`require "fileinto"; ${many}`, { limits: { maxActions: 4 } }),
      /more than 4 actions/,
    );
    const busy = 'if header :contains ["x-tag", "x-tag"] ["1", "2", "3", "4"] {} '.repeat(20);
    assert.match(runtimeError(busy, { limits: { maxSteps: 50 } }), /more than 50 steps/);
  });
});
