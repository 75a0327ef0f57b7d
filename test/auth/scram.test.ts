import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createAuthenticator } from "../../src/auth/authenticator.js";
import { ScramClientError, scramClient } from "../../src/auth/sasl/scram-client.js";
import {
  clientKeyOf,
  hmacSha256,
  saltedPassword,
  sha256,
  xorBuffers,
} from "../../src/auth/scram-verifier.js";
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

// RFC 7677 §3, the complete example exchange.
const RFC_SALT = Buffer.from("W22ZaJ0SNY7soEsUEjb6gQ==", "base64");
const RFC_CLIENT_NONCE = "rOprNGfwEbeRWgbNEkqO";
const RFC_SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
const RFC_CLIENT_FIRST = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
const RFC_SERVER_FIRST =
  "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
const RFC_CLIENT_FINAL =
  "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
const RFC_SERVER_FINAL = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

const users = [
  await makeUser(1, "user", "pencil", { salt: RFC_SALT, iterations: 4096 }),
  await makeUser(2, "alice@example.org", "s3cret"),
  await makeUser(3, "a,b=c@example.org", "odd"),
];

function setup(serverNonce?: () => string) {
  return createAuthenticator({
    lookupUser: userDirectory(users),
    config: authConfig(),
    ...(serverNonce ? { scramServerNonce: serverNonce } : {}),
  });
}

function begin(serverNonce?: () => string): SaslExchange {
  const exchange = setup(serverNonce).begin("SCRAM-SHA-256", REMOTE_TLS);
  assert.ok(exchange);
  return exchange;
}

/** A client-final for any gs2 header, computed independently of scram-client.ts. */
async function clientFinalFor(
  gs2Header: string,
  clientFirstBare: string,
  serverFirst: string,
  password: string,
): Promise<string> {
  const attrs = Object.fromEntries(serverFirst.split(",").map((a) => [a[0], a.slice(2)]));
  const salted = await saltedPassword(password, Buffer.from(attrs.s!, "base64"), Number(attrs.i));
  const withoutProof = `c=${Buffer.from(gs2Header).toString("base64")},r=${attrs.r}`;
  const clientKey = clientKeyOf(salted);
  const auth = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const proof = xorBuffers(clientKey, hmacSha256(sha256(clientKey), auth));
  return `${withoutProof},p=${proof.toString("base64")}`;
}

