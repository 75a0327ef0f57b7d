import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseCommandArgs, storeOptions } from "../../src/cli/args.js";
import { type CliCommandEntry, CliError, ExitCode } from "../../src/cli/command.js";
import { storeExitCode } from "../../src/cli/main.js";
import { StoreError } from "../../src/store/types.js";
import { makeDataDir, runCli } from "./helpers.js";

const packageVersion = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;

describe("mailroom dispatcher", () => {
  test("--help and -h list every command with its summary on stdout", async () => {
    for (const flag of ["--help", "-h"]) {
      const run = await runCli([flag]);
      assert.equal(run.code, 0);
      const text = run.stdout.toString();
      for (const name of ["serve", "domain", "user", "alias", "mail"]) {
        assert.match(text, new RegExp(`^  ${name} +\\S`, "m"), `${name} listed`);
      }
      assert.match(text, /add, list and remove users/);
    }
  });

  test("no arguments prints the usage on stderr and exits 64", async () => {
    const run = await runCli([]);
    assert.equal(run.code, ExitCode.usage);
    assert.match(run.stderr, /^Usage: mailroom <command>/);
    assert.equal(run.stdout.length, 0);
  });

  test("<command> --help and help <command> print that command's help", async () => {
    for (const argv of [
      ["user", "--help"],
      ["help", "user"],
      ["user", "add", "--help"],
    ]) {
      const run = await runCli(argv);
      assert.equal(run.code, 0, argv.join(" "));
      assert.match(run.stdout.toString(), /^Usage: mailroom user <action>/);
    }
    const serve = await runCli(["serve", "--help"]);
    assert.equal(serve.code, 0);
    assert.ok(serve.stdout.length > 0);
  });

  test("--version prints the package version", async () => {
    const run = await runCli(["--version"]);
    assert.equal(run.code, 0);
    assert.equal(run.stdout.toString(), `mailroom ${packageVersion}\n`);
  });

  test("an unknown command or option is a usage error (64)", async () => {
    const run = await runCli(["frobnicate"]);
    assert.equal(run.code, 64);
    assert.equal(run.stderr, "mailroom: unknown command 'frobnicate'; see 'mailroom --help'\n");
    const option = await runCli(["--frob"]);
    assert.equal(option.code, 64);
    assert.equal(option.stderr, "mailroom: unknown option '--frob'; see 'mailroom --help'\n");
    const help = await runCli(["help", "nope"]);
    assert.equal(help.code, 64);
  });

  test("bad arguments to a command are usage errors naming its help", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["user"], /missing action/],
      [["user", "frob"], /unknown action 'frob'/],
      [["domain", "add"], /missing NAME/],
      [["domain", "add", "a.org", "b.org"], /unexpected argument 'b.org'/],
      [["domain", "add", "not a domain"], /not a valid domain name/],
      [["user", "add", "no-at-sign"], /not a valid address/],
      [["user", "add", "a@b.org", "--nope"], /Unknown option '--nope'/],
      [["mail", "cat", "a@b.org", "INBOX", "abc"], /'abc' is not a UID/],
    ];
    for (const [argv, message] of cases) {
      const run = await runCli(argv);
      assert.equal(run.code, 64, argv.join(" "));
      assert.match(run.stderr, message, argv.join(" "));
      assert.match(run.stderr, /see 'mailroom (user|domain|mail) --help'\n$/, argv.join(" "));
    }
  });

  test("CliError, StoreError and unexpected errors map to their exit codes", async () => {
    const throwing = (error: unknown): CliCommandEntry => ({
      name: "boom",
      summary: "fails",
      load: async () => ({ name: "boom", help: "", run: () => Promise.reject(error) }),
    });
    const cli = await runCli(["boom"], { commands: [throwing(new CliError("try again later", 75))] });
    assert.deepEqual([cli.code, cli.stderr], [75, "mailroom: try again later\n"]);
    const full = await runCli(["boom"], { commands: [throwing(new StoreError("full", "the disk is full"))] });
    assert.deepEqual([full.code, full.stderr], [75, "mailroom: the disk is full\n"]);
    const bug = await runCli(["boom"], { commands: [throwing(new TypeError("x is undefined"))] });
    assert.equal(bug.code, 70);
    assert.match(bug.stderr, /internal error/);
    assert.match(bug.stderr, /TypeError: x is undefined\n\s+at /);
  });

  test("store error codes: the request was wrong (1) or try later (75)", () => {
    for (const code of ["not-found", "exists", "invalid", "not-empty"] as const) {
      assert.equal(storeExitCode(new StoreError(code, "x")), 1, code);
    }
    for (const code of ["unavailable", "full", "in-use", "locked"] as const) {
      assert.equal(storeExitCode(new StoreError(code, "x")), 75, code);
    }
  });

  test("parseCommandArgs accepts options anywhere and '--' ends them", () => {
    const parsed = parseCommandArgs(["list", "--data-dir", "/d", "--", "--weird"], storeOptions, "x");
    assert.deepEqual(parsed.positionals, ["list", "--weird"]);
    assert.equal(parsed.values["data-dir"], "/d");
  });
});

