// App tokens: their form, and checking them through the authenticator (policy, owner, throttle).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createAuthenticator } from "../../src/auth/authenticator.js";
import { newToken, parseToken, secretMatches } from "../../src/auth/tokens.js";
import {
  assertFailure,
  assertSuccess,
  authConfig,
  LOOPBACK,
  makeUser,
  REMOTE,
  REMOTE_TLS,
  userDirectory,
} from "./helpers.js";

const alice = await makeUser(7, "alice@example.org", "s3cret");
const bob = await makeUser(8, "bob@example.org", "hunter22");

describe("app tokens", () => {
  it("a new token parses back to its id, and only its own secret matches the stored hash", () => {
    const made = newToken();
    const parsed = parseToken(made.token);
    assert.equal(parsed?.id, made.id);
    assert.ok(secretMatches(parsed?.secret ?? "", made.secretHash));
    assert.ok(!secretMatches(parseToken(newToken().token)?.secret ?? "", made.secretHash));
    assert.ok(!made.secretHash.includes(parsed?.secret ?? "?"), "the hash does not contain the secret");
    for (const text of ["", "mrt_", `${made.token}x`, made.token.replace("mrt_", "mrx_"), "s3cret"]) {
      assert.equal(parseToken(text), null, text);
    }
  });

  function setup(overrides = {}) {
    const token = newToken();
    const slept: number[] = [];
    const auth = createAuthenticator({
      lookupUser: userDirectory([alice, bob]),
      lookupToken: async (id) => (id === token.id ? { user: alice, secretHash: token.secretHash } : null),
      config: authConfig(overrides),
      sleep: async (ms) => {
        slept.push(ms);
      },
    });
    return { auth, token, slept };
  }

  it("accepts its owner's token, as Bearer or with the owner's name (Basic), and refuses it for another name", async () => {
    const { auth, token } = setup();
    assertSuccess(await auth.verifyToken(token.token, REMOTE_TLS), "alice@example.org");
    assertSuccess(await auth.verifyToken(token.token, REMOTE_TLS, "Alice@Example.org"), "alice@example.org");
    assertFailure(await auth.verifyToken(token.token, REMOTE_TLS, "bob@example.org"), "bad-credentials");
  });

  it("refuses a wrong secret, an unknown id, and a text that is no token, each counted as a failure", async () => {
    const { auth, token, slept } = setup({ failureDelay: 10 });
    const wrongSecret = `${token.token.slice(0, -4)}AAAA`;
    assertFailure(await auth.verifyToken(wrongSecret, REMOTE_TLS), "bad-credentials");
    assertFailure(await auth.verifyToken(newToken().token, REMOTE_TLS), "bad-credentials");
    assertFailure(await auth.verifyToken("garbage", REMOTE_TLS), "bad-credentials");
    assert.equal(slept.length, 3, "every failure waits out the throttle delay");
  });

  it("follows the listener's policy: not in cleartext from elsewhere, yes from loopback", async () => {
    const { auth, token } = setup();
    assertFailure(await auth.verifyToken(token.token, REMOTE), "unavailable");
    assertSuccess(await auth.verifyToken(token.token, LOOPBACK), "alice@example.org");
  });

  it("shares the password throttle: after the failure limit even the right token is refused", async () => {
    const { auth, token } = setup({ maxFailuresPerIp: 2 });
    assertFailure(await auth.verifyPassword("alice@example.org", "wrong", REMOTE_TLS), "bad-credentials");
    assertFailure(await auth.verifyToken("mrt_nothing", REMOTE_TLS), "bad-credentials");
    assertFailure(await auth.verifyToken(token.token, REMOTE_TLS), "throttled");
    assertFailure(await auth.verifyPassword("alice@example.org", "s3cret", REMOTE_TLS), "throttled");
  });

  it("is taken as a password (IMAP LOGIN, POP3 PASS) and in SASL PLAIN, for its owner only", async () => {
    const { auth, token } = setup();
    assertSuccess(
      await auth.verifyPassword("alice@example.org", token.token, REMOTE_TLS),
      "alice@example.org",
    );
    assertFailure(await auth.verifyPassword("bob@example.org", token.token, REMOTE_TLS), "bad-credentials");
    const plain = auth.begin("PLAIN", REMOTE_TLS);
    assert.ok(plain);
    assertSuccess(await plain.start(Buffer.from(`\0alice@example.org\0${token.token}`)), "alice@example.org");
    // Only the whole form counts: a password that merely starts like a token is a password.
    assertFailure(
      await auth.verifyPassword("alice@example.org", "mrt_s3cret", REMOTE_TLS),
      "bad-credentials",
    );
  });
});
