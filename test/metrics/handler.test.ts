// The metrics listener's three paths over a real socket, with a store whose answer the test controls:
// /readyz is 503 when the store query fails or outlasts metrics.ready_timeout, and says which.

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import pino from "pino";
import { createMetricsHandler } from "../../src/metrics/handler.js";
import { createMetrics } from "../../src/metrics/metrics.js";
import type { QueueStats } from "../../src/store/queue.js";
import { listenOnLoopback } from "../support/listen.js";
import { parseExposition, sampleValue } from "../support/prometheus.js";

describe("metrics listener", async () => {
  let answer: () => Promise<QueueStats> = async () => ({
    size: 3,
    oldestCreatedAt: new Date(Date.now() - 60_000),
  });
  const metrics = createMetrics();
  const store = { queue: { stats: () => answer() } };
  metrics.watchQueue(store.queue);
  const handler = createMetricsHandler({
    metrics,
    store,
    readyTimeoutMs: 200,
    logger: pino({ level: "silent" }),
  });
  const served = await listenOnLoopback(handler, "metrics");
  const url = (path: string) => `http://127.0.0.1:${served.port}${path}`;
  after(() => served.close());

  test("/metrics is text exposition 0.0.4 with the queue read at the scrape", async () => {
    const response = await fetch(url("/metrics"));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const families = parseExposition(await response.text());
    assert.equal(sampleValue(families, "mailroom_queue_size"), 3);
    const age = sampleValue(families, "mailroom_queue_oldest_age_seconds");
    assert.ok(age >= 60 && age < 120, `oldest age ${age}`);
    assert.equal(sampleValue(families, "mailroom_delivery_attempts_total", { result: "bounced" }), 0);
  });

  test("/healthz and /readyz while the store answers", async () => {
    assert.equal((await fetch(url("/healthz"))).status, 200);
    const ready = await fetch(url("/readyz"));
    assert.equal(ready.status, 200);
    assert.equal(await ready.text(), "ready\n");
  });

  test("/readyz is 503 when the store query fails, and when it hangs past the timeout", async () => {
    answer = () => Promise.reject(new Error("connection refused"));
    const failed = await fetch(url("/readyz"));
    assert.equal(failed.status, 503);
    assert.match(await failed.text(), /^not ready: the store query failed/);
    answer = () => new Promise(() => {});
    const started = Date.now();
    const hung = await fetch(url("/readyz"));
    assert.equal(hung.status, 503);
    assert.match(await hung.text(), /did not answer within 200 ms/);
    assert.ok(Date.now() - started < 5_000);
    assert.equal((await fetch(url("/healthz"))).status, 200, "liveness does not depend on the store");
    // The scrape still answers: the failed collector leaves the queue gauges at their last values.
    const families = parseExposition(await (await fetch(url("/metrics"))).text().catch(() => ""));
    assert.equal(sampleValue(families, "mailroom_queue_size"), 3);
  });

  test("other paths and methods are refused with what is served", async () => {
    const missing = await fetch(url("/"));
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /serves \/metrics, \/healthz and \/readyz/);
    const post = await fetch(url("/metrics"), { method: "POST", body: "x" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
  });
});
