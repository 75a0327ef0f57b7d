// Spawns the real `mailroom serve` (through a fixture that runs it like the dispatcher does) and checks
// what an operator sees: logs, the lock, signals, and one clear line for each way startup can fail.

import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net, { type Socket } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { LISTENER_NAMES } from "../../src/config/defaults.js";

const fixture = fileURLToPath(new URL("./fixtures/serve.ts", import.meta.url));
const projectRoot = fileURLToPath(new URL("../..", import.meta.url));

let root: string;
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "mailroom-serve-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The parent's environment without MAILROOM_* settings, plus every listener on a free loopback port. */
function serveEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env))
    if (!name.startsWith("MAILROOM_")) env[name] = value;
  for (const name of LISTENER_NAMES) {
    env[`MAILROOM_LISTENERS_${name.toUpperCase()}_PORT`] = "0";
    env[`MAILROOM_LISTENERS_${name.toUpperCase()}_HOST`] = "127.0.0.1";
  }
  return { ...env, MAILROOM_HOSTNAME: "mail.example.test", MAILROOM_TEST_GREETER: "1", ...extra };
}

interface Served {
  child: ChildProcess;
  logs: Array<Record<string, unknown>>;
  stdoutText: () => string;
  stderrText: () => string;
  exit: Promise<number | null>;
  waitForLog(pattern: RegExp): Promise<Record<string, unknown>>;
}

