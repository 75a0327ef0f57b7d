import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { HeaderCapture } from "../../src/store/header-capture.js";

/** The rule, stated on the whole message at once. */
function expected(message: Buffer, limit: number): Buffer | null {
  if (message.subarray(0, 2).toString("latin1") === "\r\n") return message.subarray(0, 2);
  const at = message.indexOf("\r\n\r\n");
  if (at !== -1) return at + 4 <= limit ? message.subarray(0, at + 4) : null;
  return message.length <= limit ? message : null;
}

function capture(message: Buffer, cuts: number[], limit: number): Buffer | null {
  const header = new HeaderCapture(limit);
  let from = 0;
  for (const cut of [...cuts.map((c) => c % (message.length + 1))].sort((a, b) => a - b)) {
    header.feed(message.subarray(from, Math.max(from, cut)));
    from = Math.max(from, cut);
  }
  header.feed(message.subarray(from));
  return header.result();
}

test("any split of any message gives the header block the whole-message rule gives", () => {
  // Few distinct bytes, so CR LF CR LF and near misses (CR LF CR, LF LF) occur often.
  const bytes = fc.array(fc.constantFrom(0x0d, 0x0a, 0x41, 0x3a, 0xe9), { maxLength: 80 });
  fc.assert(
    fc.property(
      bytes,
      fc.array(fc.nat(), { maxLength: 6 }),
      fc.integer({ min: 4, max: 64 }),
      (raw, cuts, limit) => {
        const message = Buffer.from(raw);
        assert.deepEqual(capture(message, cuts, limit), expected(message, limit));
      },
    ),
    { numRuns: 200 },
  );
});

test("bytes past the header end, and past the limit, are not kept", () => {
  const header = new HeaderCapture(16);
  header.feed(Buffer.from("A: b\r\n\r"));
  header.feed(Buffer.from("\nbody that is much longer than the limit"));
  assert.equal(header.result()?.toString(), "A: b\r\n\r\n");
  const long = new HeaderCapture(16);
  long.feed(Buffer.from("X: ".padEnd(40, "x")));
  long.feed(Buffer.from("\r\n\r\n"));
  assert.equal(long.result(), null);
});