describe("SCRAM-SHA-256 server", () => {
  it("accepts the exact RFC 7677 §3 exchange", async () => {
    const exchange = begin(() => RFC_SERVER_NONCE);
    const serverFirst = assertChallenge(await exchange.start(Buffer.from(RFC_CLIENT_FIRST)));
    assert.equal(serverFirst.toString(), RFC_SERVER_FIRST);
    const step = await exchange.next(Buffer.from(RFC_CLIENT_FINAL));
    assertSuccess(step, "user");
    assert.equal(step.kind === "success" && step.data?.toString(), RFC_SERVER_FINAL);
  });

  it("sends an empty challenge when there is no initial response", async () => {
    const exchange = begin(() => RFC_SERVER_NONCE);
    assert.equal(assertChallenge(await exchange.start(null)).length, 0);
    assertChallenge(await exchange.next(Buffer.from(RFC_CLIENT_FIRST)), RFC_SERVER_FIRST);
    assertSuccess(await exchange.next(Buffer.from(RFC_CLIENT_FINAL)), "user");
  });

  it("works with our client, random nonces, and a mixed-case address", async () => {
    const client = scramClient("Alice@Example.ORG", "s3cret");
    const exchange = begin();
    const serverFirst = assertChallenge(await exchange.start(client.first()));
    const step = await exchange.next(await client.final(serverFirst));
    assertSuccess(step, "alice@example.org");
    assert.ok(step.kind === "success" && step.data && client.verify(step.data));
  });

  it("SASLprep on both sides: a soft hyphen in the name or password maps to nothing (RFC 4013 §3)", async () => {
    const client = scramClient("ali\u00ADce@example.org", "s3\u00ADcret");
    assert.match(client.first().toString(), /^n,,n=alice@example\.org,r=/);
    const exchange = begin();
    const serverFirst = assertChallenge(await exchange.start(client.first()));
    assertSuccess(await exchange.next(await client.final(serverFirst)), "alice@example.org");
  });

  it("the client refuses to use a password SASLprep prohibits", async () => {
    const client = scramClient("alice@example.org", "s3cret\u0007");
    const exchange = begin();
    const serverFirst = assertChallenge(await exchange.start(client.first()));
    await assert.rejects(client.final(serverFirst), /the password cannot be used: .*SASLprep/);
  });

  it("decodes =2C and =3D in user names", async () => {
    const client = scramClient("a,b=c@example.org", "odd");
    assert.match(client.first().toString(), /^n,,n=a=2Cb=3Dc@example\.org,r=/);
    const exchange = begin();
    const serverFirst = assertChallenge(await exchange.start(client.first()));
    assertSuccess(await exchange.next(await client.final(serverFirst)), "a,b=c@example.org");
  });

  it("fails a wrong password as bad-credentials", async () => {
    const client = scramClient("alice@example.org", "wrong");
    const exchange = begin();
    const serverFirst = assertChallenge(await exchange.start(client.first()));
    assertFailure(await exchange.next(await client.final(serverFirst)), "bad-credentials");
  });

  it("runs an unknown user to the end with a stable made-up salt, then fails alike", async () => {
    const salts: string[] = [];
    const authenticator = setup();
    for (let i = 0; i < 2; i++) {
      const client = scramClient("nobody@example.org", "whatever");
      const exchange = authenticator.begin("SCRAM-SHA-256", REMOTE_TLS)!;
      const serverFirst = assertChallenge(await exchange.start(client.first()));
      assert.match(serverFirst.toString(), /,i=4096$/);
      salts.push(serverFirst.toString().split(",")[1]!);
      assertFailure(await exchange.next(await client.final(serverFirst)), "bad-credentials");
    }
    assert.equal(salts[0], salts[1]);
  });

  it("fails a tampered proof", async () => {
    const exchange = begin(() => RFC_SERVER_NONCE);
    assertChallenge(await exchange.start(Buffer.from(RFC_CLIENT_FIRST)));
    const tampered = RFC_CLIENT_FINAL.replace("p=dHzb", "p=dHzc");
    assertFailure(await exchange.next(Buffer.from(tampered)), "bad-credentials");
  });

  it("fails a client-final whose nonce differs from the one sent", async () => {
    const exchange = begin(() => RFC_SERVER_NONCE);
    assertChallenge(await exchange.start(Buffer.from(RFC_CLIENT_FIRST)));
    const wrongNonce = RFC_CLIENT_FINAL.replace("hNlF$k0", "hNlF$k1");
    assertFailure(await exchange.next(Buffer.from(wrongNonce)), "bad-credentials");
  });

  it("refuses channel binding (p=) and accepts the 'y' flag with a matching c=", async () => {
    assertFailure(await begin().start(Buffer.from("p=tls-unique,,n=user,r=abc")), "malformed");

    const exchange = begin();
    const bare = "n=alice@example.org,r=clientnonce123";
    const serverFirst = assertChallenge(await exchange.start(Buffer.from(`y,,${bare}`))).toString();
    const final = await clientFinalFor("y,,", bare, serverFirst, "s3cret");
    assert.match(final, /^c=eSws,/);
    assertSuccess(await exchange.next(Buffer.from(final)), "alice@example.org");
  });

  it("rejects a c= that does not repeat the gs2 header", async () => {
    const exchange = begin();
    const bare = "n=alice@example.org,r=clientnonce123";
    const serverFirst = assertChallenge(await exchange.start(Buffer.from(`y,,${bare}`))).toString();
    const final = await clientFinalFor("n,,", bare, serverFirst, "s3cret");
    assertFailure(await exchange.next(Buffer.from(final)), "malformed");
  });

  it("accepts an authzid equal to the user and fails a different one", async () => {
    const same = begin();
    const bare = "n=alice@example.org,r=nonce1";
    const header = "n,a=ALICE@example.org,";
    const serverFirst = assertChallenge(await same.start(Buffer.from(header + bare))).toString();
    assertSuccess(
      await same.next(Buffer.from(await clientFinalFor(header, bare, serverFirst, "s3cret"))),
      "alice@example.org",
    );

    assertFailure(
      await begin().start(Buffer.from("n,a=user,n=alice@example.org,r=nonce1")),
      "bad-credentials",
    );
  });

  it("answers every malformed client-first with malformed", async () => {
    const cases = [
      "",
      "n",
      "n,",
      "x,,n=user,r=abc",
      "n,,",
      "n,,n=user",
      "n,,r=abc,n=user",
      "n,,m=ext,n=user,r=abc",
      "n,,n=,r=abc",
      "n,,n=us=er,r=abc",
      "n,,n=us=2cer,r=abc",
      "n,,n=user,r=",
      "n,,n=user,r=a b",
      "n,,n=user,r=abc,",
      "n,b=x,n=user,r=abc",
      "n,a=bad=,n=user,r=abc",
      `n,,n=user,r=${"x".repeat(300)}`,
      "n,,n=us\0er,r=abc",
    ];
    for (const text of cases) {
      assertFailure(await begin().start(Buffer.from(text)), "malformed");
    }
    assertFailure(
      await begin().start(Buffer.from([0x6e, 0x2c, 0x2c, 0x6e, 0x3d, 0xff, 0x2c, 0x72, 0x3d, 0x61])),
      "malformed",
    );
  });

  it("answers every malformed client-final with malformed", async () => {
    const cases = [
      "",
      "c=biws",
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
      RFC_CLIENT_FINAL.replace("p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "p=AAAA"),
      RFC_CLIENT_FINAL.replace("p=dHzb", "p=!Hzb"),
      RFC_CLIENT_FINAL.replace("c=biws", "c=bi"),
      RFC_CLIENT_FINAL.replace("c=biws", "c=eSws"),
      RFC_CLIENT_FINAL.replace(",p=", ",m=x,p="),
    ];
    for (const text of cases) {
      const exchange = begin(() => RFC_SERVER_NONCE);
      assertChallenge(await exchange.start(Buffer.from(RFC_CLIENT_FIRST)));
      assertFailure(await exchange.next(Buffer.from(text)), "malformed");
    }
  });

  it("fails any step after the exchange ended", async () => {
    const exchange = begin(() => RFC_SERVER_NONCE);
    assertChallenge(await exchange.start(Buffer.from(RFC_CLIENT_FIRST)));
    assertSuccess(await exchange.next(Buffer.from(RFC_CLIENT_FINAL)), "user");
    assertFailure(await exchange.next(Buffer.from(RFC_CLIENT_FINAL)), "malformed");
    assertFailure(await exchange.start(null), "malformed");
  });
});

describe("SCRAM-SHA-256 client", () => {
  it("produces the RFC 7677 §3 messages and verifies the server", async () => {
    const client = scramClient("user", "pencil", { nonce: RFC_CLIENT_NONCE });
    assert.equal(client.first().toString(), RFC_CLIENT_FIRST);
    assert.equal((await client.final(Buffer.from(RFC_SERVER_FIRST))).toString(), RFC_CLIENT_FINAL);
    assert.equal(client.verify(Buffer.from(RFC_SERVER_FINAL)), true);
    assert.equal(client.verify(Buffer.from("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")), false);
    // Same bytes in non-canonical base64 (unused low bits set): refused as malformed.
    assert.equal(client.verify(Buffer.from("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5=")), false);
    assert.equal(client.verify(Buffer.from("e=invalid-proof")), false);
  });

  it("refuses a server-first it must not answer", async () => {
    const bad = [
      "r=someoneelse123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
      `r=${RFC_CLIENT_NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`,
      `r=${RFC_CLIENT_NONCE}xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000`,
      `r=${RFC_CLIENT_NONCE}xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999`,
      `r=${RFC_CLIENT_NONCE}xyz,s=!!,i=4096`,
      `m=x,r=${RFC_CLIENT_NONCE}xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`,
      "garbage",
    ];
    for (const text of bad) {
      const client = scramClient("user", "pencil", { nonce: RFC_CLIENT_NONCE });
      client.first();
      await assert.rejects(client.final(Buffer.from(text)), ScramClientError, text);
    }
  });

  it("does not verify a server-final before final()", () => {
    assert.equal(scramClient("user", "pencil").verify(Buffer.from(RFC_SERVER_FINAL)), false);
  });
});
