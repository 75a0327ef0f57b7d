// A throwaway mailroom for the POP3 benchmark: a fresh data dir, the domain and user added with the CLI,
// the messages delivered straight through the store (createBlobWriter → finish → deliver, the same
// commit SMTP's final 250 makes), then `mailroom serve` with only the POP3 listener, on loopback.
//
// "build" mode compiles src/ into the temp dir first, so the measured process carries no TypeScript
// loader (its memory is what an installed mailroom uses); "tsx" runs src/ through tsx as developers do.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { copyFile, mkdir, mkdtemp, open, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { pino } from "pino";
import { hashPassword } from "../../src/auth/password.js";
import { openStore } from "../../src/store/open.js";
import type { BlobRef } from "../../src/store/types.js";
import { commandLine, launchEnv } from "../lib/launch.js";
import { freePort, waitForPort } from "../lib/net.js";
import { type ProcessMemory, readProcessMemory } from "../lib/proc.js";

const run = promisify(execFile);

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export type MailroomMode = "build" | "tsx";

export interface MailroomOptions {
  /** local@domain; the domain is added too. */
  address: string;
  password: string;
  messages: Iterable<Buffer>;
  mode: MailroomMode;
  /** Deliveries in flight while loading (they share group commits). */
  loadConcurrency?: number;
}

export interface MailroomInstance {
  host: string;
  port: number;
  pid: number;
  mode: MailroomMode;
  /** False when the stopgap entry stood in for `mailroom serve` (and the CLI for adding the user). */
  realServe: boolean;
  /** Seconds the store took to take in the corpus (not a benchmark figure; reported for context). */
  loadSeconds: number;
  /** Octets of POP3 message n at index n - 1, taken from the corpus message it was delivered from. */
  expectedSizes: number[];
  memory(): Promise<ProcessMemory>;
  logTail(lines: number): Promise<string>;
  stop(): Promise<void>;
}

const OTHER_LISTENERS = [
  "smtp",
  "submission",
  "submissions",
  "pop3s",
  "imap",
  "imaps",
  "http",
  "managesieve",
];

function serverEnv(dataDir: string, port: number): NodeJS.ProcessEnv {
  // Inherited MAILROOM_* variables would change what is measured; start from a clean slate.
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("MAILROOM_")),
  );
  env.MAILROOM_DATA_DIR = dataDir;
  env.MAILROOM_HOSTNAME = "mailroom.bench.invalid";
  env.MAILROOM_LOG_FORMAT = "json";
  env.MAILROOM_LOG_LEVEL = "info";
  env.MAILROOM_LISTENERS_POP3_HOST = "127.0.0.1";
  env.MAILROOM_LISTENERS_POP3_PORT = String(port);
  for (const name of OTHER_LISTENERS) env[`MAILROOM_LISTENERS_${name.toUpperCase()}_ENABLED`] = "false";
  return env;
}

