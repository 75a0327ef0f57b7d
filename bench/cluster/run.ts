// SMTP accept rate of 1, 2 and 3 `mailroom serve` nodes sharing one PostgreSQL database, against the
// single node on the embedded SQLite store (issue 7). The load (bench/smtp/load.ts) is split evenly
// over the nodes' SMTP ports; every configuration starts on a fresh database or data dir, and the
// configurations are interleaved within each repetition so a change in the machine's load hits all.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { startTestPostgres } from "../../test/support/postgres.js";
import { freePort, waitForPort } from "../lib/net.js";
import { formatNumber, median } from "../lib/stats.js";
import { runLoad } from "../smtp/load.js";
import { REPO_ROOT } from "../smtp/mailroom.js";

const HOST = "127.0.0.1";
const DOMAIN = "bench.test";
const user = (index: number) => `u${index}@${DOMAIN}`;
const MAIN = path.join(REPO_ROOT, "src", "cli", "main.ts");
const OTHER_LISTENERS = [
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
];

interface Setup {
  name: string;
  nodes: number;
  postgres: boolean;
  /**
   * Local users the load is spread over. One user is the worst case for a shared store: every commit
   * takes that mailbox's UID counter in turn, whichever node it comes from.
   */
  users: number;
}

const SETUPS: Setup[] = [1, 10].flatMap((users) => {
  const who = users === 1 ? "1 user" : `${users} users`;
  return [
    { name: `SQLite, 1 node, ${who}`, nodes: 1, postgres: false, users },
    { name: `PostgreSQL, 1 node, ${who}`, nodes: 1, postgres: true, users },
    { name: `PostgreSQL, 2 nodes, ${who}`, nodes: 2, postgres: true, users },
    { name: `PostgreSQL, 3 nodes, ${who}`, nodes: 3, postgres: true, users },
  ];
});

/** Nodes started and not yet stopped, so an interrupted run leaves no server behind. */
const running = new Set<Node>();

interface Node {
  port: number;
  process: ChildProcess;
  dir: string;
}

function nodeEnv(dataDir: string, port: number, store: string | undefined): NodeJS.ProcessEnv {
  // Inherited MAILROOM_* variables would change what is measured.
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("MAILROOM_")),
  );
  env.MAILROOM_DATA_DIR = dataDir;
  env.MAILROOM_HOSTNAME = "mailroom.bench.invalid";
  env.MAILROOM_LOG_FORMAT = "json";
  env.MAILROOM_LOG_LEVEL = "warn";
  if (store) env.MAILROOM_STORE = store;
  env.MAILROOM_LISTENERS_SMTP_HOST = HOST;
  env.MAILROOM_LISTENERS_SMTP_PORT = String(port);
  for (const name of OTHER_LISTENERS) env[`MAILROOM_LISTENERS_${name.toUpperCase()}_ENABLED`] = "false";
  env.MAILROOM_SMTP_MAX_CONNECTIONS = "1000";
  env.MAILROOM_SMTP_MAX_CONNECTIONS_PER_IP = "1000";
  env.MAILROOM_SMTP_MAX_TRANSACTIONS = "1000000";
  return env;
}

async function cli(args: string[], env: NodeJS.ProcessEnv, stdin = ""): Promise<void> {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], { cwd: REPO_ROOT, env });
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

