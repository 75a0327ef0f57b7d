import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { median } from "../../../bench/lib/stats.js";
import { generateCorpus, generateMessage } from "../../../bench/pop3/corpus.js";

describe("benchmark corpus", () => {
  it("gives the same bytes for the same seed and other bytes for another", () => {
    assert.deepEqual(generateMessage(5, 42), generateMessage(5, 42));
    assert.notDeepEqual(generateMessage(5, 42), generateMessage(6, 42));
    assert.deepEqual(
      [...generateCorpus(3, 5)],
      [0, 1, 2].map((index) => generateMessage(5, index)),
    );
  });

  it("writes CRLF lines no longer than RFC 5322 §2.1.1 recommends, headers first", () => {
    for (const message of generateCorpus(50, 9)) {
      const text = message.toString("latin1");
      assert.ok(text.endsWith("\r\n"));
      assert.doesNotMatch(text, /[^\r]\n|\r[^\n]/);
      for (const line of text.split("\r\n")) assert.ok(line.length <= 78, `line too long: ${line}`);
      assert.match(text, /^Return-Path: <[^>]+>\r\n[\s\S]*\r\nMessage-ID: <[^>]+>\r\n[\s\S]*?\r\n\r\n/);
    }
  });

  it("mixes sizes: about 4 KB median, some 50–200 KB, and lines that need dot-stuffing", () => {
    const messages = [...generateCorpus(1000, 5)];
    const sizes = messages.map((message) => message.length);
    const kib = median(sizes) / 1024;
    assert.ok(kib > 3 && kib < 6, `median ${kib} KiB`);
    const large = sizes.filter((size) => size >= 50 * 1024 && size <= 201 * 1024).length;
    assert.ok(large >= 15 && large <= 60, `${large} large messages`);
    assert.ok(Math.max(...sizes) <= 201 * 1024);
    assert.ok(messages.some((message) => message.includes("\r\n.")));
  });
});