/** tsc with the project's build config into `buildDir`/dist; returns the CLI entry point. */
async function build(buildDir: string): Promise<string> {
  const tsc = path.join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
  const outDir = path.join(buildDir, "dist");
  try {
    await run(
      process.execPath,
      [tsc, "-p", path.join(REPO_ROOT, "tsconfig.build.json"), "--outDir", outDir],
      {
        cwd: REPO_ROOT,
        maxBuffer: 16 * 1024 * 1024,
      },
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
  return path.join(outDir, "cli", "main.js");
}

/**
 * When `mailroom serve` cannot start because src/server/ is broken mid-edit (other work in progress),
 * this entry wires the very same pieces — config, store, authenticator, TLS, the POP3 factory from
 * src/server/protocols.ts and the listener from src/net/ — without src/server/server.ts, so the POP3 code
 * can still be measured. The report says when it was used.
 */
async function writeStopgapEntry(dir: string, mode: MailroomMode, buildDir: string): Promise<string> {
  const module = (name: string) =>
    JSON.stringify(
      mode === "build"
        ? path.join(buildDir, "dist", `${name}.js`)
        : path.join(REPO_ROOT, "src", `${name}.ts`),
    );
  const entry = path.join(dir, mode === "build" ? "serve-pop3.mjs" : "serve-pop3.mts");
  await writeFile(
    entry,
    `import { createAuthenticator } from ${module("auth/authenticator")};
import { loadConfig } from ${module("config/load")};
import { createLogger } from ${module("log/logger")};
import { startListener } from ${module("net/listener")};
import { loadTls } from ${module("net/tls")};
import { pop3Protocol } from ${module("pop3/handler")};
import { openStore } from ${module("store/open")};
const config = await loadConfig({ env: process.env });
const logger = createLogger(config.log, process.stdout);
const store = await openStore({ store: config.store, dataDir: config.dataDir, logger });
const tls = await loadTls(config, logger);
const authenticator = createAuthenticator({ lookupUser: (address) => store.directory.getUser(address), config: config.auth, logger });
const deps = { config, store, logger, authenticator, tls: tls.context };
const handler = pop3Protocol("pop3", deps);
const listener = await startListener({
  name: "pop3",
  config: config.listeners.pop3,
  implicitTls: false,
  secureContext: tls.context,
  maxConnections: config.smtp.maxConnections,
  maxConnectionsPerIp: config.smtp.maxConnectionsPerIp,
  handler,
  logger,
});
process.once("SIGTERM", async () => {
  await listener.close();
  handler.destroyAll();
  await store.close();
  process.exit(0);
});
`,
  );
  return entry;
}

/** Whether the real CLI loads at all (a syntax error anywhere in its imports stops every command). */
async function cliLoads(mode: MailroomMode, entry: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  try {
    await cli(mode, entry, ["--version"], env);
    return true;
  } catch (error) {
    process.stderr.write(
      `bench: mailroom's CLI does not start; using the stopgap POP3 entry.\n${error instanceof Error ? error.message.split("\n").slice(0, 6).join("\n") : ""}\n`,
    );
    return false;
  }
}

async function cli(mode: MailroomMode, entry: string, args: string[], env: NodeJS.ProcessEnv, stdin = "") {
  const child = spawn(process.execPath, commandLine(mode, entry, args), {
    cwd: REPO_ROOT,
    env: launchEnv(entry, env),
    stdio: "pipe",
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stdin.end(stdin);
  const [code] = (await once(child, "exit")) as [number | null];
  if (code !== 0) throw new Error(`mailroom ${args.join(" ")} exited with ${code}: ${output.trim()}`);
}

/** What `mailroom domain add` and `mailroom user add` do, for when the CLI cannot start. */
async function addUserThroughStore(dataDir: string, domain: string, address: string, password: string) {
  const store = await openStore({ store: "sqlite", dataDir, logger: pino({ level: "warn" }) });
  try {
    await store.directory.addDomain(domain);
    await store.directory.addUser(address, await hashPassword(password));
  } finally {
    await store.close();
  }
}

/**
 * Delivers the corpus into the user's INBOX, a window of deliveries at a time (they share group
 * commits, so UIDs need not follow corpus order). Returns, in INBOX (= POP3 message number) order, the
 * size of the corpus message each entry was made from, for the client to check RETR against.
 */
async function loadMessages(
  dataDir: string,
  address: string,
  messages: Iterable<Buffer>,
  concurrency: number,
): Promise<number[]> {
  const store = await openStore({ store: "sqlite", dataDir, logger: pino({ level: "warn" }) });
  try {
    const user = await store.directory.getUser(address);
    const inbox = user && (await store.mailboxes.getMailbox(user.id, "INBOX"));
    if (!inbox) throw new Error(`${address} has no INBOX after "mailroom user add"`);
    const corpusSize = new Map<string, number>();
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
      corpusSize.set(blob.id, message.length);
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
    return (await store.messages.listMessages(inbox.id)).map((row) => {
      const size = corpusSize.get(row.messageId);
      if (size === undefined)
        throw new Error(`INBOX holds message ${row.messageId}, which the benchmark did not deliver`);
      return size;
    });
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
  const dir = await mkdtemp(path.join(os.tmpdir(), "mailroom-bench-pop3-"));
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
    const entry =
      options.mode === "build"
        ? await build(path.join(dir, "build"))
        : path.join(REPO_ROOT, "src", "cli", "main.ts");
    const env = serverEnv(dataDir, port);
    const domain = options.address.slice(options.address.indexOf("@") + 1);
    const realServe = await cliLoads(options.mode, entry, env);
    if (realServe) {
      await cli(options.mode, entry, ["init"], env);
      await cli(options.mode, entry, ["domain", "add", domain], env);
      await cli(
        options.mode,
        entry,
        ["user", "add", options.address, "--password-stdin"],
        env,
        `${options.password}\n`,
      );
    } else {
      await addUserThroughStore(dataDir, domain, options.address, options.password);
    }
    const loadStarted = performance.now();
    const expectedSizes = await loadMessages(
      dataDir,
      options.address,
      options.messages,
      options.loadConcurrency ?? 32,
    );
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    const log = await open(logPath, "w");
    const server = spawn(
      process.execPath,
      realServe
        ? commandLine(options.mode, entry, ["serve"])
        : commandLine(options.mode, await writeStopgapEntry(dir, options.mode, path.join(dir, "build")), []),
      {
        cwd: REPO_ROOT,
        env: launchEnv(entry, env),
        stdio: ["ignore", log.fd, log.fd],
      },
    );
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
      realServe,
      loadSeconds,
      expectedSizes,
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
