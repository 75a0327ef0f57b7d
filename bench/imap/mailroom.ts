// A throwaway mailroom for the IMAP benchmark: a fresh data dir, the domain and user added with the CLI,
// the messages delivered through the store (createBlobWriter → finish → deliver, the commit SMTP's
// final 250 makes), then `mailroom serve` with only the IMAP listener, on loopback.
//
// "build" compiles src/ with tsconfig.build.json into the temp dir first, so the measured process
// carries no TypeScript loader; "tsx" runs src/ through tsx as developers do.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { copyFile, mkdir, mkdtemp, open, readFile, rm, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { pino } from "pino";
import { openStore } from "../../src/store/open.js";
import type { BlobRef } from "../../src/store/types.js";
import { commandLine, launchEnv } from "../lib/launch.js";
import { freePort, waitForPort } from "../lib/net.js";
import { type ProcessMemory, readProcessMemory } from "../lib/proc.js";
import { REPO_ROOT } from "../pop3/mailroom.js";

const run = promisify(execFile);

export type MailroomMode = "build" | "tsx";

export interface MailroomOptions {
  address: string;
  password: string;
  messages: Iterable<Buffer>;
  mode: MailroomMode;
  /** Deliveries in flight while loading (they share group commits). */
  loadConcurrency?: number;
  /** Writes a V8 CPU profile of `mailroom serve` into this dir when it stops (node --cpu-prof). */
  cpuProfileDir?: string;
  /** Also opens the plain `http` listener (JMAP) on loopback and makes an app token for the user. */
  http?: boolean;
  /**
   * The built webmail to serve at `/` ("build" mode only: the compiled server looks for web/dist beside
   * its dist/); the repository's web/dist by default. bench/webmail serves two builds side by side.
   */
  webDist?: string;
  /** Settings for `mailroom serve` beyond the benchmark's own, as MAILROOM_* variables. */
  settings?: Record<string, string>;
}

export interface MailroomInstance {
  host: string;
  port: number;
  pid: number;
  mode: MailroomMode;
  /** The `http` listener's port and a bearer token for the user, when asked for. */
  http?: { port: number; token: string };
  /** Seconds the store took to take in the corpus (context, not a benchmark figure). */
  loadSeconds: number;
  memory(): Promise<ProcessMemory>;
  logTail(lines: number): Promise<string>;
  stop(): Promise<void>;
}

const OTHER_LISTENERS = [
  "smtp",
  "submission",
  "submissions",
  "pop3",
  "pop3s",
  "imaps",
  "http",
  "https",
  "managesieve",
  "metrics",
];

function serverEnv(dataDir: string, port: number, httpPort: number | null): NodeJS.ProcessEnv {
  // Inherited MAILROOM_* variables would change what is measured.
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("MAILROOM_")),
  );
  env.MAILROOM_DATA_DIR = dataDir;
  env.MAILROOM_HOSTNAME = "mailroom.bench.invalid";
  env.MAILROOM_LOG_FORMAT = "json";
  env.MAILROOM_LOG_LEVEL = "info";
  env.MAILROOM_LISTENERS_IMAP_HOST = "127.0.0.1";
  env.MAILROOM_LISTENERS_IMAP_PORT = String(port);
  for (const name of OTHER_LISTENERS) env[`MAILROOM_LISTENERS_${name.toUpperCase()}_ENABLED`] = "false";
  if (httpPort !== null) {
    env.MAILROOM_LISTENERS_HTTP_ENABLED = "true";
    env.MAILROOM_LISTENERS_HTTP_HOST = "127.0.0.1";
    env.MAILROOM_LISTENERS_HTTP_PORT = String(httpPort);
    // One client sends every request of a run; the per-IP limit is for the open internet.
    env.MAILROOM_HTTP_REQUESTS_PER_MINUTE_PER_IP = "1000000";
  }
  return env;
}

