import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { ConfigError, loadConfig } from "../../src/config/load.js";

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mailroom-config-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeToml(name: string, text: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, text);
  return file;
}

/** Loads and expects a ConfigError; returns its message. */
async function failure(options: Parameters<typeof loadConfig>[0]): Promise<string> {
  try {
    await loadConfig(options);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    assert.ok(!error.message.includes("\n"), "the message is one line");
    return error.message;
  }
  assert.fail("loadConfig accepted a bad configuration");
}

describe("defaults", () => {
  test("with no file and no environment", async () => {
    const config = await loadConfig({ env: {} });
    assert.equal(config.hostname, os.hostname());
    assert.equal(config.dataDir, path.resolve("data"));
    assert.equal(config.store, "sqlite");
    assert.deepEqual(config.log, { level: "info", format: "auto", recentErrors: 200 });
    assert.deepEqual(config.tls, { cert: null, key: null });
    assert.deepEqual(config.listeners.smtp, { enabled: true, host: "0.0.0.0", port: 2525, auth: "off" });
    assert.equal(config.listeners.submission.port, 2587);
    assert.equal(config.listeners.submissions.port, 2465);
    assert.equal(config.listeners.pop3.port, 2110);
    assert.equal(config.listeners.pop3s.port, 2995);
    assert.equal(config.listeners.imap.port, 2143);
    assert.equal(config.listeners.imaps.port, 2993);
    assert.equal(config.listeners.http.port, 8025);
    assert.equal(config.smtp.maxMessageSize, 25 * 1024 * 1024);
    assert.equal(config.smtp.maxDataLine, 1000);
    assert.equal(config.smtp.commandTimeout, 300_000);
    assert.equal(config.smtp.dataTimeout, 600_000);
    assert.equal(config.auth.failureWindow, 900_000);
    assert.equal(config.shutdownTimeout, 10_000);
  });
});

describe("file and environment", () => {
  test("a TOML file sets nested keys; relative paths resolve against the file's directory", async () => {
    await mkdir(path.join(dir, "conf"), { recursive: true });
    const file = await writeToml(
      "conf/mailroom.toml",
      `hostname = "mail.example.org"
data_dir = "../state"
shutdown_timeout = "30s"
[log]
level = "debug"
format = "json"
recent_errors = 50
[smtp]
max_message_size = "10MiB"
max_recipients = 250
command_timeout = 60000
allow_bare_addresses = true
[auth]
failure_window = "1h"
[listeners.smtp]
port = 25
[listeners.http]
enabled = false
`,
    );
    const config = await loadConfig({ file, env: {} });
    assert.equal(config.hostname, "mail.example.org");
    assert.equal(config.dataDir, path.join(dir, "state"));
    assert.equal(config.shutdownTimeout, 30_000);
    assert.deepEqual(config.log, { level: "debug", format: "json", recentErrors: 50 });
    assert.equal(config.smtp.maxMessageSize, 10 * 1024 * 1024);
    assert.equal(config.smtp.maxRecipients, 250);
    assert.equal(config.smtp.commandTimeout, 60_000);
    assert.equal(config.smtp.allowBareAddresses, true);
    assert.equal(config.auth.failureWindow, 3_600_000);
    assert.equal(config.listeners.smtp.port, 25);
    assert.equal(config.listeners.http.enabled, false);
    assert.equal(config.listeners.pop3.port, 2110, "untouched keys keep their defaults");
  });

  test("environment beats the file, and --data-dir beats both", async () => {
    const file = await writeToml("precedence.toml", `data_dir = "/from/file"\n[listeners.smtp]\nport = 25\n`);
    const env = {
      MAILROOM_LISTENERS_SMTP_PORT: "2626",
      MAILROOM_DATA_DIR: "/from/env",
      MAILROOM_SMTP_MAX_MESSAGE_SIZE: "1MB",
      MAILROOM_LOG_LEVEL: "warn",
      MAILROOM_LISTENERS_IMAP_AUTH: "tls",
      PATH: "/usr/bin",
    };
    const fromEnv = await loadConfig({ file, env });
    assert.equal(fromEnv.listeners.smtp.port, 2626);
    assert.equal(fromEnv.dataDir, "/from/env");
    assert.equal(fromEnv.smtp.maxMessageSize, 1_000_000);
    assert.equal(fromEnv.log.level, "warn");
    assert.equal(fromEnv.listeners.imap.auth, "tls");
    const fromOption = await loadConfig({ file, env, dataDir: "relative/dir" });
    assert.equal(fromOption.dataDir, path.resolve("relative/dir"));
  });

  test("MAILROOM_CONFIG names the file when no file option is given", async () => {
    const file = await writeToml("byenv.toml", `hostname = "env.example"\n`);
    const config = await loadConfig({ env: { MAILROOM_CONFIG: file } });
    assert.equal(config.hostname, "env.example");
  });

  test("MAILROOM_TEST_ variables belong to test suites and are not configuration", async () => {
    const config = await loadConfig({ env: { MAILROOM_TEST_POSTGRES_URL: "postgres://x" } });
    assert.equal(config.store, "sqlite");
  });
});

