// RFC 5256 §2.1 base subjects, and the reply/forward mark THREAD=REFERENCES merges by.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { baseSubject } from "../../../src/imap/sort/base-subject.js";

describe("base subject (RFC 5256 §2.1)", () => {
  const cases: Array<[string, string, boolean]> = [
    ["Hello", "hello", false],
    ["Re: Hello", "hello", true],
    ["RE:   re: Fwd: Hello", "hello", true],
    ["Fw: Hello (fwd)", "hello", true],
    ["Hello (fwd) (FWD)  ", "hello", true],
    ["Re[2]: Hello", "hello", true],
    ["[list] Re: Hello", "hello", true],
    ["Re: [list] [other] Hello", "hello", true],
    ["[fwd: Re: Hello]", "hello", true],
    ["[Fwd: [list] Hello (fwd)]", "hello", true],
    // A blob alone is the subject: removing it would leave nothing (step 4).
    ["[list]", "[list]", false],
    ["Re: [list]", "[list]", true],
    ["  Hello\t\r\n  world  ", "hello world", false],
    ["Reply: Hello", "reply: hello", false],
    ["=?utf-8?q?R=C3=A9sum=C3=A9?=", "résumé".normalize("NFKD"), false],
    ["Re: =?utf-8?b?w4lDT0xF?=", "école".normalize("NFKD"), true],
    ["", "", false],
  ];
  for (const [raw, text, reply] of cases) {
    test(JSON.stringify(raw), () => {
      assert.deepEqual(baseSubject(raw), { text, isReplyOrForward: reply });
    });
  }
});
