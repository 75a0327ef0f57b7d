// The registry's exposition read back by the strict parser the integration tests use: types, label
// escaping (for any string, by property), histogram buckets, the series cap.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { imapCommandLabel, pop3CommandLabel, refusalReason } from "../../src/metrics/metrics.js";
import { MAX_SERIES_PER_METRIC, Registry } from "../../src/metrics/registry.js";
import { parseExposition, sampleValue } from "../support/prometheus.js";

describe("registry exposition", () => {
  test("counters, gauges and histograms read back with HELP, TYPE and their values", async () => {
    const registry = new Registry();
    const counter = registry.counter("t_events_total", "Events.\nSecond line with a \\ backslash.", ["kind"]);
    const gauge = registry.gauge("t_open", "Open things.");
    const histogram = registry.histogram("t_seconds", "Durations.", ["op"], [0.1, 1, 10]);
    counter.inc({ kind: "a" });
    counter.inc({ kind: "a" }, 2);
    counter.inc({ kind: "b" });
    gauge.inc();
    gauge.inc();
    gauge.dec();
    for (const value of [0.05, 0.1, 0.5, 5, 50]) histogram.observe({ op: "x" }, value);
    const text = await registry.expose();
    const families = parseExposition(text);
    assert.equal(families.get("t_events_total")?.type, "counter");
    assert.equal(families.get("t_events_total")?.help, "Events.\nSecond line with a \\ backslash.");
    assert.equal(sampleValue(families, "t_events_total", { kind: "a" }), 3);
    assert.equal(sampleValue(families, "t_events_total", { kind: "b" }), 1);
    assert.equal(sampleValue(families, "t_open"), 1);
    assert.equal(sampleValue(families, "t_seconds_bucket", { op: "x", le: "0.1" }), 2, "le is inclusive");
    assert.equal(sampleValue(families, "t_seconds_bucket", { op: "x", le: "1" }), 3);
    assert.equal(sampleValue(families, "t_seconds_bucket", { op: "x", le: "10" }), 4);
    assert.equal(sampleValue(families, "t_seconds_bucket", { op: "x", le: "+Inf" }), 5);
    assert.equal(sampleValue(families, "t_seconds_count", { op: "x" }), 5);
    assert.ok(Math.abs(sampleValue(families, "t_seconds_sum", { op: "x" }) - 55.65) < 1e-9);
  });

  test("any label value survives escaping", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: "binary" }), { minLength: 1, maxLength: 5 }),
        async (values) => {
          const registry = new Registry();
          const counter = registry.counter("t_total", "T.", ["value"]);
          for (const value of values) counter.inc({ value });
          const families = parseExposition(await registry.expose());
          const seen = new Set(families.get("t_total")?.samples.map((sample) => sample.labels.value));
          assert.deepEqual(seen, new Set(values));
        },
      ),
    );
  });

  test("past the series cap new label sets fold into one overflow series", async () => {
    const registry = new Registry();
    const counter = registry.counter("t_total", "T.", ["who"]);
    for (let i = 0; i < MAX_SERIES_PER_METRIC + 50; i++) counter.inc({ who: `client-${i}` });
    const family = parseExposition(await registry.expose()).get("t_total");
    assert.equal(family?.samples.length, MAX_SERIES_PER_METRIC + 1);
    assert.equal(sampleValue(new Map([["t_total", family!]]), "t_total", { who: "overflow" }), 50);
  });

  test("bad names and a falling counter are programming errors", () => {
    const registry = new Registry();
    assert.throws(() => registry.counter("bad-name", "x"), /invalid metric name/);
    assert.throws(() => registry.histogram("t_h", "x", ["le"]), /invalid label name/);
    registry.counter("t_c", "x");
    assert.throws(() => registry.counter("t_c", "x"), /registered twice/);
    assert.throws(() => registry.counter("t_d", "x").inc(undefined, -1), /only goes up/);
  });

  test("a failing collector is reported and the rest is still exposed", async () => {
    const registry = new Registry();
    const gauge = registry.gauge("t_g", "G.");
    gauge.set(undefined, 7);
    registry.collect(() => {
      throw new Error("store down");
    });
    const errors: unknown[] = [];
    const families = parseExposition(await registry.expose((error) => errors.push(error)));
    assert.equal(errors.length, 1);
    assert.equal(sampleValue(families, "t_g"), 7);
  });
});

describe("bounded labels", () => {
  test("IMAP and POP3 command names come from the protocol's vocabulary", () => {
    assert.equal(imapCommandLabel("a1 LOGIN bob pw"), "LOGIN");
    assert.equal(imapCommandLabel("a2 uid fetch 1:* FLAGS"), "UID FETCH");
    assert.equal(imapCommandLabel("a3 XYZZY-${RANDOM}"), "other");
    assert.equal(imapCommandLabel(""), "other");
    assert.equal(pop3CommandLabel("retr 1"), "RETR");
    assert.equal(pop3CommandLabel("\u0000\u00ff"), "other");
  });

  test("SMTP refusal reasons are RFC 3463 subjects", () => {
    assert.equal(refusalReason("5.1.1"), "addressing");
    assert.equal(refusalReason("5.7.1"), "security-policy");
    assert.equal(refusalReason("4.3.0"), "mail-system");
    assert.equal(refusalReason("5.9.9"), "unspecified");
    assert.equal(refusalReason(null), "unspecified");
  });
});
