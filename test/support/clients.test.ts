import assert from "node:assert/strict";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { needs, REQUIRE_CLIENTS } from "./clients.js";

describe("needs: declaring the external clients a test runs", () => {
  let dir: string;
  const saved = { path: process.env.PATH, required: process.env[REQUIRE_CLIENTS] };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "mailroom-clients-"));
    await writeFile(join(dir, "runnable"), "#!/bin/sh\n");
    await chmod(join(dir, "runnable"), 0o755);
    await writeFile(join(dir, "not-runnable"), "");
    await chmod(join(dir, "not-runnable"), 0o644);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  // CI runs this file with the variable set; each test chooses it for itself.
  beforeEach(() => {
    process.env.PATH = `${join(dir, "missing")}:${dir}`;
    delete process.env[REQUIRE_CLIENTS];
  });
  afterEach(() => {
    process.env.PATH = saved.path;
    if (saved.required === undefined) delete process.env[REQUIRE_CLIENTS];
    else process.env[REQUIRE_CLIENTS] = saved.required;
  });

  test("an executable found on PATH or by absolute path: no skip", () => {
    assert.equal(needs({ binary: "runnable", package: "runnable-pkg" }), undefined);
    assert.equal(needs({ binary: process.execPath, package: "nodejs" }), undefined);
    assert.equal(
      needs({ binary: process.execPath, package: "nodejs", file: join(dir, "not-runnable") }),
      undefined,
    );
  });

  test("absent, or present but not executable: the skip reason names the Debian package", () => {
    assert.equal(
      needs({ binary: "mbsync", package: "isync" }),
      "mbsync is not installed: apt-get install isync",
    );
    assert.equal(
      needs({ binary: "not-runnable", package: "some-pkg" }),
      "not-runnable is not installed: apt-get install some-pkg",
    );
    assert.equal(
      needs({ binary: join(dir, "runnable"), package: "python3-dkim", file: join(dir, "dkim.py") }),
      `${join(dir, "dkim.py")} is not installed: apt-get install python3-dkim`,
    );
    assert.equal(
      needs(
        { binary: "runnable", package: "a" },
        { binary: "swaks", package: "swaks" },
        {
          binary: "msmtp",
          package: "msmtp",
        },
      ),
      "swaks is not installed: apt-get install swaks; msmtp is not installed: apt-get install msmtp",
    );
  });

  test(`${REQUIRE_CLIENTS}=1: a missing client throws, naming binary and package`, () => {
    process.env[REQUIRE_CLIENTS] = "1";
    assert.throws(
      () => needs({ binary: "mbsync", package: "isync" }),
      /^Error: mbsync is not installed: apt-get install isync \(MAILROOM_TEST_REQUIRE_CLIENTS=1/,
    );
    assert.equal(needs({ binary: "runnable", package: "runnable-pkg" }), undefined);
  });
});
