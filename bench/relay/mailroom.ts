// mailroom's side of the relay bench: src/ compiled once into a temp dir (the measured process carries no
// TypeScript loader), then per run a fresh data dir whose queue is filled through the Store API while no
// server runs, and `mailroom serve` started with its relay pointed at the sink through a loopback DNS
// server. Starting the server is what releases the queue.
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { copyFile, mkdir, mkdtemp, open, readFile, rm, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import pino from "pino";
import { loadConfig } from "../../src/config/load.js";
import { loadTls } from "../../src/net/tls.js";
import { openStore } from "../../src/store/open.js";
import { commandLine, launchEnv } from "../lib/launch.js";
import { benchMessage, recipientOf, SENDER } from "./message.js";

const run = promisify(execFile);
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** How many deliveries are in flight while filling, so the store's group commit shares fsyncs. */
const FILL_PARALLELISM = 64;

export interface MailroomBuild {
  entry: string;
  remove(): Promise<void>;
}

export async function buildMailroom(): Promise<MailroomBuild> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "mailroom-bench-relay-build-"));
  const tsc = path.join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
  try {
    await run(
      process.execPath,
      [tsc, "-p", path.join(REPO_ROOT, "tsconfig.build.json"), "--outDir", path.join(dir, "dist")],
      {
        cwd: REPO_ROOT,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
  } catch (error) {
    // tsc still emits JavaScript when only types are wrong (another part of the tree being edited).
    const stdout = (error as { stdout?: string }).stdout ?? "";
    process.stderr.write(
      `bench: tsc reported type errors (continuing):\n${stdout.split("\n").slice(0, 5).join("\n")}\n`,
    );
  }
  await copyFile(path.join(REPO_ROOT, "package.json"), path.join(dir, "package.json"));
  await symlink(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"));
  return {
    entry: path.join(dir, "dist", "cli", "main.js"),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface RelayRunOptions {
  build: MailroomBuild;
  messages: number;
  domains: number;
  size: number;
  /** "host:port" of the DNS server that MXes every bench domain to the sink. */
  resolver: string;
  sinkPort: number;
  /** Extra node options for the measured process (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** MAILROOM_* settings on top of the bench's (e.g. MAILROOM_RELAY_CONCURRENCY), to try a setting. */
  env?: Record<string, string>;
}

export interface PreparedRun {
  /** Starts `mailroom serve`, which begins relaying the filled queue at once. */
  start(): Promise<void>;
  queued(): Promise<number>;
  logTail(lines: number): Promise<string>;
  stop(): Promise<void>;
}

async function fillQueue(dataDir: string, options: RelayRunOptions): Promise<void> {
  const store = await openStore({ store: "sqlite", dataDir, logger: pino({ level: "silent" }) });
  try {
    let next = 0;
    const worker = async () => {
      for (let index = next++; index < options.messages; index = next++) {
        const writer = await store.blobs.createBlobWriter();
        await writer.write(benchMessage(index, options.domains, options.size));
        const blob = await writer.finish();
        await store.messages.deliver({
          blob,
          sender: SENDER,
          internalDate: new Date(),
          mailboxes: [],
          queue: [{ recipient: recipientOf(index, options.domains) }],
        });
      }
    };
    await Promise.all(Array.from({ length: FILL_PARALLELISM }, worker));
  } finally {
    await store.close();
  }
}

export async function prepareMailroom(options: RelayRunOptions): Promise<PreparedRun> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "mailroom-bench-relay-"));
  const dataDir = path.join(dir, "data");
  await mkdir(dataDir);
  await fillQueue(dataDir, options);

  // Inherited MAILROOM_* variables would change what is measured.
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("MAILROOM_")),
  );
  Object.assign(env, {
    MAILROOM_DATA_DIR: dataDir,
    MAILROOM_HOSTNAME: "mailroom.bench.invalid",
    MAILROOM_LOG_FORMAT: "json",
    MAILROOM_LOG_LEVEL: "warn",
    MAILROOM_RELAY_RESOLVER: options.resolver,
    MAILROOM_RELAY_PORT: String(options.sinkPort),
    ...options.env,
  });
  // Every listener off, so a port another program holds on a shared machine cannot stop the run.
  for (const name of [
    "smtp",
    "submission",
    "submissions",
    "pop3",
    "pop3s",
    "imap",
    "imaps",
    "http",
    "https",
    "managesieve",
    "metrics",
  ])
    env[`MAILROOM_LISTENERS_${name.toUpperCase()}_ENABLED`] = "false";

  // The TLS certificate a first start generates is made now, untimed: Postfix's side starts nothing at
  // release either, and key generation is no part of relaying.
  await loadTls(await loadConfig({ env, dataDir }), pino({ level: "silent" }));

  const logPath = path.join(dir, "serve.log");
  let child: ReturnType<typeof spawn> | null = null;
  const store = () => openStore({ store: "sqlite", dataDir, logger: pino({ level: "silent" }) });
  return {
    async start() {
      const log = await open(logPath, "w");
      const { entry } = options.build;
      child = spawn(
        process.execPath,
        [...(options.nodeArgs ?? []), ...commandLine("build", entry, ["serve"])],
        {
          cwd: REPO_ROOT,
          env: launchEnv(entry, env),
          stdio: ["ignore", log.fd, log.fd],
        },
      );
      await log.close();
    },
    async queued() {
      const opened = await store();
      try {
        return (await opened.queue.list()).length;
      } finally {
        await opened.close();
      }
    },
    logTail: async (lines) =>
      (await readFile(logPath, "utf8").catch(() => "")).trimEnd().split("\n").slice(-lines).join("\n"),
    async stop() {
      const running = child;
      if (running && running.exitCode === null && running.signalCode === null) {
        running.kill("SIGTERM");
        await once(running, "exit");
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
