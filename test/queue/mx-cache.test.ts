// The MX lookup's answer cache, against the loopback DNS server (which gives every record a TTL of 60 s)
// and a clock the tests move by hand.

import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { createMxLookup, DNS_CACHE_DEFAULTS, type DnsCacheOptions, RouteError } from "../../src/queue/mx.js";
import { startTestDns, type TestDns, type TestDnsRecords } from "../support/dns.js";

const RECORDS: TestDnsRecords = {
  "remote.test": { mx: [{ preference: 10, exchange: "mx.remote.test" }] },
  "mx.remote.test": { a: ["192.0.2.10"] },
  "other.test": { mx: [{ preference: 10, exchange: "mx.other.test" }] },
  "mx.other.test": { a: ["192.0.2.20"], aaaa: ["2001:db8::20"] },
  "broken.test": { servfail: true },
};

const RECORD_TTL = 60_000;

describe("MX lookup cache", () => {
  let dns: TestDns;
  let clock: number;

  before(async () => {
    dns = await startTestDns(RECORDS);
  });
  after(() => dns.close());
  beforeEach(() => {
    dns.set(RECORDS);
    clock = 1_000_000;
  });

  const lookup = (cache: DnsCacheOptions = {}) =>
    createMxLookup({ server: `${dns.address}:${dns.port}`, cache, now: () => clock });

  /** What the server was asked while `run` ran. */
  async function queriesDuring(run: () => Promise<unknown>): Promise<string[]> {
    const before = dns.queries().length;
    await run();
    return dns.queries().slice(before);
  }

  async function routeError(run: () => Promise<unknown>): Promise<RouteError> {
    try {
      await run();
    } catch (err) {
      assert.ok(err instanceof RouteError, String(err));
      return err;
    }
    assert.fail("the lookup succeeded");
  }

  test("a second lookup within the TTL asks nothing; the answer is the same", async () => {
    const resolve = lookup();
    let first: unknown;
    const asked = await queriesDuring(async () => {
      first = await resolve("remote.test");
    });
    assert.deepEqual(asked.sort(), ["A mx.remote.test", "AAAA mx.remote.test", "MX remote.test"]);
    let second: unknown;
    assert.deepEqual(
      await queriesDuring(async () => {
        second = await resolve("REMOTE.test");
      }),
      [],
    );
    assert.deepEqual(second, first);
    assert.deepEqual(first, [{ name: "mx.remote.test", preference: 10, addresses: ["192.0.2.10"] }]);
  });

  test("after an address record's TTL it is asked again; the MX answer lasts its own fixed time", async () => {
    const resolve = lookup();
    await resolve("other.test");
    clock += RECORD_TTL + 1;
    assert.deepEqual((await queriesDuring(() => resolve("other.test"))).sort(), [
      "A mx.other.test",
      "AAAA mx.other.test",
    ]);
    clock += DNS_CACHE_DEFAULTS.mxTtl;
    assert.ok((await queriesDuring(() => resolve("other.test"))).includes("MX other.test"));
  });

  test("a changed record is seen once the cached answer expires", async () => {
    const resolve = lookup();
    assert.deepEqual((await resolve("remote.test"))[0]?.addresses, ["192.0.2.10"]);
    dns.set({ ...RECORDS, "mx.remote.test": { a: ["192.0.2.99"] } });
    assert.deepEqual((await resolve("remote.test"))[0]?.addresses, ["192.0.2.10"], "still cached");
    clock += RECORD_TTL + 1;
    assert.deepEqual((await resolve("remote.test"))[0]?.addresses, ["192.0.2.99"]);
  });

  test("NXDOMAIN is cached briefly", async () => {
    const resolve = lookup({ negativeTtl: 5_000 });
    const first = await routeError(() => resolve("missing.test"));
    assert.equal(first.permanent, true);
    assert.deepEqual(await queriesDuring(() => routeError(() => resolve("missing.test"))), []);
    clock += 5_001;
    assert.deepEqual(await queriesDuring(() => routeError(() => resolve("missing.test"))), [
      "MX missing.test",
    ]);
  });

  test("SERVFAIL is not cached: every lookup asks again", async () => {
    const resolve = lookup();
    const first = await routeError(() => resolve("broken.test"));
    assert.equal(first.permanent, false);
    const again = await queriesDuring(() => routeError(() => resolve("broken.test")));
    assert.ok(again.includes("MX broken.test"), `asked: ${again.join(", ")}`);
  });

  test("concurrent lookups of one domain share one set of queries", async () => {
    const resolve = lookup();
    const asked = await queriesDuring(() => Promise.all([resolve("other.test"), resolve("other.test")]));
    assert.equal(asked.filter((query) => query === "MX other.test").length, 1);
    assert.equal(asked.filter((query) => query === "A mx.other.test").length, 1);
  });

  test("the cache is bounded: the least recently used answer is forgotten first", async () => {
    // Three entries: room for one domain's MX, A and AAAA answers.
    const resolve = lookup({ maxEntries: 3 });
    await resolve("remote.test");
    await resolve("other.test");
    const asked = await queriesDuring(() => resolve("remote.test"));
    assert.ok(asked.includes("MX remote.test"), "remote.test was evicted by other.test");
    assert.deepEqual(await queriesDuring(() => resolve("remote.test")), []);
  });

  test("no answer outlives maxTtl", async () => {
    const resolve = lookup({ maxTtl: 1_000 });
    await resolve("remote.test");
    clock += 1_001;
    assert.equal((await queriesDuring(() => resolve("remote.test"))).length, 3);
  });
});
