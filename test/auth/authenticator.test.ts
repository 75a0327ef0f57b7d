import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createAuthenticator } from "../../src/auth/authenticator.js";
import { type AuthPolicy, authRefusal, isLoopback } from "../../src/auth/policy.js";
import { plainInitialResponse, scramClient } from "../../src/auth/sasl/scram-client.js";
import { parseScramVerifier } from "../../src/auth/scram-verifier.js";
import { newToken } from "../../src/auth/tokens.js";
import { StoreError } from "../../src/store/types.js";
import {
  assertChallenge,
  assertFailure,
  assertSuccess,
  authConfig,
  captureLogger,
  LOOPBACK,
  makeUser,
  REMOTE,
  REMOTE_TLS,
  userDirectory,
} from "./helpers.js";

const users = [await makeUser(7, "alice@example.org", "s3cret")];
const lookupUser = userDirectory(users);

describe("mechanisms and the listener's policy", () => {
  const auth = createAuthenticator({ lookupUser, config: authConfig() });
  const ALL = ["SCRAM-SHA-256", "PLAIN", "LOGIN"];
  const context = (policy: AuthPolicy, remoteAddress: string, secure: boolean) => ({
    policy,
    remoteAddress,
    secure,
  });

  it("offers every mechanism where the policy allows authentication, and none (not even SCRAM) elsewhere", () => {
    const cases: Array<[AuthPolicy, string, boolean, string[]]> = [
      ["off", "203.0.113.7", true, []],
      ["off", "127.0.0.1", false, []],
      ["tls", "127.0.0.1", false, []],
      ["tls", "203.0.113.7", false, []],
      ["tls", "127.0.0.1", true, ALL],
      ["tls-or-loopback", "203.0.113.7", false, []],
      ["tls-or-loopback", "127.0.0.1", false, ALL],
      ["tls-or-loopback", "::1", false, ALL],
      ["tls-or-loopback", "203.0.113.7", true, ALL],
      ["any", "203.0.113.7", false, ALL],
    ];
    for (const [policy, address, secure, expected] of cases) {
      assert.deepEqual(
        auth.mechanisms(context(policy, address, secure)),
        expected,
        `${policy} ${address} ${secure}`,
      );
      assert.equal(
        auth.begin("SCRAM-SHA-256", context(policy, address, secure)) !== null,
        expected.length > 0,
      );
    }
  });

  it("names why it refuses: turned off, or TLS first", () => {
    assert.equal(authRefusal(context("off", "127.0.0.1", true)), "disabled");
    assert.equal(authRefusal(context("tls", "127.0.0.1", false)), "needs-tls");
    assert.equal(authRefusal(context("tls-or-loopback", "10.0.0.1", false)), "needs-tls");
    assert.equal(authRefusal(context("any", "10.0.0.1", false)), null);
  });

  it("recognises loopback addresses", () => {
    for (const a of ["127.0.0.1", "127.10.20.30", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"]) {
      assert.equal(isLoopback(a), true, a);
      assert.equal(authRefusal(context("tls-or-loopback", a, false)), null, a);
    }
    for (const a of ["128.0.0.1", "10.0.0.1", "::2", "::ffff:10.0.0.1", "fe80::1", "localhost", ""]) {
      assert.equal(isLoopback(a), false, a);
      assert.equal(authRefusal(context("tls-or-loopback", a, false)), "needs-tls", a);
    }
  });

  it("begin() returns null for unknown or refused mechanisms", () => {
    assert.equal(auth.begin("CRAM-MD5", REMOTE_TLS), null);
    assert.equal(auth.begin("SCRAM-SHA-256-PLUS", REMOTE_TLS), null);
    assert.equal(auth.begin("PLAIN", REMOTE), null);
    assert.equal(auth.begin("LOGIN", REMOTE), null);
    assert.equal(auth.begin("SCRAM-SHA-256", REMOTE), null);
    assert.equal(auth.begin("scram-sha-256", REMOTE_TLS)?.mechanism, "SCRAM-SHA-256");
    assert.equal(auth.begin("login", LOOPBACK)?.mechanism, "LOGIN");
  });
});

describe("verifyPassword", () => {
  it("checks the password where cleartext is allowed", async () => {
    const auth = createAuthenticator({ lookupUser, config: authConfig() });
    const ok = await auth.verifyPassword("ALICE@example.org", "s3cret", REMOTE_TLS);
    assertSuccess(ok, "alice@example.org");
    assert.equal(ok.kind === "success" && ok.user.userId, 7);
    assertFailure(await auth.verifyPassword("alice@example.org", "wrong", LOOPBACK), "bad-credentials");
    assertFailure(await auth.verifyPassword("nobody@example.org", "s3cret", LOOPBACK), "bad-credentials");
    assertFailure(await auth.verifyPassword("", "s3cret", LOOPBACK), "malformed");
  });

  it("refuses cleartext on an insecure remote connection without checking", async () => {
    let lookups = 0;
    const auth = createAuthenticator({
      lookupUser: async (a) => {
        lookups++;
        return lookupUser(a);
      },
      config: authConfig(),
    });
    assertFailure(await auth.verifyPassword("alice@example.org", "s3cret", REMOTE), "unavailable");
    assert.equal(lookups, 0);
  });

  it("reports a failing user store as unavailable and logs it", async () => {
    const { logger, lines } = captureLogger();
    const auth = createAuthenticator({
      lookupUser: async () => {
        throw new Error("database is locked");
      },
      config: authConfig(),
      logger,
    });
    assertFailure(await auth.verifyPassword("alice@example.org", "s3cret", REMOTE_TLS), "unavailable");
    const exchange = auth.begin("SCRAM-SHA-256", REMOTE_TLS)!;
    assertFailure(await exchange.start(scramClient("alice@example.org", "s3cret").first()), "unavailable");
    assert.ok(lines.some((l) => l.includes("database is locked")));
  });

  it("reports unreadable stored credentials as unavailable", async () => {
    const broken = { ...users[0]!, passwordHash: "garbage", scramSha256: "garbage" };
    const auth = createAuthenticator({ lookupUser: async () => broken, config: authConfig() });
    assertFailure(await auth.verifyPassword("alice@example.org", "s3cret", REMOTE_TLS), "unavailable");
    const exchange = auth.begin("SCRAM-SHA-256", REMOTE_TLS)!;
    assertFailure(await exchange.start(scramClient("alice@example.org", "s3cret").first()), "unavailable");
  });
});

describe("user names that are not addresses", () => {
  // As the SQLite store answers them: a name that is no address at all is refused, not looked up.
  const strictLookup = async (address: string) => {
    if (!/^[^@/*~]+@[a-z0-9.-]+$/.test(address))
      throw new StoreError("invalid", `"${address}" is not a valid address; expected local@domain`);
    return lookupUser(address);
  };

  it("fail like an unknown user, are counted by the throttle and logged at info without a stack", async () => {
    const { logger, lines } = captureLogger();
    const slept: number[] = [];
    const auth = createAuthenticator({
      lookupUser: strictLookup,
      config: authConfig({ failureDelay: 1000, maxFailuresPerIp: 4 }),
      logger,
      sleep: async (ms) => {
        slept.push(ms);
      },
    });
    assertFailure(await auth.verifyPassword("../../tmp/x", "pw", LOOPBACK), "bad-credentials");
    assertFailure(
      await auth.begin("PLAIN", LOOPBACK)!.start(plainInitialResponse("*", "pw")),
      "bad-credentials",
    );
    const login = auth.begin("LOGIN", LOOPBACK)!;
    await login.start(null);
    await login.next(Buffer.from("~root"));
    assertFailure(await login.next(Buffer.from("pw")), "bad-credentials");
    const scram = scramClient("../../tmp/x", "pw");
    const exchange = auth.begin("SCRAM-SHA-256", LOOPBACK)!;
    const serverFirst = assertChallenge(await exchange.start(scram.first()));
    assertFailure(await exchange.next(await scram.final(serverFirst)), "bad-credentials");
    assert.deepEqual(slept, [1000, 2000, 4000, 8000], "each one counted");
    assertFailure(await auth.verifyPassword("alice@example.org", "s3cret", LOOPBACK), "throttled");
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const failures = entries.filter((entry) => entry.msg === "authentication failed");
    assert.equal(failures.length, 4);
    for (const entry of entries) {
      assert.ok((entry.level as number) <= 30, `logged at info or below: ${JSON.stringify(entry)}`);
      assert.equal(entry.err, undefined, "no error object, so no stack trace");
    }
  });
});

describe("throttling through the authenticator", () => {
  function setup() {
    let now = 5_000_000;
    const slept: number[] = [];
    let lookups = 0;
    const { logger, lines } = captureLogger();
    const auth = createAuthenticator({
      lookupUser: async (a) => {
        lookups++;
        return lookupUser(a);
      },
      config: authConfig({ failureDelay: 1000, maxFailuresPerIp: 3, failureWindow: 60_000 }),
      logger,
      now: () => now,
      sleep: async (ms) => {
        slept.push(ms);
      },
    });
    return { auth, slept, lines, lookups: () => lookups, advance: (ms: number) => (now += ms) };
  }

  it("delays failures, refuses past the limit without checking, and lets the window pass", async () => {
    const t = setup();
    assertFailure(await t.auth.verifyPassword("alice@example.org", "bad1", LOOPBACK), "bad-credentials");
    assertFailure(
      await t.auth.begin("PLAIN", LOOPBACK)!.start(plainInitialResponse("alice@example.org", "bad2")),
      "bad-credentials",
    );
    // A success from the same client neither waits nor clears the count.
    assertSuccess(await t.auth.verifyPassword("alice@example.org", "s3cret", LOOPBACK), "alice@example.org");
    const scram = scramClient("alice@example.org", "bad3");
    const exchange = t.auth.begin("SCRAM-SHA-256", LOOPBACK)!;
    const serverFirst = assertChallenge(await exchange.start(scram.first()));
    assertFailure(await exchange.next(await scram.final(serverFirst)), "bad-credentials");
    assert.deepEqual(t.slept, [1000, 2000, 4000]);

    const before = t.lookups();
    assertFailure(await t.auth.verifyPassword("alice@example.org", "s3cret", LOOPBACK), "throttled");
    assertFailure(await t.auth.begin("SCRAM-SHA-256", LOOPBACK)!.start(null), "throttled");
    assertFailure(await t.auth.begin("LOGIN", LOOPBACK)!.start(null), "throttled");
    assert.equal(t.lookups(), before, "nothing was looked up while throttled");
    assert.deepEqual(t.slept, [1000, 2000, 4000], "refusals are immediate");

    assertSuccess(
      await t.auth.verifyPassword("alice@example.org", "s3cret", {
        remoteAddress: "198.51.100.1",
        secure: true,
        policy: "tls",
      }),
      "alice@example.org",
    );

    t.advance(60_000);
    assertSuccess(await t.auth.verifyPassword("alice@example.org", "s3cret", LOOPBACK), "alice@example.org");
  });

  it("logs failures with ip and user name but never the password", async () => {
    const t = setup();
    await t.auth.verifyPassword("alice@example.org", "hunter2-secret", LOOPBACK);
    await t.auth.begin("PLAIN", LOOPBACK)!.start(plainInitialResponse("nobody@example.org", "other-secret"));
    const log = t.lines.join("");
    assert.match(log, /alice@example\.org/);
    assert.match(log, /nobody@example\.org/);
    assert.match(log, /127\.0\.0\.1/);
    assert.doesNotMatch(log, /hunter2-secret|other-secret/);
  });
});

describe("disabled users", () => {
  it("are refused as a wrong password is, by every mechanism and token, with the same delay and count", async () => {
    const enabled = await makeUser(8, "bob@example.org", "b0b-pass");
    const bob = { ...enabled, disabled: true };
    const directory = [bob];
    const token = newToken();
    const slept: number[] = [];
    const { logger, lines } = captureLogger();
    const auth = createAuthenticator({
      lookupUser: userDirectory(directory),
      lookupToken: async (id) => (id === token.id ? { user: bob, secretHash: token.secretHash } : null),
      config: authConfig({ failureDelay: 1000, maxFailuresPerIp: 5, failureWindow: 60_000 }),
      logger,
      sleep: async (ms) => {
        slept.push(ms);
      },
    });
    assertFailure(await auth.verifyPassword("bob@example.org", "b0b-pass", LOOPBACK), "bad-credentials");
    assertFailure(
      await auth.begin("PLAIN", LOOPBACK)!.start(plainInitialResponse("bob@example.org", "b0b-pass")),
      "bad-credentials",
    );
    // SCRAM runs on with the user's real salt (what an enabled account shows) and fails at the end.
    const scram = scramClient("bob@example.org", "b0b-pass");
    const exchange = auth.begin("SCRAM-SHA-256", LOOPBACK)!;
    const serverFirst = assertChallenge(await exchange.start(scram.first()));
    const salt = /,s=([^,]+),/.exec(serverFirst.toString("utf8"))?.[1];
    assert.equal(salt, parseScramVerifier(bob.scramSha256).salt.toString("base64"));
    assertFailure(await exchange.next(await scram.final(serverFirst)), "bad-credentials");
    assertFailure(await auth.verifyToken(token.token, LOOPBACK), "bad-credentials");
    assert.deepEqual(slept, [1000, 2000, 4000, 8000], "each counts as a failure");
    assertFailure(await auth.verifyPassword("bob@example.org", "b0b-pass", LOOPBACK), "bad-credentials");
    assertFailure(await auth.verifyPassword("bob@example.org", "b0b-pass", LOOPBACK), "throttled");
    assert.match(lines.join(""), /disabled user/);

    // Enabled again, the same credentials work (from another client: this one is throttled).
    directory[0] = enabled;
    assertSuccess(await auth.verifyPassword("bob@example.org", "b0b-pass", REMOTE_TLS), "bob@example.org");
  });
});
