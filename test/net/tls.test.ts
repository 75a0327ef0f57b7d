import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { after, before, test } from "node:test";
import { defaultConfig } from "../../src/config/defaults.js";
import { ConfigError } from "../../src/config/load.js";
import type { Config } from "../../src/config/types.js";
import { createLogger } from "../../src/log/logger.js";
import { loadTls } from "../../src/net/tls.js";

let dir: string;
const logLines: Array<{ level: string; msg: string }> = [];
const stream = new PassThrough();
stream.on("data", (chunk: Buffer) => {
  for (const line of chunk.toString().split("\n").filter(Boolean)) logLines.push(JSON.parse(line));
});
const logger = createLogger({ level: "debug", format: "json" }, stream);

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mailroom-tls-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function configFor(dataDir: string, hostname = "mail.example.test"): Config {
  return { ...defaultConfig({ hostname }), dataDir };
}

test("generates a self-signed certificate once, private key mode 0600, then reuses it", async () => {
  const config = configFor(path.join(dir, "data"));
  const first = await loadTls(config, logger);
  assert.equal(first.generated, true);
  assert.equal(first.certPath, path.join(config.dataDir, "tls", "cert.pem"));
  assert.equal(first.keyPath, path.join(config.dataDir, "tls", "key.pem"));
  assert.equal((await stat(first.keyPath)).mode & 0o777, 0o600);

  const certificate = new X509Certificate(await readFile(first.certPath));
  assert.match(certificate.subjectAltName ?? "", /DNS:mail\.example\.test/);
  assert.match(certificate.subjectAltName ?? "", /DNS:localhost/);
  assert.match(certificate.subjectAltName ?? "", /IP Address:127\.0\.0\.1/);
  assert.equal(certificate.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(
    logLines.some(
      (line) =>
        line.level === "info" &&
        line.msg ===
          `generated a self-signed TLS certificate for mail.example.test at ${first.certPath}; set tls.cert and tls.key for a real one`,
    ),
  );

  const pem = await readFile(first.certPath, "utf8");
  const second = await loadTls(config, logger);
  assert.equal(second.generated, false);
  assert.equal(await readFile(second.certPath, "utf8"), pem, "the same certificate is reused");

  const renamed = await loadTls({ ...config, hostname: "other.example.test" }, logger);
  assert.equal(renamed.generated, true, "a new hostname gets a certificate naming it");
});

test("a configured certificate is used as is; broken files name their key", async () => {
  const generated = await loadTls(configFor(path.join(dir, "source")), logger);
  const withFiles = (cert: string, key: string): Config => ({
    ...configFor(path.join(dir, "unused")),
    tls: { cert, key },
  });

  const good = await loadTls(withFiles(generated.certPath, generated.keyPath), logger);
  assert.equal(good.generated, false);
  assert.equal(good.certPath, generated.certPath);

  const garbage = path.join(dir, "garbage.pem");
  await writeFile(garbage, "not a pem file\n");
  await assert.rejects(loadTls(withFiles(garbage, generated.keyPath), logger), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /^tls\.cert: .*garbage\.pem is not a PEM certificate/);
    return true;
  });
  await assert.rejects(
    loadTls(withFiles(generated.certPath, garbage), logger),
    /^ConfigError: tls\.key: .*garbage\.pem is not/,
  );

  const other = await loadTls(configFor(path.join(dir, "other")), logger);
  await assert.rejects(
    loadTls(withFiles(generated.certPath, other.keyPath), logger),
    /tls\.key: .* does not match the certificate in tls\.cert/,
  );
  await assert.rejects(
    loadTls(withFiles(path.join(dir, "absent.pem"), generated.keyPath), logger),
    /tls\.cert: cannot read .*absent\.pem \(ENOENT\)/,
  );
});