function serve(args: string[], env: NodeJS.ProcessEnv = serveEnv()): Served {
  const child = spawn(process.execPath, ["--import", "tsx", fixture, ...args], { cwd: projectRoot, env });
  let stdout = "";
  let stderr = "";
  const logs: Array<Record<string, unknown>> = [];
  const waiters: Array<{ pattern: RegExp; resolve: (line: Record<string, unknown>) => void }> = [];
  child.stdout?.on("data", (chunk: Buffer) => {
    const start = stdout.lastIndexOf("\n") + 1;
    stdout += chunk.toString();
    const complete = stdout.slice(start, stdout.lastIndexOf("\n") + 1);
    for (const text of complete.split("\n").filter(Boolean)) {
      const line = JSON.parse(text) as Record<string, unknown>;
      logs.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.pattern.test(String(line.msg))) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exit = once(child, "exit").then(([code]) => code as number | null);
  return {
    child,
    logs,
    exit,
    stdoutText: () => stdout,
    stderrText: () => stderr,
    waitForLog(pattern) {
      const seen = logs.find((line) => pattern.test(String(line.msg)));
      if (seen) return Promise.resolve(seen);
      // An early exit would otherwise leave the test waiting forever.
      const died = exit.then((code) => {
        throw new Error(`serve exited (${code}) before logging ${pattern}; stderr: ${stderr}`);
      });
      return Promise.race([
        new Promise<Record<string, unknown>>((resolve) => waiters.push({ pattern, resolve })),
        died,
      ]);
    },
  };
}

async function smtpPort(served: Served): Promise<number> {
  const line = await served.waitForLog(/^smtp listening on /);
  const match = /:(\d+)$/.exec(String(line.msg));
  assert.ok(match?.[1], `a port in ${String(line.msg)}`);
  return Number(match[1]);
}

async function readLine(socket: Socket): Promise<string> {
  let text = "";
  while (!text.includes("\r\n")) {
    const [chunk] = (await once(socket, "data")) as [Buffer];
    text += chunk.toString();
  }
  return text.slice(0, text.indexOf("\r\n"));
}

/** Asserts the run failed with exactly one line on stderr, and returns it. */
async function failsWithOneLine(served: Served, exitCode: number): Promise<string> {
  const code = await served.exit;
  const lines = served.stderrText().split("\n").filter(Boolean);
  assert.equal(lines.length, 1, `one line on stderr, got: ${served.stderrText()}`);
  assert.equal(code, exitCode, `exit code; stderr: ${served.stderrText()}`);
  return lines[0] ?? "";
}

describe("mailroom serve", () => {
  test("starts on an empty data dir, logs JSON, holds the lock, and stops on SIGTERM", async () => {
    const dataDir = path.join(root, "fresh", "data");
    const served = serve(["--data-dir", dataDir]);
    const port = await smtpPort(served);
    await served.waitForLog(/^mailroom serve started$/);
    for (const line of served.logs) assert.equal(typeof line.level, "string", "JSON lines with level names");
    assert.ok(
      served.logs.some((line) =>
        /^generated a self-signed TLS certificate for mail\.example\.test/.test(String(line.msg)),
      ),
    );
    assert.equal(await readFile(path.join(dataDir, "serve.pid"), "utf8"), `${served.child.pid}\n`);
    assert.ok(existsSync(path.join(dataDir, "tls", "key.pem")));

    const client = net.connect({ host: "127.0.0.1", port });
    assert.match(await readLine(client), /^220 mail\.example\.test greeter on sqlite$/);
    const goodbye = readLine(client);
    served.child.kill("SIGTERM");
    assert.equal(await goodbye, "421 shutting down", "open sessions are asked to finish");
    client.end();
    assert.equal(await served.exit, 0);
    assert.ok(served.logs.some((line) => line.msg === "shutting down"));
    assert.ok(served.logs.some((line) => line.msg === "mailroom serve stopped"));
    assert.equal(existsSync(path.join(dataDir, "serve.pid")), false, "the lock is removed");
    assert.equal(served.stderrText(), "");
  });

  test("a host name without a dot is warned about at start, and the server still runs", async () => {
    const qualified = serve(["--data-dir", path.join(root, "qualified")]);
    await qualified.waitForLog(/^mailroom serve started$/);
    qualified.child.kill("SIGTERM");
    assert.equal(await qualified.exit, 0);
    assert.ok(!qualified.logs.some((line) => line.level === "warn"), "no warning for mail.example.test");

    const served = serve(
      ["--data-dir", path.join(root, "unqualified")],
      serveEnv({ MAILROOM_HOSTNAME: "vm" }),
    );
    await served.waitForLog(/^mailroom serve started$/);
    served.child.kill("SIGTERM");
    assert.equal(await served.exit, 0, "the server runs with the name all the same");
    const warning = served.logs.find((line) =>
      /^hostname "vm" is not a fully qualified/.test(String(line.msg)),
    );
    assert.equal(warning?.level, "warn", `a warning among ${JSON.stringify(served.logs)}`);
    assert.match(String(warning.msg), /Set hostname = "mail\.example\.org" .*MAILROOM_HOSTNAME/);
  });

  test("a second instance on the same data dir is refused in one line", async () => {
    const dataDir = path.join(root, "shared");
    const first = serve(["--data-dir", dataDir]);
    await first.waitForLog(/^mailroom serve started$/);
    const second = serve(["--data-dir", dataDir]);
    const line = await failsWithOneLine(second, 69);
    assert.equal(
      line,
      `mailroom: another mailroom serve (pid ${first.child.pid}) is using data dir ${dataDir}; stop it first or choose another --data-dir`,
    );
    first.child.kill("SIGTERM");
    assert.equal(await first.exit, 0);
  });

  test("open connections get shutdown_timeout, then are closed", async () => {
    const served = serve(
      ["--data-dir", path.join(root, "slow")],
      serveEnv({ MAILROOM_SHUTDOWN_TIMEOUT: "200ms" }),
    );
    const client = net.connect({ host: "127.0.0.1", port: await smtpPort(served) });
    await readLine(client);
    const closed = once(client, "close");
    served.child.kill("SIGTERM");
    await closed;
    assert.equal(await served.exit, 0);
    assert.ok(served.logs.some((line) => /^connections still open after 200 ms/.test(String(line.msg))));
  });

  test("a second signal stops at once", async () => {
    const served = serve(
      ["--data-dir", path.join(root, "impatient")],
      serveEnv({ MAILROOM_SHUTDOWN_TIMEOUT: "1h" }),
    );
    const client = net.connect({ host: "127.0.0.1", port: await smtpPort(served) });
    await readLine(client);
    const goodbye = readLine(client);
    served.child.kill("SIGTERM");
    await goodbye;
    served.child.kill("SIGTERM");
    assert.equal(await served.exit, 128 + os.constants.signals.SIGTERM);
    client.destroy();
  });

  test("an unknown config key is one line naming it", async () => {
    const file = path.join(root, "typo.toml");
    await writeFile(file, "[smtp]\nmax_mesage_size = 1000\n");
    const served = serve(["--config", file, "--data-dir", path.join(root, "typo")]);
    assert.equal(
      await failsWithOneLine(served, 78),
      `mailroom: unknown key smtp.max_mesage_size in ${file}; did you mean smtp.max_message_size?`,
    );
  });

  test("an unknown option is a usage error", async () => {
    const served = serve(["--port", "25"]);
    assert.match(
      await failsWithOneLine(served, 64),
      /^mailroom: Unknown option '--port'.*; see 'mailroom serve --help'$/,
    );
  });

  test("an unusable data dir is one clear line", async () => {
    const blocker = path.join(root, "a-file");
    await writeFile(blocker, "");
    const dataDir = path.join(blocker, "data");
    const served = serve(["--data-dir", dataDir]);
    assert.equal(
      await failsWithOneLine(served, 73),
      `mailroom: data directory ${dataDir} cannot be created (ENOTDIR: part of the path is a file, not a directory); choose another with --data-dir`,
    );
  });

  test("an unwritable data dir is one clear line", {
    skip: process.getuid?.() === 0 && "root can write anywhere",
  }, async () => {
    const parent = path.join(root, "locked");
    await mkdir(parent, { mode: 0o500 });
    const dataDir = path.join(parent, "data");
    const served = serve(["--data-dir", dataDir]);
    assert.equal(
      await failsWithOneLine(served, 73),
      `mailroom: data directory ${dataDir} is not writable (EACCES); choose another with --data-dir or fix its permissions`,
    );
  });

  test("a data dir on a full disk is one clear line", async (t) => {
    const mountPoint = path.join(root, "tiny");
    await mkdir(mountPoint);
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mountPoint], { stdio: "ignore" });
    } catch {
      t.skip("cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)");
      return;
    }
    try {
      await writeFile(path.join(mountPoint, "filler"), Buffer.alloc(64 * 1024)).catch(() => undefined);
      const dataDir = path.join(mountPoint, "data");
      await mkdir(dataDir).catch(() => undefined);
      const served = serve(["--data-dir", dataDir]);
      assert.equal(
        await failsWithOneLine(served, 73),
        `mailroom: data directory ${dataDir} is on a full disk (ENOSPC); free some space or choose another with --data-dir`,
      );
    } finally {
      execFileSync("umount", [mountPoint]);
    }
  });

  test("a port in use is one line naming the key", async () => {
    const blocker = net.createServer();
    blocker.listen(0, "127.0.0.1");
    await once(blocker, "listening");
    const { port } = blocker.address() as net.AddressInfo;
    const served = serve(
      ["--data-dir", path.join(root, "busy")],
      serveEnv({ MAILROOM_LISTENERS_SMTP_PORT: String(port) }),
    );
    assert.equal(
      await failsWithOneLine(served, 69),
      `mailroom: cannot listen on 127.0.0.1:${port} for smtp: address already in use; change listeners.smtp.port or stop the other program`,
    );
    blocker.close();
    assert.equal(existsSync(path.join(root, "busy", "serve.pid")), false, "a failed start releases the lock");
  });
});
