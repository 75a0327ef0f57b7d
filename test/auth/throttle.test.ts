import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clientKey, FailureThrottle } from "../../src/auth/throttle.js";

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe("FailureThrottle", () => {
  it("doubles the delay per recent failure, capped at 10×", () => {
    const c = clock();
    const throttle = new FailureThrottle({
      failureDelay: 100,
      maxFailuresPerIp: 20,
      failureWindow: 60_000,
      now: c.now,
    });
    const delays = Array.from({ length: 7 }, () => throttle.recordFailure("192.0.2.1"));
    assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000, 1000]);
    assert.equal(throttle.recordFailure("192.0.2.2"), 100, "other clients are not affected");
  });

  it("refuses a client past the limit until its failures leave the sliding window", () => {
    const c = clock();
    const throttle = new FailureThrottle({
      failureDelay: 0,
      maxFailuresPerIp: 3,
      failureWindow: 10_000,
      now: c.now,
    });
    throttle.recordFailure("192.0.2.1");
    c.advance(4000);
    throttle.recordFailure("192.0.2.1");
    assert.equal(throttle.isThrottled("192.0.2.1"), false);
    throttle.recordFailure("192.0.2.1");
    assert.equal(throttle.isThrottled("192.0.2.1"), true);
    assert.equal(throttle.isThrottled("192.0.2.9"), false);
    c.advance(5999);
    assert.equal(throttle.isThrottled("192.0.2.1"), true);
    c.advance(1); // the first failure is now 10 s old
    assert.equal(throttle.isThrottled("192.0.2.1"), false);
    assert.equal(throttle.recentFailures("192.0.2.1"), 2);
    c.advance(10_000);
    assert.equal(throttle.recentFailures("192.0.2.1"), 0);
    assert.equal(throttle.trackedClients, 0, "expired clients are forgotten");
  });

  it("waits out the delay through the injected sleep", async () => {
    const slept: number[] = [];
    const throttle = new FailureThrottle({
      failureDelay: 250,
      maxFailuresPerIp: 10,
      failureWindow: 60_000,
      now: clock().now,
      sleep: async (ms) => {
        slept.push(ms);
      },
    });
    await throttle.penalize("192.0.2.1");
    await throttle.penalize("192.0.2.1");
    assert.deepEqual(slept, [250, 500]);
  });

  it("remembers at most maxTrackedClients, forgetting the least recently failing", () => {
    const c = clock();
    const throttle = new FailureThrottle({
      failureDelay: 0,
      maxFailuresPerIp: 2,
      failureWindow: 60_000,
      maxTrackedClients: 3,
      now: c.now,
    });
    for (const ip of ["192.0.2.1", "192.0.2.2", "192.0.2.3"]) {
      throttle.recordFailure(ip);
      throttle.recordFailure(ip);
      c.advance(1);
    }
    throttle.recordFailure("192.0.2.4");
    assert.equal(throttle.trackedClients, 3);
    assert.equal(throttle.isThrottled("192.0.2.1"), false, "oldest was dropped");
    assert.equal(throttle.isThrottled("192.0.2.2"), true);
    assert.equal(throttle.isThrottled("192.0.2.3"), true);
  });

  it("keeps at most maxFailuresPerIp timestamps per client", () => {
    const c = clock();
    const throttle = new FailureThrottle({
      failureDelay: 1,
      maxFailuresPerIp: 3,
      failureWindow: 60_000,
      now: c.now,
    });
    for (let i = 0; i < 50; i++) throttle.recordFailure("192.0.2.1");
    assert.equal(throttle.recentFailures("192.0.2.1"), 3);
  });

  it("counts IPv4-mapped addresses as IPv4 and IPv6 per /64", () => {
    assert.equal(clientKey("::ffff:192.0.2.1"), "192.0.2.1");
    assert.equal(clientKey("192.0.2.1"), "192.0.2.1");
    assert.equal(clientKey("2001:db8:1:2:aaaa::1"), clientKey("2001:DB8:1:2::ffff"));
    assert.notEqual(clientKey("2001:db8:1:2::1"), clientKey("2001:db8:1:3::1"));
    assert.equal(clientKey("2001:db8::1"), "2001:db8:0:0::/64");
    const c = clock();
    const throttle = new FailureThrottle({
      failureDelay: 0,
      maxFailuresPerIp: 2,
      failureWindow: 60_000,
      now: c.now,
    });
    throttle.recordFailure("2001:db8:1:2::10");
    throttle.recordFailure("2001:db8:1:2::20");
    assert.equal(throttle.isThrottled("2001:db8:1:2::30"), true);
  });
});