async function startNode(store: string | undefined): Promise<Node> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "mailroom-bench-cluster-"));
  const port = await freePort(HOST);
  const log = await open(path.join(dir, "serve.log"), "w");
  const env = nodeEnv(dir, port, store);
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, "serve"], {
    cwd: REPO_ROOT,
    env,
    stdio: ["ignore", log.fd, log.fd],
  });
  await log.close();
  try {
    await waitForPort(HOST, port, 60_000, "mailroom serve");
  } catch (error) {
    child.kill("SIGKILL");
    const tail = await readFile(path.join(dir, "serve.log"), "utf8").catch(() => "");
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${tail.slice(-2000)}`);
  }
  const node = { port, process: child, dir };
  running.add(node);
  return node;
}

async function stopNode(node: Node): Promise<void> {
  running.delete(node);
  if (node.process.exitCode === null && node.process.signalCode === null) {
    const exited = once(node.process, "exit");
    node.process.kill("SIGTERM");
    await Promise.race([exited, sleep(15_000).then(() => node.process.kill("SIGKILL"))]);
  }
  await rm(node.dir, { recursive: true, force: true });
}

interface Measurement {
  perSecond: number;
  accepted: number;
  failed: number;
  problems: string[];
}

/** One run of one setup on a fresh store: nodes up, domain and user added, warm-up, measured load. */
async function measure(setup: Setup, durationMs: number, concurrency: number): Promise<Measurement> {
  const database = setup.postgres ? await startTestPostgres() : null;
  if (setup.postgres && !database) {
    throw new Error("PostgreSQL server binaries not found: apt-get install postgresql");
  }
  const nodes: Node[] = [];
  try {
    for (let i = 0; i < setup.nodes; i++) nodes.push(await startNode(database?.url));
    const first = nodes[0] as Node;
    const adminEnv = nodeEnv(first.dir, first.port, database?.url);
    await cli(["domain", "add", DOMAIN], adminEnv);
    await Promise.all(
      Array.from({ length: setup.users }, (_, u) =>
        cli(["user", "add", user(u), "--password-stdin"], adminEnv, "bench password\n"),
      ),
    );
    // One load generator per (node, user) pair; connections are dealt out round-robin so each node gets
    // an even share of the concurrency and each user an even share of the mail.
    const streams = new Map<string, { port: number; to: string; connections: number }>();
    for (let c = 0; c < concurrency; c++) {
      const node = nodes[c % nodes.length] as Node;
      const to = user(c % setup.users);
      const key = `${node.port} ${to}`;
      const stream = streams.get(key) ?? { port: node.port, to, connections: 0 };
      stream.connections += 1;
      streams.set(key, stream);
    }
    const load = (duration: number) =>
      Promise.all(
        [...streams.values()].map((stream) =>
          runLoad({
            host: HOST,
            port: stream.port,
            concurrency: stream.connections,
            durationMs: duration,
            messageSize: 1024,
            from: "sender@bench.test",
            to: stream.to,
          }),
        ),
      );
    await load(1000);
    const results = await load(durationMs);
    const accepted = results.reduce((sum, r) => sum + r.accepted, 0);
    const failed = results.reduce((sum, r) => sum + r.failed, 0);
    const elapsed = Math.max(...results.map((r) => r.elapsedMs));
    const problems = results.flatMap((r) => Object.entries(r.problems).map(([p, n]) => `${n} × ${p}`));
    return { perSecond: (accepted * 1000) / elapsed, accepted, failed, problems };
  } finally {
    await Promise.all(nodes.map(stopNode));
    await database?.stop();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      repetitions: { type: "string", default: "3" },
      duration: { type: "string", default: "8" },
      concurrency: { type: "string", default: "50" },
      out: { type: "string", default: path.join(REPO_ROOT, "bench", "cluster", "RESULTS.md") },
    },
  });
  const repetitions = Number(values.repetitions);
  const durationMs = Number(values.duration) * 1000;
  const concurrency = Number(values.concurrency);
  for (const [name, value] of [
    ["repetitions", repetitions],
    ["duration", durationMs],
    ["concurrency", concurrency],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
  }
  const load = os.loadavg();
  const started = new Date();
  const runs = new Map<string, Measurement[]>(SETUPS.map((s) => [s.name, []]));
  for (let rep = 0; rep < repetitions; rep++) {
    // Rotate the order so no setup always runs first (on the coolest machine) or last.
    const order = SETUPS.map((_, i) => SETUPS[(i + rep) % SETUPS.length] as Setup);
    for (const setup of order) {
      const result = await measure(setup, durationMs, concurrency);
      runs.get(setup.name)?.push(result);
      console.log(
        `rep ${rep + 1} ${setup.name}: ${formatNumber(result.perSecond)} msgs/s (${result.accepted}/${result.failed})`,
      );
    }
  }

  const baselines = new Map(
    SETUPS.filter((s) => !s.postgres).map((s) => [
      s.users,
      median((runs.get(s.name) ?? []).map((r) => r.perSecond)),
    ]),
  );
  const lines = [
    "# SMTP accept rate: mailroom nodes on one PostgreSQL against the SQLite single node",
    "",
    "Generated by `node --import tsx bench/cluster/run.ts`. Do not edit by hand; rerun.",
    "",
    `- Date: ${started.toISOString()}`,
    `- CPU: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? "unknown"}), shared by everything: the load generator, every node, PostgreSQL, and the other agents' work on this machine; load average at start ${load.map((x) => x.toFixed(2)).join(" / ")}`,
    `- Memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; kernel ${os.type()} ${os.release()}; Node ${process.version}`,
    "- mailroom runs from src/ through the tsx loader (no build step); PostgreSQL is a private cluster from test/support/postgres.ts with fsync on, on the same disk.",
    `- Each run: a fresh database (or SQLite data dir), 1 s warm-up, ${durationMs / 1000} s measured; concurrency ${concurrency} split evenly over the nodes' SMTP ports and over the local users (1 or 10); 1 KB messages; ${repetitions} runs per setup, setups interleaved, medians quoted.`,
    "- msgs/s counts final-dot 250 replies (the message committed) over the longest of the per-node load runs.",
    "",
    "| Setup | msgs/s (median) | vs SQLite 1 node, same users |",
    "| ----- | --------------- | ---------------- |",
    ...SETUPS.map((setup) => {
      const value = median((runs.get(setup.name) ?? []).map((r) => r.perSecond));
      const baseline = baselines.get(setup.users) ?? Number.NaN;
      return `| ${setup.name} | ${formatNumber(value)} | ${(value / baseline).toFixed(2)}× |`;
    }),
    "",
    "Every run, msgs/s (accepted / failed):",
    "",
    ...SETUPS.map(
      (setup) =>
        `- ${setup.name}: ${(runs.get(setup.name) ?? []).map((r) => `${formatNumber(r.perSecond)} (${r.accepted}/${r.failed})`).join(", ")}`,
    ),
  ];
  const problems = [...runs.values()].flat().flatMap((r) => r.problems);
  if (problems.length > 0) lines.push("", "Unexpected replies:", "", ...problems.map((p) => `- ${p}`));
  await writeFile(values.out, `${lines.join("\n")}\n`);
  console.log(`wrote ${values.out}`);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    for (const node of running) node.process.kill("SIGKILL");
    process.exit(130);
  });
}

main()
  .then(() => process.exit(0))
  .catch((error: unknown) => {
    console.error(`bench/cluster: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