/** tsc with the project's build config into `buildDir`/dist, `webDist` as its web/dist; returns the CLI entry point. */
async function build(buildDir: string, webDist: string): Promise<string> {
  const tsc = path.join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
  try {
    await run(
      process.execPath,
      [tsc, "-p", path.join(REPO_ROOT, "tsconfig.build.json"), "--outDir", path.join(buildDir, "dist")],
      { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (error) {
    // tsc still emits JavaScript when only types are wrong (other work in progress); go on with it.
    const stdout = (error as { stdout?: string }).stdout ?? "";
    process.stderr.write(
      `bench: tsc reported errors (continuing with the emitted JavaScript):\n${stdout.split("\n").slice(0, 5).join("\n")}\n`,
    );
  }
  await copyFile(path.join(REPO_ROOT, "package.json"), path.join(buildDir, "package.json"));
  await symlink(path.join(REPO_ROOT, "node_modules"), path.join(buildDir, "node_modules"));
  await mkdir(path.join(buildDir, "web"));
  await symlink(webDist, path.join(buildDir, "web", "dist"));
  return path.join(buildDir, "dist", "cli", "main.js");
}

async function cli(
  mode: MailroomMode,
  entry: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  stdin = "",
): Promise<string> {
  const child = spawn(process.execPath, commandLine(mode, entry, args), {
    cwd: REPO_ROOT,
    env: launchEnv(entry, env),
    stdio: "pipe",
  });
  let output = "";
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  child.stdin.end(stdin);
  const [code] = (await once(child, "exit")) as [number | null];
  if (code !== 0) throw new Error(`mailroom ${args.join(" ")} exited with ${code}: ${output.trim()}`);
  return output;
}

/** Delivers the corpus into the user's INBOX, a window of deliveries at a time. */
async function loadMessages(
  dataDir: string,
  address: string,
  messages: Iterable<Buffer>,
  concurrency: number,
) {
  const store = await openStore({ store: "sqlite", dataDir, logger: pino({ level: "warn" }) });
  try {
    const user = await store.directory.getUser(address);
    const inbox = user && (await store.mailboxes.getMailbox(user.id, "INBOX"));
    if (!inbox) throw new Error(`${address} has no INBOX after "mailroom user add"`);
    const deliver = async (message: Buffer, internalDate: Date) => {
      const writer = await store.blobs.createBlobWriter();
      let blob: BlobRef;
      try {
        await writer.write(message);
        blob = await writer.finish();
      } catch (error) {
        await writer.abort();
        throw error;
      }
      await store.messages.deliver({
        blob,
        sender: "sender@example.org",
        internalDate,
        mailboxes: [{ mailboxId: inbox.id }],
        queue: [],
      });
    };
    let index = 0;
    const inFlight: Promise<void>[] = [];
    for (const message of messages) {
      inFlight.push(deliver(message, new Date(Date.UTC(2026, 0, 1) + index * 60_000)));
      index++;
      if (inFlight.length >= concurrency) await Promise.all(inFlight.splice(0));
    }
    await Promise.all(inFlight);
  } finally {
    await store.close();
  }
}

async function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return Promise.race([once(child, "exit").then(() => true), sleep(timeoutMs).then(() => false)]);
}

export async function startMailroom(options: MailroomOptions): Promise<MailroomInstance> {
  const host = "127.0.0.1";
  const port = await freePort(host);
  const dir = await mkdtemp(path.join(os.tmpdir(), "mailroom-bench-imap-"));
  const dataDir = path.join(dir, "data");
  await mkdir(dataDir);
  let child: ChildProcess | null = null;
  const logPath = path.join(dir, "serve.log");
  const logTail = async (lines: number) => {
    const text = await readFile(logPath, "utf8").catch(() => "");
    return text.trimEnd().split("\n").slice(-lines).join("\n");
  };
  const stop = async () => {
    if (child && !(await waitForExit(child, 0))) {
      child.kill("SIGTERM");
      if (!(await waitForExit(child, 15_000))) {
        child.kill("SIGKILL");
        await waitForExit(child, 5_000);
      }
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    if (options.webDist !== undefined && options.mode !== "build") {
      throw new Error("another webmail build can be served in build mode only");
    }
    const entry =
      options.mode === "build"
        ? await build(path.join(dir, "build"), options.webDist ?? path.join(REPO_ROOT, "web", "dist"))
        : path.join(REPO_ROOT, "src", "cli", "main.ts");
    const httpPort = options.http ? await freePort(host) : null;
    const env = { ...serverEnv(dataDir, port, httpPort), ...options.settings };
    const domain = options.address.slice(options.address.indexOf("@") + 1);
    await cli(options.mode, entry, ["init"], env);
    await cli(options.mode, entry, ["domain", "add", domain], env);
    await cli(
      options.mode,
      entry,
      ["user", "add", options.address, "--password-stdin"],
      env,
      `${options.password}\n`,
    );
    let http: { port: number; token: string } | undefined;
    if (httpPort !== null) {
      const printed = await cli(options.mode, entry, ["token", "create", options.address], env);
      const token = /mrt_[0-9a-f]+_[A-Za-z0-9_-]+/.exec(printed)?.[0];
      if (token === undefined) throw new Error(`mailroom token create printed no token: ${printed.trim()}`);
      http = { port: httpPort, token };
    }
    const loadStarted = performance.now();
    await loadMessages(dataDir, options.address, options.messages, options.loadConcurrency ?? 32);
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    const log = await open(logPath, "w");
    const profile = options.cpuProfileDir ? ["--cpu-prof", "--cpu-prof-dir", options.cpuProfileDir] : [];
    const server = spawn(process.execPath, [...profile, ...commandLine(options.mode, entry, ["serve"])], {
      cwd: REPO_ROOT,
      env: launchEnv(entry, env),
      stdio: ["ignore", log.fd, log.fd],
    });
    child = server;
    await log.close();
    const exited = once(server, "exit").then(() => {
      throw new Error(`mailroom serve exited with ${server.exitCode ?? server.signalCode} before listening`);
    });
    exited.catch(() => undefined);
    await Promise.race([waitForPort(host, port, 60_000, "mailroom serve"), exited]);
    if (server.pid === undefined) throw new Error("mailroom serve has no pid");
    const pid = server.pid;
    return {
      host,
      port,
      pid,
      mode: options.mode,
      ...(http ? { http } : {}),
      loadSeconds,
      memory: () => readProcessMemory(pid),
      logTail,
      stop,
    };
  } catch (error) {
    const tail = await logTail(10);
    await stop().catch(() => undefined);
    throw new Error(`${error instanceof Error ? error.message : String(error)}${tail ? `\n${tail}` : ""}`);
  }
}
