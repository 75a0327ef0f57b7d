// A throwaway mailroom instance for the benchmark: compiled once into a temp dir (so the measured process
// carries no TypeScript loader), a fresh data dir, the bench domain and user added with the CLI, and
// `mailroom serve` on a loopback port with only the SMTP listener enabled.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { copyFile, mkdir, mkdtemp, open, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { commandLine, launchEnv } from "../lib/launch.js";
import { freePort, waitForPort } from "../lib/net.js";
import { type ProcessMemory, readProcessMemory } from "../lib/proc.js";

const run = promisify(execFile);

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface MailroomOptions {
  port?: number;
  domain: string;
  user: string;
  password: string;
  /** Connection limits raised so the idle-connection test and concurrency 50 from one IP fit. */
  maxConnections: number;
  /** "build": tsc into a temp dir and run plain node; "tsx": run src/ through the tsx loader. */
  mode: "build" | "tsx";
  /** The checkout to build ("build" mode): this one by default, or an exported older commit to compare. */
  root?: string;
  /** [trust] verify: SPF/DKIM/DMARC/ARC on MX mail. Unset leaves the configuration's default. */
  verify?: boolean;
  /** [relay] resolver, "host:port": the DNS server every lookup (inbound verification too) asks. */
  resolver?: string;
  /** Writes a V8 CPU profile of `mailroom serve` into this dir when it stops (node --cpu-prof). */
  cpuProfileDir?: string;
}

export interface MailroomInstance {
  host: string;
  port: number;
  pid: number;
  dir: string;
  mode: "build" | "tsx";
  /** False when the bench's stopgap entry had to add the SMTP protocol that protocols.ts lacks. */
  realServe: boolean;
  memory(): Promise<ProcessMemory>;
  /** The last lines the server logged, for reports when something failed. */
  logTail(lines: number): Promise<string>;
  stop(): Promise<void>;
}

const OTHER_LISTENERS = [
  "submission",
  "submissions",
  "pop3",
  "pop3s",
  "imap",
  "imaps",
  "http",
  "https",
  "metrics",
  "managesieve",
];

function serverEnv(dataDir: string, port: number, options: MailroomOptions): NodeJS.ProcessEnv {
  // Inherited MAILROOM_* variables would change what is measured; start from a clean slate.
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("MAILROOM_")),
  );
  env.MAILROOM_DATA_DIR = dataDir;
  env.MAILROOM_HOSTNAME = "mailroom.bench.invalid";
  env.MAILROOM_LOG_FORMAT = "json";
  env.MAILROOM_LOG_LEVEL = "info";
  env.MAILROOM_LISTENERS_SMTP_HOST = "127.0.0.1";
  env.MAILROOM_LISTENERS_SMTP_PORT = String(port);
  for (const name of OTHER_LISTENERS) env[`MAILROOM_LISTENERS_${name.toUpperCase()}_ENABLED`] = "false";
  env.MAILROOM_SMTP_MAX_CONNECTIONS = String(options.maxConnections);
  env.MAILROOM_SMTP_MAX_CONNECTIONS_PER_IP = String(options.maxConnections);
  // Postfix's smtpd has no per-session transaction limit; match it so sessions are not cut every 100.
  env.MAILROOM_SMTP_MAX_TRANSACTIONS = "1000000";
  if (options.verify !== undefined) env.MAILROOM_TRUST_VERIFY = String(options.verify);
  if (options.resolver !== undefined) env.MAILROOM_RELAY_RESOLVER = options.resolver;
  return env;
}

