// A real `mailroom serve` process for integration tests: its own data dir and free loopback ports, the
// CLI run against the same data dir, and the server's JSON log lines kept for assertions.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { POSTGRES_SKIP_REASON, startTestPostgres } from "./postgres.js";

const root = resolve(import.meta.dirname, "../..");
const mainScript = join(root, "src/cli/main.ts");
const tsxArgs = ["--import", "tsx"];

const serverListeners = [
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
] as const;
export type TestListener = (typeof serverListeners)[number];

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface TestServer {
  dataDir: string;
  ports: Record<TestListener, number>;
  /** Environment that points the CLI and the server at this instance. */
  env: NodeJS.ProcessEnv;
  logs(): Array<Record<string, unknown>>;
  cli(args: string[], input?: string): Promise<CliResult>;
  /** SIGTERM and wait; resolves to the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
  /** Starts the server again on the same data dir and ports (after stop or kill). */
  restart(): Promise<void>;
  /** Stops the process if running and removes the data dir. */
  cleanup(): Promise<void>;
}

function canConnect(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      done(true);
    });
    socket.once("error", () => done(false));
  });
}

/** Ports from the server's "<listener> listening on host:port" log lines. */
function boundPorts(lines: readonly string[]): Map<string, number> {
  const bound = new Map<string, number>();
  for (const line of lines) {
    const match = /"msg":"(\w+) listening on [^"]*:(\d+)"/.exec(line);
    if (match?.[1] && match[2]) bound.set(match[1], Number(match[2]));
  }
  return bound;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<CliResult> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [...tsxArgs, mainScript, ...args], { cwd: root, env });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.once("error", reject);
    child.once("close", (code) => done({ code, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}

export async function startTestServer(
  /** command: the CLI words that start the server, `serve` by default (`dev` for capture mode). */
  options: { store?: string; env?: NodeJS.ProcessEnv; command?: string[] } = {},
): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), "mailroom-it-"));
  // Port 0 on the first start: the server binds free ports itself and logs them, so no other process
  // can take a port between our choosing it and the server binding it. Restarts reuse those ports.
  const ports = {} as Record<TestListener, number>;
  for (const name of serverListeners) ports[name] = 0;

  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    MAILROOM_DATA_DIR: dataDir,
    MAILROOM_HOSTNAME: "mx.mailroom.test",
    MAILROOM_LOG_FORMAT: "json",
    MAILROOM_LOG_LEVEL: "info",
    // Tests reach no network: a DNS server is one the test starts, else a closed loopback port, which
    // refuses at once (the SPF/DKIM checks of MX mail look up every sender; the machine's resolver may
    // be slow to time out).
    MAILROOM_RELAY_RESOLVER: "127.0.0.1:9",
    ...(options.store ? { MAILROOM_STORE: options.store } : {}),
    ...options.env,
  };
  for (const name of serverListeners) {
    env[`MAILROOM_LISTENERS_${name.toUpperCase()}_HOST`] ??= "127.0.0.1";
    env[`MAILROOM_LISTENERS_${name.toUpperCase()}_PORT`] = String(ports[name]);
  }

  // A listener the test turned off logs no port and takes no connections.
  const expected = serverListeners.filter(
    (name) => env[`MAILROOM_LISTENERS_${name.toUpperCase()}_ENABLED`] !== "false",
  );
  const logLines: string[] = [];
  let child: ChildProcess | null = null;
  let exited: Promise<number | null> = Promise.resolve(null);

  const launch = async () => {
    const proc = spawn(process.execPath, [...tsxArgs, mainScript, ...(options.command ?? ["serve"])], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = proc;
    let stderr = "";
    let buffered = "";
    proc.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      logLines.push(...lines.filter((line) => line.length > 0));
    });
    proc.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    exited = new Promise((done) => proc.once("exit", (code) => done(code)));
    let running = true;
    void exited.then(() => {
      running = false;
    });
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (!running)
        throw new Error(`mailroom serve exited during start-up:\n${stderr}\n${logLines.join("\n")}`);
      if (expected.some((name) => ports[name] === 0)) {
        const bound = boundPorts(logLines);
        if (expected.every((name) => bound.has(name))) {
          for (const name of expected) {
            ports[name] = bound.get(name) ?? 0;
            env[`MAILROOM_LISTENERS_${name.toUpperCase()}_PORT`] = String(ports[name]);
          }
        }
      }
      if (expected.every((name) => ports[name] !== 0)) {
        const up = await Promise.all(
          expected.map((name) =>
            canConnect(ports[name], env[`MAILROOM_LISTENERS_${name.toUpperCase()}_HOST`]),
          ),
        );
        if (up.every(Boolean)) return;
      }
      if (Date.now() > deadline) {
        proc.kill("SIGKILL");
        throw new Error(
          `mailroom serve did not open its ports within 20 s:\n${stderr}\n${logLines.join("\n")}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  // A restart listens on the ports the first start was given. Between the two another process may
  // hold one for a moment, as the local end of an outgoing connection (ports the kernel hands out as
  // ephemeral ones): such a start is tried again for a few seconds rather than failing the test.
  const relaunch = async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        await launch();
        return;
      } catch (error) {
        const busy = error instanceof Error && error.message.includes("address already in use");
        if (!busy || attempt >= 20) throw error;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };

  const signal = async (name: NodeJS.Signals) => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill(name);
    const code = await exited;
    child = null;
    return code;
  };

  await launch();
  return {
    dataDir,
    ports,
    env,
    logs: () =>
      logLines.flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    cli: (args, input) => runCli(args, env, input),
    stop: () => signal("SIGTERM"),
    kill: async () => {
      await signal("SIGKILL");
    },
    restart: relaunch,
    cleanup: async () => {
      await signal("SIGKILL");
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface IntegrationBackend {
  name: "sqlite" | "postgres";
  /** The store setting for the server and CLI; undefined means the embedded default. */
  store?: string;
  /** Set when this backend cannot run here (PostgreSQL missing and MAILROOM_TEST_REQUIRE_CLIENTS unset). */
  skip?: string;
  release(): Promise<void>;
}

/**
 * Every protocol's integration tests run on both stores (issue 7): the embedded SQLite default and a
 * fresh database on the throwaway PostgreSQL cluster.
 */
export async function integrationBackends(): Promise<IntegrationBackend[]> {
  const postgres = await startTestPostgres();
  return [
    { name: "sqlite", release: async () => {} },
    postgres
      ? { name: "postgres", store: postgres.url, release: () => postgres.stop() }
      : { name: "postgres", skip: POSTGRES_SKIP_REASON, release: async () => {} },
  ];
}
