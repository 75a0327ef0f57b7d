// The [imap] and [pop3] sections: parsing, environment overrides, the RFC minimums, and that the values
// reach the protocol handlers through src/server/protocols.ts.

import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createSecureContext } from "node:tls";
import { pino } from "pino";
import { generate } from "selfsigned";
import { defaultConfig } from "../../src/config/defaults.js";
import { ConfigError, loadConfig } from "../../src/config/load.js";
import { envName, FIELDS, tomlKey } from "../../src/config/schema.js";
import type { ServiceDeps } from "../../src/server/deps.js";
import { protocols } from "../../src/server/protocols.js";
import { ADDRESS, createFixture, PASSWORD, type Pop3Fixture } from "../pop3/fixtures.js";
import { type LoopbackServer, listenOnLoopback } from "../support/listen.js";

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mailroom-limits-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function failure(options: Parameters<typeof loadConfig>[0]): Promise<string> {
  try {
    await loadConfig(options);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.message;
  }
  assert.fail("loadConfig accepted a bad configuration");
}

const MINUTE = 60_000;

describe("[imap] and [pop3] configuration", () => {
  test("defaults are the limits the handlers used before they were configurable", async () => {
    const config = await loadConfig({ env: {} });
    assert.deepEqual(config.imap, {
      idleTimeout: 30 * MINUTE,
      maxErrors: 20,
      maxLineLength: 64 * 1024,
      maxLiteralSize: 64 * 1024,
      maxUpdateContexts: 5,
      metadataMaxSize: 16 * 1024,
      metadataMaxEntries: 1000,
      notifyMaxPending: 10_000,
    });
    assert.deepEqual(config.pop3, {
      idleTimeout: 10 * MINUTE,
      maxErrors: 10,
      maxLineLength: 255,
      maxSaslLineLength: 8192,
    });
  });

  test("the one table names the TOML keys and environment variables", () => {
    const pop3 = FIELDS.filter((field) => field.path[0] === "pop3");
    assert.deepEqual(pop3.map(tomlKey), [
      "pop3.idle_timeout",
      "pop3.max_errors",
      "pop3.max_line_length",
      "pop3.max_sasl_line_length",
    ]);
    assert.deepEqual(FIELDS.filter((field) => field.path[0] === "imap").map(envName), [
      "MAILROOM_IMAP_IDLE_TIMEOUT",
      "MAILROOM_IMAP_MAX_ERRORS",
      "MAILROOM_IMAP_MAX_LINE_LENGTH",
      "MAILROOM_IMAP_MAX_LITERAL_SIZE",
      "MAILROOM_IMAP_MAX_UPDATE_CONTEXTS",
      "MAILROOM_IMAP_METADATA_MAX_SIZE",
      "MAILROOM_IMAP_METADATA_MAX_ENTRIES",
      "MAILROOM_IMAP_NOTIFY_MAX_PENDING",
    ]);
  });

  test("a TOML file sets them with units; the environment beats the file", async () => {
    const file = path.join(dir, "limits.toml");
    await writeFile(
      file,
      `[imap]
idle_timeout = "1h"
max_errors = 5
max_line_length = "16KiB"
max_literal_size = "1MiB"
max_update_contexts = 2
metadata_max_size = "4KiB"
metadata_max_entries = 50
notify_max_pending = 200
[pop3]
idle_timeout = "15m"
max_errors = 3
max_line_length = "1KiB"
max_sasl_line_length = "16KiB"
`,
    );
    const fromFile = await loadConfig({ file, env: {} });
    assert.deepEqual(fromFile.imap, {
      idleTimeout: 60 * MINUTE,
      maxErrors: 5,
      maxLineLength: 16 * 1024,
      maxLiteralSize: 1024 * 1024,
      maxUpdateContexts: 2,
      metadataMaxSize: 4 * 1024,
      metadataMaxEntries: 50,
      notifyMaxPending: 200,
    });
    assert.deepEqual(fromFile.pop3, {
      idleTimeout: 15 * MINUTE,
      maxErrors: 3,
      maxLineLength: 1024,
      maxSaslLineLength: 16 * 1024,
    });
    const overridden = await loadConfig({
      file,
      env: {
        MAILROOM_POP3_IDLE_TIMEOUT: "20m",
        MAILROOM_IMAP_MAX_ERRORS: "7",
        MAILROOM_POP3_MAX_LINE_LENGTH: "512",
        MAILROOM_IMAP_MAX_LITERAL_SIZE: "2MiB",
        MAILROOM_IMAP_MAX_UPDATE_CONTEXTS: "3",
      },
    });
    assert.equal(overridden.pop3?.idleTimeout, 20 * MINUTE);
    assert.equal(overridden.pop3?.maxLineLength, 512);
    assert.equal(overridden.pop3?.maxErrors, 3, "keys not in the environment keep the file's value");
    assert.equal(overridden.imap?.maxErrors, 7);
    assert.equal(overridden.imap?.maxLiteralSize, 2 * 1024 * 1024);
    assert.equal(overridden.imap?.maxUpdateContexts, 3);
    assert.equal(overridden.imap?.maxLineLength, 16 * 1024);
  });

  test("idle timeouts below the RFC minimums are refused, citing the RFC", async () => {
    assert.match(
      await failure({ env: { MAILROOM_IMAP_IDLE_TIMEOUT: "29m" } }),
      /^MAILROOM_IMAP_IDLE_TIMEOUT must be a duration of at least 30 minutes.*RFC 9051 §5\.4.*got "29m"$/,
    );
    assert.match(
      await failure({ env: { MAILROOM_POP3_IDLE_TIMEOUT: "9m" } }),
      /^MAILROOM_POP3_IDLE_TIMEOUT must be a duration of at least 10 minutes.*RFC 1939 §3.*got "9m"$/,
    );
    const file = path.join(dir, "short.toml");
    await writeFile(file, `[pop3]\nidle_timeout = 60000\n`);
    assert.match(
      await failure({ file, env: {} }),
      /^pop3\.idle_timeout in .*short\.toml must be .*RFC 1939 §3/,
    );
    assert.equal(
      (await loadConfig({ env: { MAILROOM_POP3_IDLE_TIMEOUT: "10m" } })).pop3?.idleTimeout,
      10 * MINUTE,
    );
  });

  test("other bad values name the key and the rule", async () => {
    assert.match(
      await failure({ env: { MAILROOM_IMAP_MAX_LINE_LENGTH: "4KiB" } }),
      /MAILROOM_IMAP_MAX_LINE_LENGTH must be a size of at least 8192 octets.*RFC 7162 §4.*got "4KiB"/,
    );
    assert.match(
      await failure({ env: { MAILROOM_IMAP_MAX_LITERAL_SIZE: "big" } }),
      /MAILROOM_IMAP_MAX_LITERAL_SIZE must be a size of at least 1024 octets/,
    );
    assert.match(
      await failure({ env: { MAILROOM_POP3_MAX_LINE_LENGTH: "200" } }),
      /MAILROOM_POP3_MAX_LINE_LENGTH must be a size of at least 255 octets.*RFC 2449 §4/,
    );
    assert.match(
      await failure({ env: { MAILROOM_POP3_MAX_SASL_LINE_LENGTH: "100" } }),
      /MAILROOM_POP3_MAX_SASL_LINE_LENGTH must be a size of at least 1024 octets/,
    );
    assert.match(
      await failure({ env: { MAILROOM_POP3_MAX_ERRORS: "0" } }),
      /MAILROOM_POP3_MAX_ERRORS must be a positive integer/,
    );
    assert.match(
      await failure({ env: { MAILROOM_IMAP_MAX_ERRORS: "many" } }),
      /MAILROOM_IMAP_MAX_ERRORS must be a positive integer/,
    );
    const file = path.join(dir, "typo.toml");
    await writeFile(file, `[pop3]\nmax_line_lenght = 512\n`);
    assert.match(
      await failure({ file, env: {} }),
      /unknown key pop3\.max_line_lenght .*did you mean pop3\.max_line_length\?/,
    );
  });
});

