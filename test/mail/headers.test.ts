import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { summarizeHeaders } from "../../src/mail/headers.js";

describe("summarizeHeaders", () => {
  test("From and Subject are decoded from encoded words; folded lines and bare LF are read", () => {
    const block = Buffer.from(
      "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\n =?UTF-8?B?YXVz?=\nFrom: =?UTF-8?B?SsO2cmc=?=\n <j@example.org>\nDate: Tue, 01 Jul 2025 10:00:00 +0000\n\n",
    );
    assert.deepEqual(summarizeHeaders(block), {
      from: "Jörg <j@example.org>",
      subject: "Grüßeaus",
      date: new Date("2025-07-01T10:00:00Z"),
    });
  });

  test("the first From entry: a bare address, a name alone, or a group's name", () => {
    const from = (value: string) => summarizeHeaders(Buffer.from(`From: ${value}\r\n\r\n`)).from;
    assert.equal(from('"john smith"@example.org, b@example.org'), '"john smith"@example.org');
    assert.equal(from('"Only a name" <>'), "Only a name");
    assert.equal(from("Team: a@example.org, b@example.org;"), "Team");
  });

  test("missing fields and an unreadable date give empty values", () => {
    assert.deepEqual(summarizeHeaders(Buffer.from("Date: someday\r\n")), {
      from: "",
      subject: "",
      date: null,
    });
  });
});
