import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ClusterThrottle } from "../../src/auth/cluster-throttle.js";
import type { AuthFailureStore } from "../../src/store/types.js";

/** An in-memory shared log with the Store contract's semantics (the PostgreSQL one is tested there). */
function memoryLog() {
  const rows: Array<{ key: string; at: number }> = [];
  const log: AuthFailureStore = {
    async record(key, at, windowMs) {
      rows.push({ key, at: at.getTime() });
      const cutoff = at.getTime() - windowMs;
      return rows.filter((row) => row.key === key && row.at > cutoff).length;
    },
    async recent(key, since) {
      return rows.filter((row) => row.key === key && row.at > since.getTime()).length;
    },
  };
  return { log, rows };
}

function node(shared: AuthFailureStore | undefined, clock: { now: number }, errors: unknown[] = []) {
  const slept: number[] = [];
  const throttle = new ClusterThrottle({
    failureDelay: 100,
    maxFailuresPerIp: 3,
    failureWindow: 10_000,
    now: () => clock.now,
    sleep: async (ms) => {
      slept.push(ms);
    },
    ...(shared ? { shared } : {}),
    onSharedError: (error) => errors.push(error),
  });
  return { throttle, slept };
}

describe("ClusterThrottle", () => {
  it("counts failures made on other nodes: refusal and delay follow the larger count", async () => {
    const clock = { now: 1_000_000 };
    const { log, rows } = memoryLog();
    const a = node(log, clock);
    const b = node(log, clock);
    await a.throttle.penalize("203.0.113.9");
    await a.throttle.penalize("::ffff:203.0.113.9");
    assert.deepEqual(a.slept, [100, 200]);
    assert.deepEqual(
      rows.map((row) => row.key),
      ["203.0.113.9", "203.0.113.9"],
      "the shared log holds client keys",
    );
    assert.equal(await b.throttle.isThrottled("203.0.113.9"), false);
    // B has seen no failure itself, yet its delay is the third failure's.
    await b.throttle.penalize("203.0.113.9");
    assert.deepEqual(b.slept, [400]);
    assert.equal(await a.throttle.isThrottled("203.0.113.9"), true);
    assert.equal(await b.throttle.isThrottled("203.0.113.9"), true);
    assert.equal(await b.throttle.isThrottled("203.0.113.10"), false, "other clients are not affected");

    clock.now += 10_000;
    assert.equal(await a.throttle.isThrottled("203.0.113.9"), false, "the window has passed");
  });

  it("refuses on the local count alone without asking the shared log", async () => {
    const clock = { now: 5_000 };
    let reads = 0;
    const { log } = memoryLog();
    const counting: AuthFailureStore = {
      record: log.record,
      recent: async (key, since) => {
        reads++;
        return log.recent(key, since);
      },
    };
    const a = node(counting, clock);
    for (let i = 0; i < 3; i++) await a.throttle.penalize("198.51.100.4");
    assert.equal(await a.throttle.isThrottled("198.51.100.4"), true);
    assert.equal(reads, 0);
    assert.equal(await a.throttle.isThrottled("198.51.100.5"), false);
    assert.equal(reads, 1);
  });

  it("counts per node when the store offers no shared log", async () => {
    const clock = { now: 0 };
    const a = node(undefined, clock);
    const b = node(undefined, clock);
    for (let i = 0; i < 3; i++) await a.throttle.penalize("192.0.2.1");
    assert.equal(await a.throttle.isThrottled("192.0.2.1"), true);
    assert.equal(await b.throttle.isThrottled("192.0.2.1"), false);
  });

  it("falls back to the local count when a failure cannot be recorded, and reports it", async () => {
    const clock = { now: 0 };
    const errors: unknown[] = [];
    const broken: AuthFailureStore = {
      record: async () => {
        throw new Error("database unreachable");
      },
      recent: async () => 0,
    };
    const a = node(broken, clock, errors);
    await a.throttle.penalize("192.0.2.7");
    await a.throttle.penalize("192.0.2.7");
    assert.deepEqual(a.slept, [100, 200]);
    assert.equal(errors.length, 2);
    assert.match(String(errors[0]), /database unreachable/);
  });

  it("rejects when the shared count cannot be read", async () => {
    const failing: AuthFailureStore = {
      record: async () => 1,
      recent: async () => {
        throw new Error("database unreachable");
      },
    };
    const a = node(failing, { now: 0 });
    await assert.rejects(a.throttle.isThrottled("192.0.2.8"), /database unreachable/);
  });
});
