// Requests per client IP: a burst up to the per-minute allowance, then the refill rate, per address.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createRateLimiter } from "../../src/http/rate-limit.js";

describe("per-IP request limit", () => {
  it("lets a burst of the allowance through, then says how long to wait, and refills over time", () => {
    const clock = { now: 0 };
    const limiter = createRateLimiter(60, () => clock.now);
    for (let i = 0; i < 60; i++) assert.equal(limiter.take("192.0.2.1"), 0);
    const wait = limiter.take("192.0.2.1");
    assert.ok(wait > 0 && wait <= 1000, `waits about a second, got ${wait}`);
    assert.equal(limiter.take("192.0.2.2"), 0, "another address has its own allowance");
    clock.now += 1000;
    assert.equal(limiter.take("192.0.2.1"), 0, "one request a second refills");
    assert.ok(limiter.take("192.0.2.1") > 0);
    clock.now += 120_000;
    for (let i = 0; i < 60; i++) assert.equal(limiter.take("192.0.2.1"), 0, "full again after idling");
  });
});