describe("the configured limits reach the handlers", () => {
  let fixture: Pop3Fixture;
  let deps: ServiceDeps;
  let pop3: LoopbackServer;
  let imap: LoopbackServer;

  before(async () => {
    fixture = await createFixture();
    const pems = await generate([{ name: "commonName", value: "mail.example.test" }], { keySize: 2048 });
    const config = defaultConfig({ hostname: "mail.example.test" });
    // Below the RFC minimum on purpose: loadConfig would refuse it, but the wiring is what is tested.
    // 1.5 s: long enough that a password check on a loaded machine (scrypt, a silent socket meanwhile)
    // does not itself run into the idle timer, short enough to wait for.
    config.pop3 = { idleTimeout: 1500, maxErrors: 2, maxLineLength: 300, maxSaslLineLength: 8192 };
    config.imap = {
      idleTimeout: 60_000,
      maxErrors: 20,
      maxLineLength: 8192,
      maxLiteralSize: 2048,
      maxUpdateContexts: 1,
      metadataMaxSize: 1024,
      metadataMaxEntries: 10,
      notifyMaxPending: 100,
    };
    deps = {
      config,
      store: fixture.store,
      logger: pino({ level: "silent" }),
      authenticator: fixture.authenticator,
      tls: createSecureContext({ key: pems.private, cert: pems.cert }),
    };
    const factory = protocols.pop3;
    assert.ok(factory, "pop3 has a protocol factory");
    pop3 = await listenOnLoopback(factory("pop3", deps), "pop3");
    const imapFactory = protocols.imap;
    assert.ok(imapFactory, "imap has a protocol factory");
    imap = await listenOnLoopback(imapFactory("imap", deps), "imap");
  });

  after(async () => {
    await pop3.close();
    await imap.close();
    await fixture.cleanup();
  });

  /** Sends the lines, then reads until the server closes (or 5 s pass); returns all it said. */
  async function conversation(lines: string[]): Promise<{ text: string; closed: boolean }> {
    const socket = connect(pop3.port, "127.0.0.1");
    socket.setEncoding("latin1");
    let text = "";
    socket.on("data", (chunk: string) => {
      text += chunk;
    });
    await once(socket, "connect");
    for (const line of lines) socket.write(`${line}\r\n`);
    const closed = await Promise.race([
      once(socket, "close").then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000).unref()),
    ]);
    socket.destroy();
    return { text, closed };
  }

  test("pop3.idle_timeout: a silent client is dropped without a reply", async () => {
    const { text, closed } = await conversation([`USER ${ADDRESS}`, `PASS ${PASSWORD}`]);
    assert.equal(closed, true, "the server closed the idle connection");
    assert.equal(
      text.split("\r\n").filter((line) => line !== "").length,
      3,
      "greeting, USER and PASS replies only",
    );
  });

  test("pop3.max_line_length and pop3.max_errors", async () => {
    const { text, closed } = await conversation([
      `NOOP ${"x".repeat(280)}`,
      `NOOP ${"x".repeat(300)}`,
      "FROB",
    ]);
    const replies = text.split("\r\n").filter((line) => line !== "");
    // A 286-octet line fits the configured 300 (the default 255 would refuse it as too long).
    assert.equal(replies[1], '-ERR "NOOP" is only valid after login');
    assert.match(replies[2] ?? "", /^-ERR line too long \(this server takes lines of up to 300 octets/);
    assert.match(replies[3] ?? "", /^-ERR too many bad commands/, "the second error closes the session");
    assert.equal(closed, true);
  });

  test("imap.max_literal_size: a larger literal is refused with [TOOBIG] naming the limit", {
    timeout: 5000,
  }, async () => {
    const socket = connect(imap.port, "127.0.0.1");
    socket.setEncoding("latin1");
    let text = "";
    const tagged = new Promise<void>((resolve) => {
      socket.on("data", (chunk: string) => {
        text += chunk;
        if (/\r\na1 [A-Z]+ .*\r\n$/.test(text)) resolve();
      });
    });
    await once(socket, "connect");
    socket.write("a1 LOGIN {3000}\r\n");
    await tagged;
    socket.destroy();
    assert.match(text, /\r\na1 BAD \[TOOBIG\] the literal is larger than the 2048 octets allowed here/);
  });
});
