import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { makeDataDir, runCli } from "./helpers.js";

describe("mailroom domain add | records", () => {
  let dataDir: string;
  let cleanup: () => Promise<void>;
  const env = { MAILROOM_HOSTNAME: "mail.example.org" };
  const cli = (argv: string[]) => runCli([...argv, "--data-dir", dataDir], { env });

  before(async () => {
    ({ dataDir, cleanup } = await makeDataDir());
  });
  after(() => cleanup());

  test("add prints every record to publish, records prints the same again", async () => {
    const added = await cli(["domain", "add", "example.org", "--address", "203.0.113.5"]);
    assert.equal(added.code, 0, added.stderr);
    const text = added.stdout.toString();
    assert.match(text, /^example\.org\. IN MX 10 mail\.example\.org\.$/m);
    assert.match(text, /^example\.org\. IN TXT "v=spf1 mx -all"$/m);
    assert.match(text, /^mr\d{6}\._domainkey\.example\.org\. IN TXT \( "v=DKIM1; k=rsa; p=/m);
    assert.match(
      text,
      /^_dmarc\.example\.org\. IN TXT "v=DMARC1; p=quarantine; rua=mailto:postmaster@example\.org"$/m,
    );
    assert.match(text, /^5\.113\.0\.203\.in-addr\.arpa\. IN PTR mail\.example\.org\.$/m);
    const again = await cli(["domain", "records", "example.org", "--address", "203.0.113.5"]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout.toString(), text);
  });

  test("records refuses an unknown domain and a malformed address", async () => {
    const unknown = await cli(["domain", "records", "other.example"]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /not served here/);
    const bad = await cli(["domain", "records", "example.org", "--address", "mail.example.org"]);
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /not an IP address/);
  });
});
