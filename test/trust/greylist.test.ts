// Greylisting's decision (trust/greylist.ts) without a store: first sighting deferred, a retry after
// the delay passes and is remembered, an early retry keeps its first sighting, expiry forgets; the
// client network of a triplet; networks in the configuration.

import assert from "node:assert/strict";
import { isIP } from "node:net";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  clientNetwork,
  decideGreylist,
  expandIpv6,
  parseNetwork,
  tripletKey,
} from "../../src/trust/greylist.js";

const settings = { delay: 300_000, expiry: 86_400_000 };
const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1) + seconds * 1000);

describe("decideGreylist", () => {
  test("a new triplet is deferred and recorded; a retry after the delay passes and stays passed", () => {
    const first = decideGreylist(undefined, at(0), settings);
    assert.equal(first.verdict, "defer");
    assert.equal(first.waitSeconds, 300);
    assert.deepEqual(first.record, { firstSeen: at(0), lastSeen: at(0), passed: false });
    const early = decideGreylist(first.record, at(60), settings);
    assert.equal(early.verdict, "defer");
    assert.equal(early.waitSeconds, 240);
    assert.deepEqual(early.record, { firstSeen: at(0), lastSeen: at(60), passed: false });
    const retry = decideGreylist(early.record, at(300), settings);
    assert.equal(retry.verdict, "pass");
    assert.deepEqual(retry.record, { firstSeen: at(0), lastSeen: at(300), passed: true });
    const later = decideGreylist(retry.record, at(80_000), settings);
    assert.equal(later.verdict, "pass");
  });

  test("a triplet not seen for longer than the expiry starts over", () => {
    const passed = { firstSeen: at(0), lastSeen: at(10), passed: true };
    const again = decideGreylist(passed, at(10 + 86_401), settings);
    assert.equal(again.verdict, "defer");
    assert.deepEqual(again.record, { firstSeen: at(10 + 86_401), lastSeen: at(10 + 86_401), passed: false });
  });

  test("a delay of 0 passes at once", () => {
    assert.equal(decideGreylist(undefined, at(0), { delay: 0, expiry: 1000 }).verdict, "pass");
  });

  test("property: a verdict never passes before the delay since the first sighting, unless already passed", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1_000 }), { minLength: 1, maxLength: 20 }), (gaps) => {
        let record: ReturnType<typeof decideGreylist>["record"] | undefined;
        let clock = 0;
        let firstSeen = 0;
        for (const gap of gaps) {
          clock += gap;
          const decision = decideGreylist(record, at(clock), settings);
          if (
            record === undefined ||
            clock * 1000 - record.lastSeen.getTime() + at(0).getTime() > settings.expiry
          )
            firstSeen = clock;
          if (decision.verdict === "pass") assert.ok(clock - firstSeen >= 300 || record?.passed);
          record = decision.record;
        }
      }),
    );
  });
});

describe("clientNetwork and tripletKey", () => {
  test("IPv4 /24, IPv6 /64, IPv4-mapped as IPv4, not an address is null", () => {
    assert.equal(clientNetwork("192.0.2.77"), "192.0.2.0/24");
    assert.equal(clientNetwork("2001:db8:1:2:3:4:5:6"), "2001:0db8:0001:0002::/64");
    assert.equal(clientNetwork("2001:db8::1"), "2001:0db8:0000:0000::/64");
    assert.equal(clientNetwork("::ffff:198.51.100.9"), "198.51.100.0/24");
    assert.equal(clientNetwork("mx.example.net"), null);
    assert.equal(
      tripletKey("192.0.2.0/24", "Alice@Example.NET", "bob@example.org"),
      "192.0.2.0/24 alice@example.net bob@example.org",
    );
  });

  test("property: expandIpv6 gives eight 4-digit groups that name the same address", () => {
    fc.assert(
      fc.property(fc.ipV6(), (address) => {
        const groups = expandIpv6(address);
        assert.equal(groups.length, 8);
        assert.ok(groups.every((group) => /^[0-9a-f]{4}$/.test(group)));
        const back = groups.join(":");
        assert.equal(isIP(back), 6);
        assert.deepEqual(expandIpv6(back), groups);
      }),
    );
  });
});

describe("parseNetwork", () => {
  test("CIDR and bare addresses are taken; anything else is refused", () => {
    assert.equal(parseNetwork("192.0.2.0/24")?.text, "192.0.2.0/24");
    assert.equal(parseNetwork("10.1.2.3")?.text, "10.1.2.3/32");
    assert.equal(parseNetwork("2001:db8::/32")?.family, "ipv6");
    assert.equal(parseNetwork("::1")?.prefix, 128);
    for (const bad of [
      "192.0.2.0/33",
      "2001:db8::/129",
      "example.org/24",
      "10.0.0.0/8/8",
      "10.0.0.0/x",
      "",
    ]) {
      assert.equal(parseNetwork(bad), null, bad);
    }
  });
});