describe("authentication policy per listener", () => {
  test("defaults: no AUTH on the MX, TLS first for submission, loopback cleartext only for IMAP and POP3", async () => {
    const config = await loadConfig({ env: {} });
    const policies = Object.fromEntries(
      Object.entries(config.listeners).map(([name, listener]) => [name, listener.auth]),
    );
    assert.deepEqual(policies, {
      smtp: "off",
      submission: "tls",
      submissions: "tls",
      pop3: "tls-or-loopback",
      pop3s: "tls",
      imap: "tls-or-loopback",
      imaps: "tls",
      http: "tls-or-loopback",
      https: "tls",
      managesieve: "tls-or-loopback",
      metrics: "off",
    });
  });

  test("[managesieve] limits load from the file and the environment; a script size over the engine's is refused", async () => {
    const file = await writeToml(
      "managesieve.toml",
      `[managesieve]\nmax_scripts = 5\nmax_script_size = "64KiB"\n`,
    );
    const config = await loadConfig({ file, env: { MAILROOM_MANAGESIEVE_MAX_ERRORS: "4" } });
    assert.equal(config.managesieve?.maxScripts, 5);
    assert.equal(config.managesieve?.maxScriptSize, 64 * 1024);
    assert.equal(config.managesieve?.maxErrors, 4);
    assert.equal(config.listeners.managesieve.port, 4190);
    await assert.rejects(
      loadConfig({ env: { MAILROOM_MANAGESIEVE_MAX_SCRIPT_SIZE: "2MiB" } }),
      /managesieve.*max_script_size|MAILROOM_MANAGESIEVE_MAX_SCRIPT_SIZE.*at most 1048576/,
    );
  });

  test("[commit]: group commit's batch and wait, from the file or the environment, bounded", async () => {
    assert.deepEqual((await loadConfig({ env: {} })).commit, { maxBatch: 256, maxWaitMicros: 0 });
    const file = await writeToml("commit.toml", "[commit]\nmax_batch = 32\nmax_wait_micros = 500\n");
    const config = await loadConfig({ file, env: { MAILROOM_COMMIT_MAX_BATCH: "8" } });
    assert.deepEqual(config.commit, { maxBatch: 8, maxWaitMicros: 500 });
    await assert.rejects(
      loadConfig({ env: { MAILROOM_COMMIT_MAX_WAIT_MICROS: "2000000" } }),
      /MAILROOM_COMMIT_MAX_WAIT_MICROS.*microseconds from 0 to 1000000/,
    );
    await assert.rejects(
      loadConfig({ env: { MAILROOM_COMMIT_MAX_BATCH: "0" } }),
      /MAILROOM_COMMIT_MAX_BATCH/,
    );
  });

  test("set per listener in the file; an unknown value lists the valid ones", async () => {
    const file = await writeToml(
      "auth.toml",
      `[listeners.submission]\nauth = "any"\n[listeners.smtp]\nauth = "tls"\n`,
    );
    const config = await loadConfig({ file, env: {} });
    assert.equal(config.listeners.submission.auth, "any");
    assert.equal(config.listeners.smtp.auth, "tls");
    const bad = await writeToml("auth-bad.toml", `[listeners.imap]\nauth = "loopback"\n`);
    assert.match(
      await failure({ file: bad, env: {} }),
      /listeners\.imap\.auth in .*auth-bad\.toml must be one of "off", "tls", "tls-or-loopback", "any", got "loopback"/,
    );
  });

  test('"off" on a listener people log in to is refused, naming the key', async () => {
    const file = await writeToml("auth-off.toml", `[listeners.imaps]\nauth = "off"\n`);
    assert.match(
      await failure({ file, env: {} }),
      /listeners\.imaps\.auth in .*auth-off\.toml is "off", which leaves no way to log in on the imaps listener; use "tls", or disable the listener/,
    );
    const disabled = await writeToml(
      "auth-off-disabled.toml",
      `[listeners.imaps]\nauth = "off"\nenabled = false\n`,
    );
    assert.equal((await loadConfig({ file: disabled, env: {} })).listeners.imaps.auth, "off");
  });

  test("the retired auth.allow_plaintext_on_loopback names its replacement, in the file and the environment", async () => {
    const file = await writeToml("retired.toml", `[auth]\nallow_plaintext_on_loopback = true\n`);
    assert.match(
      await failure({ file, env: {} }),
      /auth\.allow_plaintext_on_loopback in .*retired\.toml is no longer supported: each listener has its own policy now: set auth = "tls-or-loopback".* under \[listeners\.imap\]/,
    );
    assert.match(
      await failure({ env: { MAILROOM_AUTH_ALLOW_PLAINTEXT_ON_LOOPBACK: "false" } }),
      /^MAILROOM_AUTH_ALLOW_PLAINTEXT_ON_LOOPBACK is no longer supported: each listener has its own policy/,
    );
  });
});

