import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { dkimTxtRecord } from "../../src/mail/dkim.js";
import { makeDataDir, runCli, withTestStore } from "./helpers.js";

/** The TXT record lines of the output: the owner name and the joined strings. */
function parseRecord(stdout: string): { name: string; value: string } {
  const line = stdout.split("\n").find((text) => text.includes("._domainkey.") && text.includes(" IN TXT "));
  assert.ok(line, stdout);
  const name = line.slice(0, line.indexOf(". IN TXT"));
  const value = [...line.matchAll(/"([^"]*)"/g)].map((match) => match[1]).join("");
  return { name, value };
}

describe("DKIM keys from the command line", () => {
  let dataDir: string;
  let cleanup: () => Promise<void>;
  const cli = (argv: string[]) => runCli([...argv, "--data-dir", dataDir]);
  const storedKey = (domain: string) => withTestStore(dataDir, (store) => store.directory.getDkimKey(domain));

  before(async () => {
    ({ dataDir, cleanup } = await makeDataDir());
  });
  after(() => cleanup());

  test("domain add creates an RSA key and prints the record that publishes it", async () => {
    const run = await cli(["domain", "add", "example.org"]);
    assert.deepEqual([run.code, run.stderr], [0, "added domain example.org\n"]);
    const key = await storedKey("example.org");
    assert.ok(key);
    assert.equal(key.algorithm, "rsa-sha256");
    assert.match(key.selector, /^mr\d{6}$/);
    const printed = parseRecord(run.stdout.toString());
    const expected = dkimTxtRecord("example.org", key);
    assert.deepEqual(printed, { name: expected.name, value: expected.value });
    assert.match(run.stdout.toString(), /^; DKIM: the public key of selector mr\d{6} \(rsa-sha256\)/m);
  });

  test("dkim show prints the same record again", async () => {
    const key = await storedKey("example.org");
    const run = await cli(["dkim", "show", "EXAMPLE.org"]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(parseRecord(run.stdout.toString()), {
      name: `${key!.selector}._domainkey.example.org`,
      value: dkimTxtRecord("example.org", key!).value,
    });
  });

  test("dkim rotate makes a new key under a new selector; show follows it", async () => {
    const old = await storedKey("example.org");
    const run = await cli(["dkim", "rotate", "example.org", "--algorithm", "ed25519-sha256"]);
    assert.equal(run.code, 0, run.stderr);
    const rotated = await storedKey("example.org");
    assert.ok(rotated && old);
    assert.notEqual(rotated.selector, old.selector);
    assert.notEqual(rotated.privateKeyPem, old.privateKeyPem);
    assert.equal(rotated.algorithm, "ed25519-sha256");
    assert.match(run.stderr, new RegExp(`keep the record of the old selector ${old.selector}`));
    const shown = parseRecord((await cli(["dkim", "show", "example.org"])).stdout.toString());
    assert.equal(shown.name, `${rotated.selector}._domainkey.example.org`);
    assert.match(shown.value, /^v=DKIM1; k=ed25519; p=/);
  });

  test("errors: unserved domain, bad algorithm, missing action or domain", async () => {
    const unserved = await cli(["dkim", "show", "other.example"]);
    assert.deepEqual(
      [unserved.code, unserved.stderr],
      [
        1,
        "mailroom: domain other.example is not served here; add it with 'mailroom domain add other.example'\n",
      ],
    );
    const rotateUnserved = await cli(["dkim", "rotate", "other.example"]);
    assert.equal(rotateUnserved.code, 1);
    const algorithm = await cli(["dkim", "rotate", "example.org", "--algorithm", "rsa-sha1"]);
    assert.equal(algorithm.code, 64);
    assert.match(algorithm.stderr, /unknown algorithm 'rsa-sha1' \(use rsa-sha256 or ed25519-sha256\)/);
    assert.equal((await cli(["dkim"])).code, 64);
    assert.equal((await cli(["dkim", "show"])).code, 64);
    assert.equal((await cli(["dkim", "frobnicate", "example.org"])).code, 64);
  });

  test("show for a domain without a key says how to make one", async () => {
    await withTestStore(dataDir, (store) => store.directory.addDomain("keyless.example"));
    const run = await cli(["dkim", "show", "keyless.example"]);
    assert.deepEqual(
      [run.code, run.stderr],
      [
        1,
        "mailroom: domain keyless.example has no DKIM key yet; create one with 'mailroom dkim rotate keyless.example'\n",
      ],
    );
    assert.equal((await cli(["dkim", "rotate", "keyless.example"])).code, 0);
    assert.equal((await cli(["dkim", "show", "keyless.example"])).code, 0);
  });
});
