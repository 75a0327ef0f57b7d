import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { verifyPasswordHash } from "../../src/auth/password.js";
import { openStore } from "../../src/store/open.js";
import { clients, needs } from "../support/clients.js";
import { makeDataDir, withTestStore } from "./helpers.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const mainScript = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const ptyRunner = fileURLToPath(new URL("./fixtures/pty-run.py", import.meta.url));
const mailroom = (...args: string[]): string[] => [process.execPath, "--import", "tsx", mainScript, ...args];

interface Finished {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

function run(argv: string[], input?: string): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const [command = "", ...args] = argv;
    const child = spawn(command, args, { cwd: root, env: { PATH: process.env.PATH ?? "" } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString("utf8") }),
    );
    child.stdin.end(input ?? "");
  });
}

describe("the mailroom binary", () => {
  let dataDir: string;
  let cleanup: () => Promise<void>;
  const hashOf = (address: string): Promise<string> =>
    withTestStore(dataDir, async (store) => (await store.directory.getUser(address))?.passwordHash ?? "");

  before(async () => {
    ({ dataDir, cleanup } = await makeDataDir());
  });
  after(() => cleanup());

  test("runs as a script: domain add, then user add with a piped password", async () => {
    const domain = await run(mailroom("domain", "add", "example.org", "--data-dir", dataDir));
    assert.deepEqual([domain.code, domain.stderr], [0, "added domain example.org\n"]);
    const user = await run(
      mailroom("user", "add", "alice@example.org", "--data-dir", dataDir),
      "piped secret\n",
    );
    assert.deepEqual([user.code, user.stderr], [0, "added user alice@example.org\n"]);
    assert.equal(await verifyPasswordHash("piped secret", await hashOf("alice@example.org")), true);
  });

  test("works while another process (a running server) holds the store open", async () => {
    const server = await openStore({ store: "sqlite", dataDir, logger: pino({ level: "silent" }) });
    try {
      const added = await run(
        mailroom("alias", "add", "team@example.org", "alice@example.org", "--data-dir", dataDir),
      );
      assert.equal(added.code, 0, added.stderr);
      assert.deepEqual(await server.directory.aliasDestinations("team@example.org"), ["alice@example.org"]);
    } finally {
      await server.close();
    }
  });

  test("errors exit with their code and one line on stderr", async () => {
    const unknown = await run(mailroom("nope"));
    assert.deepEqual(
      [unknown.code, unknown.stderr],
      [64, "mailroom: unknown command 'nope'; see 'mailroom --help'\n"],
    );
  });

  test("on a terminal the password is asked twice and never echoed", {
    skip: needs(clients.python3),
  }, async () => {
    const answers = JSON.stringify([
      ["Password: ", "hunter22\r"],
      ["Again: ", "hunter22\r"],
    ]);
    const result = await run([
      "python3",
      ptyRunner,
      answers,
      ...mailroom("user", "add", "bob@example.org", "--data-dir", dataDir),
    ]);
    const screen = Buffer.from(result.stdout.toString(), "base64").toString("utf8");
    assert.equal(result.code, 0, screen);
    assert.match(screen, /Password: /);
    assert.match(screen, /Again: /);
    assert.ok(!screen.includes("hunter22"), `the password was echoed: ${JSON.stringify(screen)}`);
    assert.equal(await verifyPasswordHash("hunter22", await hashOf("bob@example.org")), true);
  });

  test("Ctrl-C at the terminal prompt aborts with 130 and changes nothing", {
    skip: needs(clients.python3),
  }, async () => {
    const before = await hashOf("bob@example.org");
    const answers = JSON.stringify([["Password: ", "new\x03"]]);
    const result = await run([
      "python3",
      ptyRunner,
      answers,
      ...mailroom("user", "passwd", "bob@example.org", "--data-dir", dataDir),
    ]);
    const screen = Buffer.from(result.stdout.toString(), "base64").toString("utf8");
    assert.equal(result.code, 130, screen);
    assert.match(screen, /mailroom: aborted; nothing was changed/);
    assert.equal(await hashOf("bob@example.org"), before);
  });
});
