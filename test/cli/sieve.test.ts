// `mailroom sieve check`: valid scripts say ok, invalid ones name file, line and column, and the exit
// status tells a script error (65) from an unreadable file (66) and a usage error (64). `mailroom sieve
// put|activate|list|get|delete`: a user's scripts in a real store, invalid ones refused, and the
// [managesieve] limits kept as ManageSieve and JMAP Sieve keep them.

import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, test } from "node:test";
import { CliError } from "../../src/cli/command.js";
import { sieveCommand } from "../../src/cli/sieve.js";
import { makeDataDir, runCli, withTestStore } from "./helpers.js";

async function run(argv: string[], stdin = ""): Promise<{ code: number; stdout: string; stderr: string }> {
  const input = new PassThrough();
  input.end(stdin);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const stdout = new PassThrough().on("data", (chunk: Buffer) => out.push(chunk));
  const stderr = new PassThrough().on("data", (chunk: Buffer) => err.push(chunk));
  let code: number;
  try {
    code = await sieveCommand.run(argv, { stdin: input, stdout, stderr, env: {} });
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    code = error.exitCode;
    err.push(Buffer.from(error.message));
  }
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

describe("mailroom sieve check", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "mailroom-sieve-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("a valid script is ok; an invalid one gets FILE:LINE:COLUMN and exit 65", async () => {
    const good = join(dir, "good.sieve");
    const bad = join(dir, "bad.sieve");
    await writeFile(
      good,
      'require "fileinto";\nif header :contains "subject" "lunch" { fileinto "Food"; }\n',
    );
    await writeFile(bad, 'if true {\n  fileinto "Food";\n}\n');
    const ok = await run(["check", good]);
    assert.equal(ok.code, 0);
    assert.equal(ok.stdout, `${good}: ok\n`);
    const failed = await run(["check", good, bad]);
    assert.equal(failed.code, 65);
    assert.match(failed.stdout, new RegExp(`^${bad.replace(/[.]/g, "\\.")}:2:3: .*fileinto`, "m"));
  });

  test("- reads stdin; an unreadable file is 66; no action or no file is a usage error", async () => {
    const fromStdin = await run(["check", "-"], "keep;\n");
    assert.equal(fromStdin.stdout, "-: ok\n");
    const missing = await run(["check", join(dir, "absent.sieve")]);
    assert.equal(missing.code, 66);
    assert.match(missing.stderr, /cannot read .*absent\.sieve \(ENOENT\)/);
    assert.equal((await run([])).code, 64);
    assert.equal((await run(["check"])).code, 64);
    assert.equal((await run(["put", "x"])).code, 64);
  });
});

