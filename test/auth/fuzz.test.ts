import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { createAuthenticator } from "../../src/auth/authenticator.js";
import type { SaslStep } from "../../src/auth/types.js";
import { authConfig, makeUser, REMOTE_TLS } from "./helpers.js";

// Every address resolves to a user with a cheap hash, so arbitrary input never costs a full scrypt.
const template = await makeUser(1, "x", "pw");
const auth = createAuthenticator({
  lookupUser: async (address) => ({ ...template, address }),
  config: authConfig({ maxFailuresPerIp: 1_000_000 }),
});

function isStep(step: SaslStep): boolean {
  return step.kind === "challenge" || step.kind === "success" || step.kind === "failure";
}

const bytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));
const text = fc.string({ unit: "binary", maxLength: 120 }).map((s) => Buffer.from(s, "utf8"));
const input = fc.oneof(bytes, text);

describe("arbitrary input into every mechanism", () => {
  for (const mechanism of ["PLAIN", "LOGIN", "SCRAM-SHA-256"]) {
    it(`${mechanism} answers with a step and never throws`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.option(input, { nil: null }),
          fc.array(input, { maxLength: 3 }),
          async (initial, rest) => {
            const exchange = auth.begin(mechanism, REMOTE_TLS);
            assert.ok(exchange);
            let step = await exchange.start(initial);
            assert.ok(isStep(step));
            for (const response of rest) {
              step = await exchange.next(response);
              assert.ok(isStep(step));
            }
            // Random bytes never prove knowledge of the password.
            assert.notEqual(step.kind, "success");
          },
        ),
        { numRuns: 150 },
      );
    });
  }

  it("SCRAM survives arbitrary client-final messages after a valid client-first", async () => {
    await fc.assert(
      fc.asyncProperty(input, async (final) => {
        const exchange = auth.begin("SCRAM-SHA-256", REMOTE_TLS)!;
        const first = await exchange.start(Buffer.from("n,,n=a@b.example,r=abcdef"));
        assert.equal(first.kind, "challenge");
        const step = await exchange.next(final);
        assert.equal(step.kind, "failure");
      }),
      { numRuns: 150 },
    );
  });
});
