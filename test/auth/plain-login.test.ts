import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createAuthenticator } from "../../src/auth/authenticator.js";
import { MAX_RESPONSE_BYTES } from "../../src/auth/sasl/exchange.js";
import { plainInitialResponse } from "../../src/auth/sasl/scram-client.js";
import type { SaslExchange } from "../../src/auth/types.js";
import {
  assertChallenge,
  assertFailure,
  assertSuccess,
  authConfig,
  makeUser,
  REMOTE_TLS,
  userDirectory,
} from "./helpers.js";

const users = [await makeUser(1, "alice@example.org", "s3cret")];
const authenticator = createAuthenticator({ lookupUser: userDirectory(users), config: authConfig() });

function begin(mechanism: string): SaslExchange {
  const exchange = authenticator.begin(mechanism, REMOTE_TLS);
  assert.ok(exchange);
  return exchange;
}

const plain = (text: string) => Buffer.from(text, "utf8");

describe("PLAIN", () => {
  it("authenticates with an initial response, any case of the address", async () => {
    assertSuccess(
      await begin("PLAIN").start(plainInitialResponse("Alice@Example.org", "s3cret")),
      "alice@example.org",
    );
  });

  it("sends an empty challenge without an initial response, then authenticates", async () => {
    const exchange = begin("plain");
    assert.equal(exchange.mechanism, "PLAIN");
    assert.equal(assertChallenge(await exchange.start(null)).length, 0);
    assertSuccess(await exchange.next(plain("\0alice@example.org\0s3cret")), "alice@example.org");
  });

  it("accepts an authzid equal to the authcid and refuses another", async () => {
    assertSuccess(
      await begin("PLAIN").start(plain("alice@example.org\0alice@example.org\0s3cret")),
      "alice@example.org",
    );
    assertFailure(
      await begin("PLAIN").start(plain("bob@example.org\0alice@example.org\0s3cret")),
      "bad-credentials",
    );
  });

  it("applies SASLprep to the name and password (RFC 4013 §3: a soft hyphen maps to nothing)", async () => {
    assertSuccess(
      await begin("PLAIN").start(plain("\0ali\u00ADce@example.org\0s3\u00ADcret")),
      "alice@example.org",
    );
    assertFailure(await begin("PLAIN").start(plain("\0alice@example.org\0s3cret\u0007")), "bad-credentials");
  });

  it("fails a wrong password and an unknown user alike", async () => {
    assertFailure(await begin("PLAIN").start(plain("\0alice@example.org\0S3cret")), "bad-credentials");
    assertFailure(await begin("PLAIN").start(plain("\0nobody@example.org\0s3cret")), "bad-credentials");
  });

  it("answers malformed messages with malformed", async () => {
    const cases = [
      Buffer.alloc(0),
      plain("alice@example.org s3cret"),
      plain("alice@example.org\0s3cret"),
      plain("\0alice@example.org\0s3cret\0"),
      plain("\0\0s3cret"),
      plain("\0alice@example.org\0"),
      Buffer.from([0, 0x61, 0, 0xc3, 0x28]),
      Buffer.alloc(MAX_RESPONSE_BYTES + 1, 0x61),
    ];
    for (const bytes of cases) {
      assertFailure(await begin("PLAIN").start(bytes), "malformed");
    }
  });

  it("fails any step after the exchange ended", async () => {
    const exchange = begin("PLAIN");
    assertSuccess(
      await exchange.start(plainInitialResponse("alice@example.org", "s3cret")),
      "alice@example.org",
    );
    assertFailure(await exchange.next(plainInitialResponse("alice@example.org", "s3cret")), "malformed");
  });

  it("fails next() before start()", async () => {
    assertFailure(
      await begin("PLAIN").next(plainInitialResponse("alice@example.org", "s3cret")),
      "malformed",
    );
  });
});

describe("LOGIN", () => {
  it("asks Username: then Password: and authenticates", async () => {
    const exchange = begin("LOGIN");
    assertChallenge(await exchange.start(null), "Username:");
    assertChallenge(await exchange.next(plain("alice@example.org")), "Password:");
    assertSuccess(await exchange.next(plain("s3cret")), "alice@example.org");
  });

  it("takes the user name as an initial response", async () => {
    const exchange = begin("LOGIN");
    assertChallenge(await exchange.start(plain("ALICE@example.org")), "Password:");
    assertSuccess(await exchange.next(plain("s3cret")), "alice@example.org");
  });

  it("applies SASLprep to the name and password (RFC 4013 §3: a soft hyphen maps to nothing)", async () => {
    assertSuccess(
      await begin("PLAIN").start(plain("\0ali\u00ADce@example.org\0s3\u00ADcret")),
      "alice@example.org",
    );
    assertFailure(await begin("PLAIN").start(plain("\0alice@example.org\0s3cret\u0007")), "bad-credentials");
  });

  it("fails a wrong password and an unknown user alike", async () => {
    for (const [user, pass] of [
      ["alice@example.org", "nope"],
      ["nobody@example.org", "s3cret"],
    ] as const) {
      const exchange = begin("LOGIN");
      assertChallenge(await exchange.start(plain(user)), "Password:");
      assertFailure(await exchange.next(plain(pass)), "bad-credentials");
    }
  });

  it("answers empty, NUL-bearing or non-UTF-8 answers with malformed", async () => {
    assertFailure(await begin("LOGIN").start(Buffer.alloc(0)), "malformed");
    assertFailure(await begin("LOGIN").start(Buffer.from([0xff])), "malformed");
    const exchange = begin("LOGIN");
    assertChallenge(await exchange.start(plain("alice@example.org")), "Password:");
    assertFailure(await exchange.next(plain("s3\0cret")), "malformed");
  });
});
