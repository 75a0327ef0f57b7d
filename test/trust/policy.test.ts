import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type AuthenticationFacts, decide, type TrustPolicy } from "../../src/trust/policy.js";

const policy: TrustPolicy = { enforceDmarc: true, trustedArcSealers: ["lists.example"] };
const never = () => 0;
const failing = (p: string, pct = 100, arc: AuthenticationFacts["arc"] = null): AuthenticationFacts => ({
  dmarc: { result: "fail", policy: p, pct },
  arc,
});

describe("trust policy", () => {
  test("DMARC fail with p=reject: 550 5.7.1", () => {
    const verdict = decide(failing("reject"), policy, never);
    assert.equal(verdict.kind, "reject");
    assert.deepEqual(verdict.kind === "reject" && [verdict.code, verdict.enhanced], [550, "5.7.1"]);
  });

  test("DMARC fail with p=quarantine: Junk; p=none: taken", () => {
    assert.deepEqual(decide(failing("quarantine"), policy, never), {
      kind: "accept",
      junk: true,
      reason: "DMARC fail with p=quarantine",
    });
    assert.deepEqual(decide(failing("none"), policy, never), { kind: "accept", junk: false, reason: null });
  });

  test("DMARC pass, no DMARC, or enforcement off: taken as is (a bare SPF fail is only recorded)", () => {
    const accept = { kind: "accept", junk: false, reason: null };
    assert.deepEqual(
      decide({ dmarc: { result: "pass", policy: "reject", pct: 100 }, arc: null }, policy, never),
      accept,
    );
    assert.deepEqual(decide({ dmarc: null, arc: null }, policy, never), accept);
    assert.deepEqual(decide(failing("reject"), { ...policy, enforceDmarc: false }, never), accept);
  });

  test("a valid ARC chain sealed by a trusted forwarder overrides; untrusted or broken ones do not", () => {
    const trusted = decide(
      failing("reject", 100, { result: "pass", sealer: "Lists.Example" }),
      policy,
      never,
    );
    assert.equal(trusted.kind === "accept" && trusted.junk, false);
    assert.equal(
      decide(failing("reject", 100, { result: "pass", sealer: "evil.example" }), policy, never).kind,
      "reject",
    );
    assert.equal(
      decide(failing("reject", 100, { result: "fail", sealer: "lists.example" }), policy, never).kind,
      "reject",
    );
  });

  test("pct= outside the sample takes the next lower policy (RFC 7489 §6.6.4)", () => {
    assert.equal(decide(failing("reject", 10), policy, () => 0.5).kind, "accept");
    const lowered = decide(failing("reject", 10), policy, () => 0.5);
    assert.equal(lowered.kind === "accept" && lowered.junk, true);
    assert.equal(decide(failing("reject", 10), policy, () => 0.05).kind, "reject");
  });
});
