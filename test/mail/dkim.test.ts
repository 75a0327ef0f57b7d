import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import { dkimVerify } from "mailauth/lib/dkim/verify.js";
import {
  authorAddress,
  type DkimKeyMaterial,
  dkimTxtRecord,
  generateDkimKey,
  isValidSelector,
  selectorFor,
  signMessage,
} from "../../src/mail/dkim.js";
import { withClockSteppingSeconds } from "../support/clock.js";

const MESSAGE = Buffer.from(
  "Return-Path: <alice@example.org>\r\n" +
    "Received: from client.example ([192.0.2.7])\r\n\tby mx.example.org; Mon, 03 Jun 2024 10:00:00 +0000\r\n" +
    "From: Alice <alice@example.org>\r\n" +
    "To: bob@remote.example\r\n" +
    "Subject: Hello\r\n" +
    "Date: Mon, 03 Jun 2024 10:00:00 +0000\r\n" +
    "Message-ID: <1@example.org>\r\n" +
    "\r\n" +
    "Hi Bob,\r\nsee you.\r\n",
);

/** A DNS stub serving exactly one TXT record, the way mailauth's resolver option expects. */
function resolverFor(name: string, value: string) {
  return async (query: string, type: string): Promise<string[][]> => {
    if (type === "TXT" && query === name) return [[value]];
    throw Object.assign(new Error(`no ${type} record for ${query}`), { code: "ENOTFOUND" });
  };
}

async function verify(message: Buffer, domain: string, key: DkimKeyMaterial) {
  const record = dkimTxtRecord(domain, key);
  const result = await dkimVerify(message, { resolver: resolverFor(record.name, record.value) });
  return result.results.map((entry) => ({
    result: entry.status.result,
    domain: entry.signingDomain,
    selector: entry.selector,
  }));
}

describe("DKIM keys and records", () => {
  test("selectors: year and month for the first key, the second for a rotation, never the current", () => {
    const date = new Date(Date.UTC(2024, 5, 3, 9, 7, 5));
    assert.equal(selectorFor(date), "mr202406");
    assert.equal(selectorFor(date, "mr202406"), "mr20240603090705");
    assert.equal(selectorFor(date, "mr202405"), "mr20240603090705");
    assert.match(selectorFor(date, "mr20240603090705"), /^mr20240603090705x[0-9a-f]{4}$/);
    for (const selector of ["mr202406", "mr20240603", "a.b-c", "s1"]) assert.ok(isValidSelector(selector));
    for (const selector of ["", "-a", "a b", "a..b", "a_b"]) assert.equal(isValidSelector(selector), false);
  });

  test("RSA record: k=rsa, 2048-bit SPKI key, split into strings of at most 255 octets", async () => {
    const key: DkimKeyMaterial = {
      selector: "mr202406",
      privateKeyPem: await generateDkimKey("rsa-sha256"),
      algorithm: "rsa-sha256",
    };
    const record = dkimTxtRecord("example.org", key);
    assert.equal(record.name, "mr202406._domainkey.example.org");
    assert.match(record.value, /^v=DKIM1; k=rsa; p=MIIB[A-Za-z0-9+/=]+$/);
    const strings = [...record.zoneLine.matchAll(/"([^"]*)"/g)].map((match) => match[1]!);
    assert.ok(strings.length >= 2);
    assert.ok(strings.every((text) => text.length <= 255));
    assert.equal(strings.join(""), record.value);
    assert.ok(record.zoneLine.startsWith("mr202406._domainkey.example.org. IN TXT ( "));
  });

  test("Ed25519 record: k=ed25519 and the raw 32-octet key (RFC 8463)", async () => {
    const key: DkimKeyMaterial = {
      selector: "ed",
      privateKeyPem: await generateDkimKey("ed25519-sha256"),
      algorithm: "ed25519-sha256",
    };
    const value = dkimTxtRecord("example.org", key).value;
    const p = /p=(.+)$/.exec(value)?.[1] ?? "";
    assert.match(value, /^v=DKIM1; k=ed25519; /);
    assert.equal(Buffer.from(p, "base64").length, 32);
  });

  test("an unreadable private key gets an error that says what to do", () => {
    const key: DkimKeyMaterial = {
      selector: "s",
      privateKeyPem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
      algorithm: "rsa-sha256",
    };
    assert.throws(() => dkimTxtRecord("example.org", key), /mailroom dkim rotate/);
  });
});

