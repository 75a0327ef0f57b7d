// A throwaway PostgreSQL for tests: a database per call, on either the server named by
// MAILROOM_TEST_POSTGRES_URL or one private cluster per test process, started from Debian's server
// binaries. The cluster is watched by a detached shell that stops it and removes its directory once this
// process is gone, however it ends (also SIGKILL), so no test run leaves a postmaster behind.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chown, mkdtemp, readdir, readFile, stat } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { failIfRequired, findExecutable } from "./clients.js";

export interface TestPostgres {
  url: string;
  stop(): Promise<void>;
}

export const POSTGRES_SKIP_REASON =
  "PostgreSQL's initdb and postgres are not installed: apt-get install postgresql, or set MAILROOM_TEST_POSTGRES_URL";

/**
 * Starts (or reuses) a server and creates a fresh, empty database; null when no server can be had, which
 * under MAILROOM_TEST_REQUIRE_CLIENTS=1 throws instead, as a missing client does.
 */
export async function startTestPostgres(): Promise<TestPostgres | null> {
  const external = process.env.MAILROOM_TEST_POSTGRES_URL;
  const serverUrl = external ? external : await privateCluster();
  if (serverUrl === null) {
    failIfRequired(POSTGRES_SKIP_REASON);
    return null;
  }
  return createDatabase(serverUrl);
}

async function createDatabase(serverUrl: string): Promise<TestPostgres> {
  const name = `t_${randomBytes(8).toString("hex")}`;
  await withAdmin(serverUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let stopped = false;
  return {
    url: url.toString(),
    async stop() {
      if (stopped) return;
      stopped = true;
      // FORCE ends sessions a test forgot to close, so one leak cannot fail the next test.
      await withAdmin(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

async function withAdmin<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

let cluster: Promise<string | null> | undefined;

function privateCluster(): Promise<string | null> {
  cluster ??= startCluster();
  return cluster;
}

async function findServerBinaries(): Promise<string | null> {
  const root = "/usr/lib/postgresql";
  let versions: string[];
  try {
    versions = await readdir(root);
  } catch {
    return null;
  }
  const newestFirst = versions.filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  for (const version of newestFirst) {
    const bin = join(root, version, "bin");
    if (findExecutable(join(bin, "initdb")) && findExecutable(join(bin, "postgres"))) return bin;
  }
  return null;
}

/** initdb refuses to run as root, so as root the cluster belongs to the `postgres` OS user. */
async function clusterOwner(): Promise<{ uid: number; gid: number } | null> {
  if (process.getuid?.() !== 0) return null;
  const passwd = await readFile("/etc/passwd", "utf8");
  for (const line of passwd.split("\n")) {
    const [name, , uid, gid] = line.split(":");
    if (name === "postgres" && uid !== undefined && gid !== undefined) {
      return { uid: Number(uid), gid: Number(gid) };
    }
  }
  throw new Error("running as root but there is no `postgres` OS user to own the test cluster");
}

function run(command: string, args: string[], owner: { uid: number; gid: number } | null): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"], ...(owner ?? {}) });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (text: string) => {
      if (stderr.length < 8192) stderr += text;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} exited with ${code}: ${stderr.trim()}`));
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("could not find a free port"));
      });
    });
  });
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

async function startCluster(): Promise<string | null> {
  const bin = await findServerBinaries();
  if (bin === null) return null;
  const owner = await clusterOwner();
  const dir = await mkdtemp(join(tmpdir(), "mailroom-pg-"));
  if (owner) await chown(dir, owner.uid, owner.gid);
  const data = join(dir, "data");
  await run(
    join(bin, "initdb"),
    ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-instructions"],
    owner,
  );

  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const asOwner = owner ? "runuser -u postgres -- " : "";
    // fsync stays on: the store's durability is part of what the tests exercise.
    const server = [
      `${asOwner}${shellQuote(join(bin, "postgres"))} -D ${shellQuote(data)} -p ${port}`,
      `-c listen_addresses=127.0.0.1 -c unix_socket_directories=${shellQuote(dir)}`,
      "-c fsync=on -c max_connections=300 -c shared_buffers=32MB",
    ].join(" ");
    const stopServer = `${asOwner}${shellQuote(join(bin, "pg_ctl"))} -D ${shellQuote(data)} -m fast -w stop`;
    const watchdog = [
      `${server} >${shellQuote(join(dir, "server.log"))} 2>&1 &`,
      `while kill -0 ${process.pid} 2>/dev/null; do sleep 0.5; done`,
      `${stopServer} >/dev/null 2>&1 || kill -9 $! 2>/dev/null`,
      "wait",
      `rm -rf ${shellQuote(dir)}`,
    ].join("\n");
    spawn("sh", ["-c", watchdog], { detached: true, stdio: "ignore" }).unref();

    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    if (await waitUntilReady(url, data)) return url;
    if (attempt === 3) {
      const log = await readFile(join(dir, "server.log"), "utf8").catch(() => "");
      throw new Error(`the test PostgreSQL cluster in ${dir} did not start:\n${log.slice(-2000)}`);
    }
  }
}

/** False when the server gave up (e.g. the port was taken in between); true once it accepts queries. */
async function waitUntilReady(url: string, data: string): Promise<boolean> {
  const started = Date.now();
  while (Date.now() - started < 30_000) {
    try {
      await withAdmin(url, (client) => client.query("SELECT 1"));
      return true;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const running = await stat(join(data, "postmaster.pid")).then(
        () => true,
        () => false,
      );
      if (!running && Date.now() - started > 5_000) return false;
    }
  }
  return false;
}