describe("mailroom sieve put|activate|list|get|delete", () => {
  let dataDir: string;
  let cleanup: () => Promise<void>;
  const cli = (argv: string[], stdin?: string) => runCli([...argv, "--data-dir", dataDir], { stdin });
  const lists =
    'require ["fileinto", "mailbox"];\nif header :contains "list-id" "dev" { fileinto :create "Lists"; }\n';

  before(async () => {
    ({ dataDir, cleanup } = await makeDataDir());
    assert.equal((await cli(["domain", "add", "example.org"])).code, 0);
    assert.equal(
      (await cli(["user", "add", "alice@example.org", "--password-stdin"], "long password\n")).code,
      0,
    );
  });
  after(() => cleanup());

  test("put from a file and from stdin, list with the active one marked, get prints the source", async () => {
    const file = join(dataDir, "lists.sieve");
    await writeFile(file, lists);
    const put = await cli(["sieve", "put", "Alice@example.org", "lists", file]);
    assert.deepEqual([put.code, put.stderr], [0, "script 'lists' of alice@example.org stored\n"]);
    assert.equal((await cli(["sieve", "put", "alice@example.org", "plain", "-"], "keep;\n")).code, 0);
    assert.equal((await cli(["sieve", "list", "alice@example.org"])).stdout.toString(), "  lists\n  plain\n");
    const activate = await cli(["sieve", "activate", "alice@example.org", "lists"]);
    assert.deepEqual(
      [activate.code, activate.stderr],
      [0, "script 'lists' of alice@example.org is active\n"],
    );
    assert.equal((await cli(["sieve", "list", "alice@example.org"])).stdout.toString(), "* lists\n  plain\n");
    assert.equal((await cli(["sieve", "get", "alice@example.org", "lists"])).stdout.toString(), lists);
    const active = await withTestStore(dataDir, async (store) => {
      const user = await store.directory.getUser("alice@example.org");
      assert.ok(user);
      return store.sieveScripts.getActiveScript(user.id);
    });
    assert.deepEqual(active, { name: "lists", source: lists, active: true });
  });

  test("an invalid script is refused with FILE:LINE:COLUMN and nothing is stored", async () => {
    const bad = await cli(
      ["sieve", "put", "alice@example.org", "bad", "-"],
      'if true {\n  fileinto "Food";\n}\n',
    );
    assert.equal(bad.code, 65);
    assert.match(bad.stdout.toString(), /^-:2:3: .*fileinto/m);
    assert.equal((await cli(["sieve", "get", "alice@example.org", "bad"])).code, 1);
    assert.doesNotMatch((await cli(["sieve", "list", "alice@example.org"])).stdout.toString(), /bad/);
  });

  test("put keeps [managesieve] max_scripts and max_script_size; replacing needs no more room", async () => {
    const env = { MAILROOM_MANAGESIEVE_MAX_SCRIPTS: "2", MAILROOM_MANAGESIEVE_MAX_SCRIPT_SIZE: "1KiB" };
    const put = (name: string, source: string) =>
      runCli(["sieve", "put", "alice@example.org", name, "-", "--data-dir", dataDir], { stdin: source, env });
    const many = await put("third", "keep;\n");
    assert.equal(many.code, 1);
    assert.match(many.stderr, /already has 2 scripts, \[managesieve\] max_scripts/);
    assert.equal((await put("plain", "stop;\n")).code, 0);
    const big = await put("plain", `# ${"x".repeat(1100)}\nkeep;\n`);
    assert.equal(big.code, 1);
    assert.match(big.stderr, /larger than \[managesieve\] max_script_size \(1024 octets\)/);
    assert.equal((await cli(["sieve", "get", "alice@example.org", "plain"])).stdout.toString(), "stop;\n");
  });

  test("activate --none, delete, and the refusals: unknown user, unknown script, bad name", async () => {
    assert.equal((await cli(["sieve", "put", "alice@example.org", "gone", "-"], "discard;\n")).code, 0);
    assert.equal((await cli(["sieve", "activate", "alice@example.org", "gone"])).code, 0);
    assert.equal((await cli(["sieve", "delete", "alice@example.org", "gone"])).code, 0);
    assert.doesNotMatch((await cli(["sieve", "list", "alice@example.org"])).stdout.toString(), /\*/);
    assert.equal((await cli(["sieve", "activate", "alice@example.org", "plain"])).code, 0);
    assert.equal((await cli(["sieve", "activate", "alice@example.org", "--none"])).code, 0);
    assert.doesNotMatch((await cli(["sieve", "list", "alice@example.org"])).stdout.toString(), /\*/);
    const unknownScript = await cli(["sieve", "delete", "alice@example.org", "gone"]);
    assert.equal(unknownScript.code, 1);
    assert.match(unknownScript.stderr, /has no Sieve script 'gone'/);
    const unknownUser = await cli(["sieve", "list", "nobody@example.org"]);
    assert.equal(unknownUser.code, 1);
    assert.match(unknownUser.stderr, /there is no user nobody@example\.org/);
    assert.equal((await cli(["sieve", "activate", "alice@example.org"])).code, 64);
    assert.equal((await cli(["sieve", "activate", "alice@example.org", "plain", "--none"])).code, 64);
    assert.equal((await cli(["sieve", "get", "alice@example.org", "a\nb"])).code, 64);
  });
});
