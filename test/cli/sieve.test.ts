// `mailroom sieve check`: valid scripts say ok, invalid ones name file, line and column, and the exit
// status tells a script error (65) from an unreadable file (66) and a usage error (64).

import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, test } from "node:test";
import { CliError } from "../../src/cli/command.js";
import { sieveCommand } from "../../src/cli/sieve.js";

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
