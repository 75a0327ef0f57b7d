import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  hashPassword,
  hashPasswordScrypt,
  PasswordHashError,
  parseScryptHash,
  verifyPasswordHash,
} from "../../src/auth/password.js";
import { ProhibitedStringError } from "../../src/auth/saslprep.js";
import {
  createScramVerifier,
  parseScramVerifier,
  ScramVerifierError,
} from "../../src/auth/scram-verifier.js";

describe("hashPassword / verifyPasswordHash", () => {
  it("round-trips with the default parameters and stores both forms", async () => {
    const credentials = await hashPassword("correct horse");
    assert.equal(await verifyPasswordHash("correct horse", credentials.passwordHash), true);
    assert.equal(await verifyPasswordHash("correct horsE", credentials.passwordHash), false);
    assert.equal(await verifyPasswordHash("", credentials.passwordHash), false);

    const parsed = parseScryptHash(credentials.passwordHash);
    assert.deepEqual(parsed.parameters, { ln: 14, r: 8, p: 1 });
    assert.equal(parsed.salt.length, 16);
    assert.equal(parsed.hash.length, 32);
    assert.match(credentials.passwordHash, /^\$scrypt\$ln=14,r=8,p=1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);

    const verifier = parseScramVerifier(credentials.scramSha256);
    assert.equal(verifier.iterations, 4096);
    assert.equal(verifier.salt.length, 16);
    assert.ok(!credentials.scramSha256.includes("correct horse"));
  });

  it("salts every hash differently", async () => {
    const a = await hashPasswordScrypt("same", { ln: 4, r: 8, p: 1 });
    const b = await hashPasswordScrypt("same", { ln: 4, r: 8, p: 1 });
    assert.notEqual(a, b);
    assert.equal(await verifyPasswordHash("same", a), true);
    assert.equal(await verifyPasswordHash("same", b), true);
  });

  it("reads the parameters from the stored form, so they can change later", async () => {
    const hash = await hashPasswordScrypt("pw", { ln: 5, r: 4, p: 2 });
    assert.deepEqual(parseScryptHash(hash).parameters, { ln: 5, r: 4, p: 2 });
    assert.equal(await verifyPasswordHash("pw", hash), true);
    // Same salt and hash presented as other parameters no longer matches.
    assert.equal(await verifyPasswordHash("pw", hash.replace("ln=5", "ln=6")), false);
  });

  it("prepares passwords with SASLprep (RFC 4013): NFKC, mapped spaces, characters mapped to nothing", async () => {
    const hash = await hashPasswordScrypt("\uFB01le", { ln: 4, r: 8, p: 1 }); // "ﬁle" with a ligature
    assert.equal(await verifyPasswordHash("file", hash), true);
    // RFC 4013 §3's first example: a soft hyphen maps to nothing (NFKC alone keeps it).
    const hyphen = await hashPasswordScrypt("I\u00ADX", { ln: 4, r: 8, p: 1 });
    assert.equal(await verifyPasswordHash("IX", hyphen), true);
    const verifier = await createScramVerifier("I\u00ADX", { iterations: 4096, salt: Buffer.alloc(16, 1) });
    const plain = await createScramVerifier("IX", { iterations: 4096, salt: Buffer.alloc(16, 1) });
    assert.deepEqual(verifier, plain);
    // An em space maps to a plain space.
    const spaced = await hashPasswordScrypt("two\u2003words", { ln: 4, r: 8, p: 1 });
    assert.equal(await verifyPasswordHash("two words", spaced), true);
  });

  it("refuses to store a password SASLprep prohibits, and such a login matches nothing", async () => {
    await assert.rejects(hashPassword("bell\u0007ring"), ProhibitedStringError);
    await assert.rejects(hashPassword("private\uE000use"), ProhibitedStringError);
    // RFC 4013 §3: mixed right-to-left and left-to-right text is prohibited.
    await assert.rejects(hashPassword("\u0627\u0031a"), ProhibitedStringError);
    const hash = await hashPasswordScrypt("bellring", { ln: 4, r: 8, p: 1 });
    assert.equal(await verifyPasswordHash("bell\u0007ring", hash), false);
    assert.equal(await verifyPasswordHash("bellring", hash), true);
  });

  it("rejects a hash whose bytes were tampered with", async () => {
    const hash = await hashPasswordScrypt("pw", { ln: 4, r: 8, p: 1 });
    const parsed = parseScryptHash(hash);
    parsed.hash[0] = parsed.hash[0]! ^ 1;
    const tampered = `$scrypt$ln=4,r=8,p=1$${parsed.salt.toString("base64")}$${parsed.hash.toString("base64")}`;
    assert.equal(await verifyPasswordHash("pw", tampered), false);
  });

  it("throws a clear error for stored strings that are not hashes", async () => {
    const good = await hashPasswordScrypt("pw", { ln: 4, r: 8, p: 1 });
    const [, , , salt, hash] = good.split("$");
    const bad = [
      "",
      "plaintext",
      `$bcrypt$ln=4,r=8,p=1$${salt}$${hash}`,
      `$scrypt$ln=4,r=8$${salt}$${hash}`,
      `$scrypt$ln=4,r=8,p=1,p=1$${salt}$${hash}`,
      `$scrypt$ln=40,r=8,p=1$${salt}$${hash}`,
      `$scrypt$ln=4,r=800,p=1$${salt}$${hash}`,
      `$scrypt$ln=0,r=8,p=1$${salt}$${hash}`,
      `$scrypt$ln=4,r=8,p=1$not base64!$${hash}`,
      `$scrypt$ln=4,r=8,p=1$${salt}$AAAA`,
      `$scrypt$ln=4,r=8,p=1$${salt}`,
    ];
    for (const text of bad) {
      await assert.rejects(verifyPasswordHash("pw", text), PasswordHashError, text);
    }
  });
});

describe("SCRAM-SHA-256 verifier", () => {
  it("derives the same keys for the same password, salt and count, different ones otherwise", async () => {
    const salt = Buffer.from("W22ZaJ0SNY7soEsUEjb6gQ==", "base64");
    const a = await createScramVerifier("pencil", { salt, iterations: 4096 });
    const b = await createScramVerifier("pencil", { salt, iterations: 4096 });
    assert.deepEqual(a, b);
    const other = await createScramVerifier("pencil2", { salt, iterations: 4096 });
    assert.notDeepEqual(a.storedKey, other.storedKey);
  });

  it("rejects malformed verifier text", () => {
    for (const text of [
      "",
      "SCRAM-SHA-256$4096:abc",
      "SCRAM-SHA-1$4096:AAAA$AAAA:AAAA",
      "SCRAM-SHA-256$0:AAAA$AAAA:AAAA",
    ]) {
      assert.throws(() => parseScramVerifier(text), ScramVerifierError, text);
    }
    const key = Buffer.alloc(32).toString("base64");
    assert.throws(() => parseScramVerifier(`SCRAM-SHA-256$99999999:AAAA$${key}:${key}`), ScramVerifierError);
    assert.throws(() => parseScramVerifier(`SCRAM-SHA-256$4096:AAAA$AAAA:${key}`), ScramVerifierError);
    assert.equal(parseScramVerifier(`SCRAM-SHA-256$4096:AAAA$${key}:${key}`).iterations, 4096);
  });
});
