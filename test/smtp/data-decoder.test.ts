import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { DataDecoder, LineEndChecker } from "../../src/smtp/protocol/data-decoder.js";

const limits = { maxLine: 1000, maxSize: 1_000_000 };

function decode(input: string | Buffer, chunkSizes: number[] = [], options = limits) {
  const decoder = new DataDecoder(options);
  const bytes = typeof input === "string" ? Buffer.from(input, "latin1") : input;
  const out: Buffer[] = [];
  let offset = 0;
  let index = 0;
  while (offset < bytes.length) {
    const size = chunkSizes.length > 0 ? Math.max(1, chunkSizes[index++ % chunkSizes.length]!) : bytes.length;
    const progress = decoder.feed(bytes.subarray(offset, offset + size));
    out.push(...progress.data);
    offset += size;
    if (progress.done) {
      const rest = Buffer.concat([progress.rest, bytes.subarray(offset)]).toString("latin1");
      return { done: true, body: Buffer.concat(out).toString("latin1"), rest, error: decoder.error };
    }
  }
  return { done: false, body: Buffer.concat(out).toString("latin1"), rest: "", error: decoder.error };
}

/** RFC 5321 §4.5.2: a line starting with "." gets another "."; then CRLF "." CRLF ends the data. */
function dotStuff(lines: string[]): string {
  return `${lines.map((line) => `${line.startsWith(".") ? "." : ""}${line}\r\n`).join("")}.\r\n`;
}

describe("DataDecoder", () => {
  test("ends at CRLF.CRLF and returns what follows", () => {
    const result = decode("Subject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n");
    assert.deepEqual(result, {
      done: true,
      body: "Subject: x\r\n\r\nhello\r\n",
      rest: "QUIT\r\n",
      error: null,
    });
  });
  test("an empty message", () => {
    assert.deepEqual(decode(".\r\n"), { done: true, body: "", rest: "", error: null });
  });
  test("dot-unstuffing is exact", () => {
    const result = decode("..\r\n...x\r\n.y\r\na.b\r\n.\r\n");
    assert.equal(result.body, ".\r\n..x\r\ny\r\na.b\r\n");
  });
  test("end marker split over every chunk boundary", () => {
    const input = "line one\r\n..dots\r\n.\r\nNOOP\r\n";
    for (let size = 1; size <= input.length; size += 1) {
      const result = decode(input, [size]);
      assert.equal(result.body, "line one\r\n.dots\r\n", `chunk ${size}`);
      assert.equal(result.rest, "NOOP\r\n", `chunk ${size}`);
    }
  });
  test("smuggling sequences never end the message and make it refused", () => {
    for (const marker of ["\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r.\r\n", "\r\n.\r"]) {
      const result = decode(`a${marker}MAIL FROM:<evil@example.org>\r\n`);
      assert.equal(result.done, false, JSON.stringify(marker));
      const finished = decode(`a${marker}MAIL FROM:<evil@example.org>\r\n.\r\n`);
      assert.equal(finished.done, true);
      assert.equal(finished.error, "bare-line-end", JSON.stringify(marker));
      assert.equal(finished.rest, "");
    }
  });
  test("bare LF or CR inside a line is an error but data continues to the real end", () => {
    assert.equal(decode("a\nb\r\n.\r\n").error, "bare-line-end");
    assert.equal(decode("a\rb\r\n.\r\n").error, "bare-line-end");
    assert.equal(decode("a\r\n.\r\n").error, null);
  });
  test("line length bound (CRLF included)", () => {
    const options = { maxLine: 10, maxSize: 1000 };
    assert.equal(decode(`${"x".repeat(8)}\r\n.\r\n`, [], options).error, null);
    const long = decode(`${"x".repeat(9)}\r\nok\r\n.\r\nNOOP\r\n`, [3], options);
    assert.equal(long.error, "line-too-long");
    assert.equal(long.rest, "NOOP\r\n");
  });
  test("size bound: data discarded past the limit, end still found", () => {
    const options = { maxLine: 1000, maxSize: 20 };
    const result = decode(`${"0123456789\r\n".repeat(5)}.\r\nQUIT\r\n`, [7], options);
    assert.equal(result.error, "too-big");
    assert.ok(result.body.length <= 20);
    assert.equal(result.rest, "QUIT\r\n");
  });
  test("feeding after the end is a programming error", () => {
    const decoder = new DataDecoder(limits);
    decoder.feed(Buffer.from(".\r\n"));
    assert.throws(() => decoder.feed(Buffer.from("x")));
  });
  test("property: dot-stuffed arbitrary lines decode back exactly, whatever the chunking", () => {
    const line = fc.string({ unit: fc.constantFrom("a", ".", " ", "é", "\t", "Z", "0"), maxLength: 12 });
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 5 }),
        (lines, chunks) => {
          const wire = Buffer.from(`${dotStuff(lines)}RSET\r\n`, "utf8");
          const result = decode(wire, chunks);
          assert.equal(result.done, true);
          assert.equal(result.error, null);
          assert.equal(
            Buffer.from(result.body, "latin1").toString("utf8"),
            lines.map((text) => `${text}\r\n`).join(""),
          );
          assert.equal(result.rest, "RSET\r\n");
        },
      ),
      { numRuns: 200 },
    );
  });
  test("property: arbitrary bytes never throw and never end without CRLF.CRLF", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 60 }), (bytes) => {
        const result = decode(Buffer.from(bytes), [5]);
        if (result.done) {
          const wire = Buffer.from(bytes).toString("latin1");
          assert.ok(wire.startsWith(".\r\n") || wire.includes("\r\n.\r\n"));
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("LineEndChecker", () => {
  test("CRLF split across chunks is fine; bare CR/LF are caught", () => {
    const good = new LineEndChecker();
    good.feed(Buffer.from("a\r"));
    good.feed(Buffer.from("\nb\r\n"));
    assert.equal(good.finish(), false);
    const lf = new LineEndChecker();
    lf.feed(Buffer.from("a\nb"));
    assert.equal(lf.finish(), true);
    const trailingCr = new LineEndChecker();
    trailingCr.feed(Buffer.from("a\r"));
    assert.equal(trailingCr.finish(), true);
  });
});