describe("only serve and init create a store", () => {
  test("a command on a directory with no store stops with exit 66 and creates nothing", async () => {
    const { dataDir, cleanup } = await makeDataDir();
    try {
      const wrong = join(dataDir, "typo");
      const run = await runCli(["domain", "add", "example.org", "--data-dir", wrong]);
      assert.equal(run.code, ExitCode.noInput);
      assert.match(
        run.stderr,
        /^mailroom: no mailroom store in .*typo; point the command at .*--data-dir.*--config.*MAILROOM_DATA_DIR/,
      );
      assert.equal(run.stderr.trimEnd().split("\n").length, 1, "one line");
      await assert.rejects(stat(wrong), { code: "ENOENT" });
      const viaEnv = await runCli(["user", "list"], { env: { MAILROOM_DATA_DIR: wrong } });
      assert.equal(viaEnv.code, ExitCode.noInput);
    } finally {
      await cleanup();
    }
  });

  test("init creates the store (a 0700 directory), and a second init changes nothing", async () => {
    const { dataDir, cleanup } = await makeDataDir();
    try {
      const fresh = join(dataDir, "new");
      const first = await runCli(["init", "--data-dir", fresh]);
      assert.equal(first.code, ExitCode.ok, first.stderr);
      assert.match(first.stdout.toString(), /^created a mailroom store in .*new\n$/);
      assert.equal((await stat(fresh)).mode & 0o777, 0o700);
      const again = await runCli(["init", "--data-dir", fresh]);
      assert.match(again.stdout.toString(), /already holds a mailroom store/);
      assert.equal((await runCli(["domain", "add", "example.org", "--data-dir", fresh])).code, ExitCode.ok);
    } finally {
      await cleanup();
    }
  });
});

describe("configuration and store errors reach the user", () => {
  let dataDir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dataDir, cleanup } = await makeDataDir());
  });
  after(() => cleanup());

  test("a bad configuration file exits 78 naming the key", async () => {
    const file = join(dataDir, "mailroom.toml");
    await writeFile(file, "hostnam = 'x'\n");
    const run = await runCli(["domain", "list", "--config", file, "--data-dir", dataDir]);
    assert.equal(run.code, ExitCode.config);
    assert.match(run.stderr, /^mailroom: .*hostnam/);
  });

  test("an unknown MAILROOM_ variable is a warning on stderr; the command still runs", async () => {
    const run = await runCli(["domain", "list", "--data-dir", dataDir], { env: { MAILROOM_BOGUS: "1" } });
    assert.equal(run.code, ExitCode.ok);
    assert.match(run.stderr, /^mailroom: warning: ignoring unknown environment variable MAILROOM_BOGUS/);
  });

  test("a store that cannot open is a temporary failure, exit 75", async () => {
    const notADirectory = join(dataDir, "plain-file");
    await writeFile(notADirectory, "");
    const run = await runCli(["domain", "list", "--data-dir", notADirectory]);
    assert.equal(run.code, ExitCode.tempFail);
    assert.match(run.stderr, /^mailroom: .*plain-file/);
  });
});