describe("every error names its key", () => {
  test("unknown key, with a suggestion", async () => {
    const file = await writeToml("typo.toml", `[smtp]\nmax_mesage_size = 10\n`);
    const message = await failure({ file, env: {} });
    assert.match(
      message,
      /unknown key smtp\.max_mesage_size in .*typo\.toml; did you mean smtp\.max_message_size\?/,
    );
  });

  test("a camelCase key points at its snake_case spelling", async () => {
    const file = await writeToml("camel.toml", `shutdownTimeout = 5\n`);
    assert.match(
      await failure({ file, env: {} }),
      /unknown key shutdownTimeout .*did you mean shutdown_timeout\?/,
    );
  });

  test("a key in the wrong section points at the right one", async () => {
    const file = await writeToml("section.toml", `max_recipients = 5\n`);
    assert.match(
      await failure({ file, env: {} }),
      /unknown key max_recipients .*did you mean smtp\.max_recipients\?/,
    );
  });

  test("unknown section", async () => {
    const file = await writeToml("section2.toml", `[smpt]\nmax_errors = 3\n`);
    assert.match(await failure({ file, env: {} }), /unknown key smpt in .*did you mean smtp\?/);
  });

  test("wrong types", async () => {
    const cases: Array<[string, RegExp]> = [
      [`hostname = 5`, /hostname in .* must be a string, got 5/],
      [
        `[smtp]\nmax_recipients = "many"`,
        /smtp\.max_recipients in .* must be a positive integer, got "many"/,
      ],
      [`[smtp]\nallow_bare_addresses = "yes"`, /smtp\.allow_bare_addresses in .* must be true or false/],
      [
        `[log]\nlevel = "loud"`,
        /log\.level in .* must be one of "debug", "info", "warn", "error", got "loud"/,
      ],
      [`[smtp]\ncommand_timeout = "soon"`, /smtp\.command_timeout in .* must be a duration/],
      [`[smtp]\nmax_message_size = "big"`, /smtp\.max_message_size in .* must be a size/],
      [`smtp = 3`, /smtp in .* must be a table \(\[smtp\]\), got 3/],
      [`[listeners.smtp]\nport = 2.5`, /listeners\.smtp\.port in .* must be a port number/],
      [
        `[log]\nrecent_errors = -1`,
        /log\.recent_errors in .* must be a number of events from 0 \(keep none\) to 10000/,
      ],
      [`[log]\nrecent_errors = 20000`, /log\.recent_errors in .* must be a number of events from 0/],
    ];
    for (const [text, pattern] of cases) {
      const file = await writeToml("types.toml", `${text}\n`);
      assert.match(await failure({ file, env: {} }), pattern, text);
    }
  });

  test("bad ports", async () => {
    for (const port of [70000, -1]) {
      const file = await writeToml("port.toml", `[listeners.imap]\nport = ${port}\n`);
      assert.match(
        await failure({ file, env: {} }),
        /listeners\.imap\.port in .* must be a port number from 1 to 65535/,
      );
    }
    assert.match(
      await failure({ env: { MAILROOM_LISTENERS_POP3_PORT: "http" } }),
      /^MAILROOM_LISTENERS_POP3_PORT must be a port number/,
    );
  });

  test("two listeners on one port", async () => {
    const file = await writeToml("dup.toml", `[listeners.pop3]\nport = 2525\n`);
    assert.match(
      await failure({ file, env: {} }),
      /listeners\.pop3\.port in .* and listeners\.smtp\.port both use port 2525/,
    );
  });

  test("non-positive limits", async () => {
    for (const key of ["max_connections", "max_connections_per_ip", "max_errors", "max_transactions"]) {
      const file = await writeToml("limits.toml", `[smtp]\n${key} = 0\n`);
      assert.match(
        await failure({ file, env: {} }),
        new RegExp(`smtp\\.${key} in .* must be a positive integer, got 0`),
      );
    }
    const file = await writeToml("lines.toml", `[smtp]\nmax_command_line = 100\n`);
    assert.match(await failure({ file, env: {} }), /smtp\.max_command_line .* at least 512 \(RFC 5321/);
    assert.match(
      await failure({ env: { MAILROOM_SHUTDOWN_TIMEOUT: "0" } }),
      /MAILROOM_SHUTDOWN_TIMEOUT must be a duration/,
    );
  });

  test("an unknown MAILROOM_ variable is a warning with a suggestion, not a refusal to start", async () => {
    const warnings: string[] = [];
    const config = await loadConfig({
      env: { MAILROOM_SMTP_MAX_MESAGE_SIZE: "1", MAILROOM_DIR: "/srv/deploy" },
      onWarning: (message) => warnings.push(message),
    });
    assert.equal(config.smtp.maxMessageSize, 25 * 1024 * 1024, "nothing applied");
    assert.equal(warnings.length, 2);
    assert.ok(
      warnings.some((w) =>
        /unknown environment variable MAILROOM_SMTP_MAX_MESAGE_SIZE; did you mean MAILROOM_SMTP_MAX_MESSAGE_SIZE\?/.test(
          w,
        ),
      ),
      warnings.join("\n"),
    );
    assert.ok(warnings.some((w) => w.includes("MAILROOM_DIR")));
  });

  test("an unknown key in the TOML file stays an error", async () => {
    const file = await writeToml("unknown.toml", `[smtp]\nmax_mesage_size = 1\n`);
    assert.match(await failure({ file, env: {} }), /unknown key smtp\.max_mesage_size/);
  });

  test("several problems are reported together", async () => {
    const message = await failure({ env: { MAILROOM_LOG_LEVEL: "x", MAILROOM_STORE: "mysql://db" } });
    assert.match(message, /^2 configuration problems: /);
    assert.match(message, /MAILROOM_LOG_LEVEL/);
    assert.match(message, /MAILROOM_STORE must be "sqlite" or a postgres:\/\/ URL/);
  });

  test("bad hostname", async () => {
    assert.match(
      await failure({ env: { MAILROOM_HOSTNAME: "not a host" } }),
      /^MAILROOM_HOSTNAME must be a host name/,
    );
  });

  test("cert and key: both or neither, and readable", async () => {
    const cert = path.join(dir, "cert.pem");
    await writeFile(cert, "x");
    assert.match(
      await failure({ env: { MAILROOM_TLS_CERT: cert } }),
      /MAILROOM_TLS_CERT is set but tls\.key is not; set both/,
    );
    const file = await writeToml("tls.toml", `[tls]\ncert = "cert.pem"\nkey = "missing-key.pem"\n`);
    assert.match(
      await failure({ file, env: {} }),
      /tls\.key in .*tls\.toml: the file .*missing-key\.pem does not exist/,
    );
    if (process.getuid?.() !== 0) {
      await chmod(cert, 0o000);
      const key = path.join(dir, "key.pem");
      await writeFile(key, "x");
      assert.match(
        await failure({ env: { MAILROOM_TLS_CERT: cert, MAILROOM_TLS_KEY: key } }),
        /MAILROOM_TLS_CERT: the file .* cannot be read \(EACCES\)/,
      );
    }
    assert.match(
      await failure({ env: { MAILROOM_TLS_CERT: dir, MAILROOM_TLS_KEY: cert } }),
      /MAILROOM_TLS_CERT: the file .* is not a regular file/,
    );
  });

  test("missing file and invalid TOML", async () => {
    assert.match(
      await failure({ file: path.join(dir, "nope.toml"), env: {} }),
      /cannot read config file .*nope\.toml \(ENOENT\); check the --config path/,
    );
    const file = await writeToml("broken.toml", `[smtp\nx = 1\n`);
    assert.match(
      await failure({ file, env: {} }),
      /config file .*broken\.toml is not valid TOML \(line 1, column/,
    );
  });
});

describe("[relay] smarthost", () => {
  test("read from the file and the environment", async () => {
    const passwordFile = await writeToml("smarthost-password", "secret\n");
    const file = await writeToml(
      "smarthost.toml",
      '[relay]\nsmarthost = "smtp.provider.example:465"\nsmarthost_tls = "implicit"\nsmarthost_user = "me@example.org"\nsmarthost_password_file = "smarthost-password"\n',
    );
    const config = await loadConfig({ file, env: { MAILROOM_RELAY_SMARTHOST_DOMAINS: "example.net" } });
    assert.deepEqual(
      [config.relay.smarthost, config.relay.smarthostTls, config.relay.smarthostUser],
      ["smtp.provider.example:465", "implicit", "me@example.org"],
    );
    assert.equal(config.relay.smarthostPasswordFile, passwordFile);
    assert.equal(config.relay.smarthostDomains, "example.net");
  });

  test("a malformed host, a user without password, an unreadable file, plaintext TLS are refused", async () => {
    assert.match(
      await failure({ env: { MAILROOM_RELAY_SMARTHOST: "smtp.provider.example" } }),
      /MAILROOM_RELAY_SMARTHOST must be "host:port"/,
    );
    assert.match(
      await failure({
        env: { MAILROOM_RELAY_SMARTHOST: "smtp.provider.example:587", MAILROOM_RELAY_SMARTHOST_USER: "me" },
      }),
      /MAILROOM_RELAY_SMARTHOST_USER is set but there is no password/,
    );
    assert.match(
      await failure({ env: { MAILROOM_RELAY_SMARTHOST_PASSWORD_FILE: path.join(dir, "absent") } }),
      /MAILROOM_RELAY_SMARTHOST_PASSWORD_FILE: the file .*absent/,
    );
    assert.match(await failure({ env: { MAILROOM_RELAY_SMARTHOST_TLS: "none" } }), /SMARTHOST_TLS/);
  });
});

describe("[trust]", () => {
  test("defaults check and enforce, trust no sealer, query no blocklist", async () => {
    const config = await loadConfig({ env: {} });
    assert.deepEqual(config.trust, { verify: true, enforceDmarc: true, trustedArcSealers: [], dnsbl: [] });
  });

  test("domain lists from the file (lower-cased, trailing dot dropped) and the environment", async () => {
    const file = await writeToml(
      "trust.toml",
      '[trust]\nenforce_dmarc = false\ntrusted_arc_sealers = ["Lists.Example.org."]\ndnsbl = ["zen.test"]\n',
    );
    const config = await loadConfig({ file, env: {} });
    assert.deepEqual(config.trust, {
      verify: true,
      enforceDmarc: false,
      trustedArcSealers: ["lists.example.org"],
      dnsbl: ["zen.test"],
    });
    const fromEnv = await loadConfig({ env: { MAILROOM_TRUST_DNSBL: "a.test, b.test" } });
    assert.deepEqual(fromEnv.trust?.dnsbl, ["a.test", "b.test"]);
  });

  test("a list item that is not a domain name names the key", async () => {
    const file = await writeToml("bad-trust.toml", '[trust]\ndnsbl = ["not a domain"]\n');
    assert.match(await failure({ file, env: {} }), /trust\.dnsbl/);
  });
});
