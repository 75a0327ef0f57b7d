import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { parseDuration, parseSize } from "../../src/config/units.js";

test("durations: bare numbers are milliseconds, units scale", () => {
  assert.equal(parseDuration("1500"), 1500);
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("30s"), 30_000);
  assert.equal(parseDuration("5m"), 300_000);
  assert.equal(parseDuration("1h"), 3_600_000);
  assert.equal(parseDuration("2d"), 172_800_000);
  assert.equal(parseDuration("1.5s"), 1500);
  assert.equal(parseDuration(" 10 S "), 10_000);
});

test("durations: unknown units and junk are refused", () => {
  for (const text of ["", "s", "5 minutes", "-5s", "5x", "1e3", "five"]) {
    assert.equal(parseDuration(text), null, text);
  }
});

test("sizes: SI units are powers of 1000, IEC units powers of 1024", () => {
  assert.equal(parseSize("1048576"), 1_048_576);
  assert.equal(parseSize("25MB"), 25_000_000);
  assert.equal(parseSize("25MiB"), 25 * 1024 * 1024);
  assert.equal(parseSize("10KiB"), 10_240);
  assert.equal(parseSize("10kb"), 10_000);
  assert.equal(parseSize("1GiB"), 1024 ** 3);
  assert.equal(parseSize("512B"), 512);
  for (const text of ["", "MB", "25 megabytes", "-1KB", "1TB"]) assert.equal(parseSize(text), null, text);
});

test("sizes and durations round-trip any whole amount", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1_000_000 }), (n) => {
      assert.equal(parseSize(`${n}KiB`), n * 1024);
      assert.equal(parseSize(String(n)), n);
      assert.equal(parseDuration(`${n}s`), n * 1000);
    }),
    { numRuns: 100 },
  );
});
