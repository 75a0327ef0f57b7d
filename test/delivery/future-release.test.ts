// RFC 4865's values: HOLDFOR's 1*9DIGIT, HOLDUNTIL's RFC 3339 date-time, the EHLO line, and the
// limits holdRequest applies — examples, then fast-check properties of the syntax.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  formatDateTime,
  futureReleaseKeyword,
  holdRequest,
  MAX_INTERVAL_SECONDS,
  parseHoldFor,
  parseHoldUntil,
} from "../../src/delivery/future-release.js";

const NOW = new Date("2030-06-15T12:00:00Z");
const limits = { maxSeconds: 7 * 86_400, now: NOW };

describe("future release values (RFC 4865)", () => {
  test("the EHLO line names the interval and the latest release, UTC with Z", () => {
    assert.equal(futureReleaseKeyword(604_800, NOW), "FUTURERELEASE 604800 2030-06-22T12:00:00Z");
    // At most nine digits, whatever the configuration says.
    assert.equal(futureReleaseKeyword(10_000_000_000, NOW).split(" ")[1], String(MAX_INTERVAL_SECONDS));
  });

  test("HOLDFOR takes 1 to 9 digits", () => {
    assert.equal(parseHoldFor("0"), 0);
    assert.equal(parseHoldFor("000000042"), 42);
    assert.equal(parseHoldFor("999999999"), 999_999_999);
    for (const bad of ["", "1234567890", "-1", "+5", "1.5", "1e3", " 5", "٣"]) {
      assert.equal(parseHoldFor(bad), null, bad);
    }
  });

  test("HOLDUNTIL takes RFC 3339 date-times: offsets, fractions, lower-case t and z, a leap second", () => {
    assert.equal(parseHoldUntil("2030-06-16T08:30:00Z")?.toISOString(), "2030-06-16T08:30:00.000Z");
    assert.equal(parseHoldUntil("2030-06-16t08:30:00z")?.toISOString(), "2030-06-16T08:30:00.000Z");
    assert.equal(parseHoldUntil("2030-06-16T10:30:00+02:00")?.toISOString(), "2030-06-16T08:30:00.000Z");
    assert.equal(parseHoldUntil("2030-06-16T03:00:00-05:30")?.toISOString(), "2030-06-16T08:30:00.000Z");
    assert.equal(parseHoldUntil("2030-06-16T08:30:00.25Z")?.toISOString(), "2030-06-16T08:30:00.250Z");
    assert.equal(parseHoldUntil("2030-06-30T23:59:60Z")?.toISOString(), "2030-07-01T00:00:00.000Z");
    assert.equal(parseHoldUntil("2032-02-29T00:00:00Z")?.toISOString(), "2032-02-29T00:00:00.000Z");
    for (const bad of [
      "2030-06-16 08:30:00Z",
      "2030-06-16T08:30Z",
      "2030-06-16T08:30:00",
      "2030-02-30T00:00:00Z",
      "2031-02-29T00:00:00Z",
      "2030-13-01T00:00:00Z",
      "2030-06-16T24:00:00Z",
      "2030-06-16T08:60:00Z",
      "2030-06-16T08:30:61Z",
      "2030-06-16T08:30:00+24:00",
      "2030-06-16T08:30:00+0200",
      "20300616T083000Z",
      "Sun, 16 Jun 2030 08:30:00 +0000",
    ]) {
      assert.equal(parseHoldUntil(bad), null, bad);
    }
  });

  test("holdRequest: the release time, none, or 501 5.5.4 for every value it will not honour", () => {
    assert.deepEqual(holdRequest(undefined, undefined, limits), { ok: true, until: null });
    assert.deepEqual(holdRequest("60", undefined, limits), {
      ok: true,
      until: new Date(NOW.getTime() + 60_000),
    });
    assert.deepEqual(holdRequest("0", undefined, limits), { ok: true, until: null });
    assert.deepEqual(holdRequest(undefined, "2030-06-16T00:00:00Z", limits), {
      ok: true,
      until: new Date("2030-06-16T00:00:00Z"),
    });
    const refusals: Array<[string | null | undefined, string | null | undefined, RegExp]> = [
      ["60", "2030-06-16T00:00:00Z", /cannot be used together/],
      [null, undefined, /number of seconds/],
      ["soon", undefined, /number of seconds/],
      [String(7 * 86_400 + 1), undefined, /longer than the 604800 seconds/],
      [undefined, null, /RFC 3339/],
      [undefined, "tomorrow", /RFC 3339/],
      [undefined, "2030-06-15T12:00:00Z", /not in the future/],
      [undefined, "2030-06-22T12:00:01Z", /later than 2030-06-22T12:00:00Z/],
    ];
    for (const [holdFor, holdUntil, text] of refusals) {
      const result = holdRequest(holdFor, holdUntil, limits);
      assert.equal(result.ok, false, `${holdFor} ${holdUntil}`);
      if (result.ok) continue;
      assert.equal(result.code, 501);
      assert.equal(result.enhanced, "5.5.4");
      assert.match(result.text, text);
    }
  });

  test("property: HOLDFOR accepts exactly the strings of 1 to 9 ASCII digits, with their value", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (text) => {
        const digits = /^[0-9]{1,9}$/.test(text);
        assert.equal(parseHoldFor(text), digits ? Number(text) : null);
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_INTERVAL_SECONDS }), (seconds) => {
        assert.equal(parseHoldFor(String(seconds)), seconds);
      }),
    );
  });

  test("property: any instant, written with any offset and case, reads back as that instant", () => {
    const instant = fc
      .integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(9998, 11, 31) })
      .map((ms) => Math.floor(ms / 1000) * 1000);
    const offset = fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 });
    fc.assert(
      fc.property(instant, offset, fc.boolean(), (ms, minutes, lower) => {
        const local = new Date(ms + minutes * 60_000).toISOString().slice(0, 19);
        const sign = minutes < 0 ? "-" : "+";
        const abs = Math.abs(minutes);
        const zone =
          minutes === 0 && lower
            ? "z"
            : `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
        const text = `${lower ? local.replace("T", "t") : local}${zone}`;
        assert.equal(parseHoldUntil(text)?.getTime(), ms, text);
      }),
    );
    fc.assert(
      fc.property(instant, (ms) => {
        assert.equal(parseHoldUntil(formatDateTime(new Date(ms)))?.getTime(), ms);
      }),
    );
  });

  test("property: text that is not a date-time is refused, never thrown on", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        const parsed = parseHoldUntil(text);
        if (parsed !== null) {
          assert.match(text, /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/);
          assert.ok(!Number.isNaN(parsed.getTime()));
        }
      }),
    );
  });

  test("property: an accepted hold is never in the past nor beyond the limit", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: MAX_INTERVAL_SECONDS }),
        fc.integer({ min: 1, max: 30 * 86_400 }),
        (seconds, maxSeconds) => {
          const result = holdRequest(String(seconds), undefined, { maxSeconds, now: NOW });
          if (seconds > maxSeconds) return assert.equal(result.ok, false);
          assert.ok(result.ok);
          if (result.until === null) return assert.equal(seconds, 0);
          assert.ok(result.until > NOW);
          assert.ok(result.until.getTime() <= NOW.getTime() + maxSeconds * 1000);
        },
      ),
    );
  });
});