/** Compiles src/ with the project's build config into `outDir`, next to a copy of package.json. */
async function build(buildDir: string, root: string): Promise<string> {
  const tsc = path.join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
  try {
    await run(
      process.execPath,
      [tsc, "-p", path.join(root, "tsconfig.build.json"), "--outDir", path.join(buildDir, "dist")],
      {
        cwd: root,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
  } catch (error) {
    // tsc still emits JavaScript when only types are wrong; a missing entry point is the real failure.
    const stdout = (error as { stdout?: string }).stdout ?? "";
    process.stderr.write(
      `bench: tsc reported type errors (continuing with the emitted JavaScript):\n${stdout.split("\n").slice(0, 10).join("\n")}\n`,
    );
  }
  await copyFile(path.join(root, "package.json"), path.join(buildDir, "package.json"));
  await symlink(path.join(REPO_ROOT, "node_modules"), path.join(buildDir, "node_modules"));
  return path.join(buildDir, "dist", "cli", "main.js");
}

/**
 * Until the SMTP protocol is registered in src/server/protocols.ts, `mailroom serve` opens no SMTP
 * listener. This stopgap entry runs the same server with the SMTP factory added, so the harness can
 * measure the SMTP code that exists; the report says when it was used.
 */
async function writeStopgapEntry(dir: string, mode: "build" | "tsx", buildDir: string): Promise<string> {
  const module = (name: string) =>
    mode === "build" ? path.join(buildDir, "dist", `${name}.js`) : path.join(REPO_ROOT, "src", `${name}.ts`);
  const entry = path.join(dir, mode === "build" ? "serve-with-smtp.mjs" : "serve-with-smtp.mts");
  await writeFile(
    entry,
    `import { loadConfig } from ${JSON.stringify(module("config/load"))};
import { createLogger } from ${JSON.stringify(module("log/logger"))};
import { protocols } from ${JSON.stringify(module("server/protocols"))};
import { runServer } from ${JSON.stringify(module("server/server"))};
import { smtpProtocol } from ${JSON.stringify(module("smtp/server/handler"))};
const config = await loadConfig({ env: process.env });
const logger = createLogger(config.log, process.stdout);
const server = await runServer(config, logger, { smtp: smtpProtocol, ...protocols });
const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
`,
  );
  return entry;
}

async function smtpRegistered(root: string): Promise<boolean> {
  const source = await readFile(path.join(root, "src", "server", "protocols.ts"), "utf8");
  return /\bsmtp\s*:/.test(source);
}

async function cli(
  mode: "build" | "tsx",
  entry: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  stdin?: string,
) {
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
  child.stdin.end(stdin ?? "");
  const [code] = (await once(child, "exit")) as [number | null];
  if (code !== 0) throw new Error(`mailroom ${args.join(" ")} exited with ${code}: ${output.trim()}`);
}

async function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  const exited = once(child, "exit").then(() => true);
  return Promise.race([exited, sleep(timeoutMs).then(() => false)]);
}

export async function startMailroom(options: MailroomOptions): Promise<MailroomInstance> {
  const host = "127.0.0.1";
  const port = options.port ?? (await freePort(host));
  const dir = await mkdtemp(path.join(os.tmpdir(), "mailroom-bench-mailroom-"));
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
    // Checked before compiling, so the build cannot contain a registration the check did not see.
    const realServe = await smtpRegistered(options.root ?? REPO_ROOT);
    const entry =
      options.mode === "build"
        ? await build(path.join(dir, "build"), options.root ?? REPO_ROOT)
        : path.join(REPO_ROOT, "src", "cli", "main.ts");
    const env = serverEnv(dataDir, port, options);
    await cli(options.mode, entry, ["init"], env);
    await cli(options.mode, entry, ["domain", "add", options.domain], env);
    await cli(
      options.mode,
      entry,
      ["user", "add", `${options.user}@${options.domain}`, "--password-stdin"],
      env,
      `${options.password}\n`,
    );
    const profile = options.cpuProfileDir ? ["--cpu-prof", "--cpu-prof-dir", options.cpuProfileDir] : [];
    const serveArgs = [
      ...profile,
      ...(realServe
        ? commandLine(options.mode, entry, ["serve"])
        : commandLine(options.mode, await writeStopgapEntry(dir, options.mode, path.join(dir, "build")), [])),
    ];
    const log = await open(logPath, "w");
    const server = spawn(process.execPath, serveArgs, {
      cwd: REPO_ROOT,
      env: launchEnv(entry, env),
      stdio: ["ignore", log.fd, log.fd],
    });
    child = server;
    await log.close();
    const exited = once(server, "exit").then(() => {
      throw new Error(`mailroom serve exited with ${server.exitCode ?? server.signalCode} before listening`);
    });
    await Promise.race([waitForPort(host, port, 30_000, "mailroom serve"), exited]);
    exited.catch(() => undefined);
    if (server.pid === undefined) throw new Error("mailroom serve has no pid");
    const pid = server.pid;
    return {
      host,
      port,
      pid,
      dir,
      mode: options.mode,
      realServe,
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