describe("signing", () => {
  for (const algorithm of ["rsa-sha256", "ed25519-sha256"] as const) {
    test(`${algorithm}: sign, then verify against the published record`, async () => {
      const key: DkimKeyMaterial = {
        selector: "mr202406",
        privateKeyPem: await generateDkimKey(algorithm),
        algorithm,
      };
      const signature = await signMessage(Readable.from([MESSAGE]), "example.org", key);
      assert.match(signature, /^DKIM-Signature: v=1; a=/);
      assert.ok(signature.endsWith("\r\n"));
      assert.doesNotMatch(signature, /h=[^;]*(received|return-path)/i, "trace fields stay unsigned");
      const signed = Buffer.concat([Buffer.from(signature), MESSAGE]);
      assert.deepEqual(await verify(signed, "example.org", key), [
        { result: "pass", domain: "example.org", selector: "mr202406" },
      ]);
      const tampered = Buffer.from(signed.toString("latin1").replace("see you.", "see you!"), "latin1");
      // mailauth reports a body hash mismatch as "neutral" (RFC 6376 §6.1.3 leaves the wording open).
      assert.notEqual((await verify(tampered, "example.org", key))[0]?.result, "pass");
      // A later hop's Received field does not break the signature.
      const relayed = Buffer.concat([
        Buffer.from("Received: from mx.example.org by mx.remote.example\r\n"),
        signed,
      ]);
      assert.equal((await verify(relayed, "example.org", key))[0]?.result, "pass");
    });
  }

  test("the signature holds when the clock passes a second boundary while the message is signed", async (t) => {
    const key: DkimKeyMaterial = {
      selector: "mr202406",
      privateKeyPem: await generateDkimKey("rsa-sha256"),
      algorithm: "rsa-sha256",
    };
    // mailauth, left to read the clock itself, would hash one t= and write another.
    const signature = await withClockSteppingSeconds(t, () => signMessage(MESSAGE, "example.org", key));
    assert.deepEqual(await verify(Buffer.concat([Buffer.from(signature), MESSAGE]), "example.org", key), [
      { result: "pass", domain: "example.org", selector: "mr202406" },
    ]);
  });

  test("a key of another type than the algorithm named is refused", async () => {
    const key: DkimKeyMaterial = {
      selector: "s",
      privateKeyPem: await generateDkimKey("ed25519-sha256"),
      algorithm: "rsa-sha256",
    };
    await assert.rejects(signMessage(MESSAGE, "example.org", key), /DKIM signing for example\.org failed/);
  });
});

describe("the author address", () => {
  const block = (text: string) => Buffer.from(text);
  test("the one mailbox of From:, lower-cased, display name and folding allowed", () => {
    assert.equal(
      authorAddress(block("Subject: x\r\nFrom: Alice <Alice@Example.ORG>\r\n\r\n")),
      "alice@example.org",
    );
    assert.equal(
      authorAddress(block('fROM:\r\n "Doe, Jane"\r\n <jane@example.org>\r\n\r\n')),
      "jane@example.org",
    );
    assert.equal(authorAddress(block("From: bare@example.org\n\n")), "bare@example.org");
  });
  test("none when absent, repeated, several mailboxes, a group, or only in the body", () => {
    assert.equal(authorAddress(block("Subject: x\r\n\r\n")), null);
    assert.equal(authorAddress(block("From: a@example.org\r\nFrom: b@example.org\r\n\r\n")), null);
    assert.equal(authorAddress(block("From: a@example.org, b@example.org\r\n\r\n")), null);
    assert.equal(authorAddress(block("From: Team: a@example.org;\r\n\r\n")), null);
    assert.equal(authorAddress(block("Subject: x\r\n\r\nFrom: a@example.org\r\n")), null);
    assert.equal(authorAddress(block("X-From: a@example.org\r\n\r\n")), null);
  });
});
