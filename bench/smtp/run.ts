// The SMTP benchmark matrix: concurrency 1, 10, 50 × 1 KB, 10 KB messages against mailroom and a
// throwaway Postfix in one run, interleaved (the order alternates per repetition so neither server
// always runs on a warmer or quieter machine), then peak memory and memory per idle connection.
// Writes a markdown report to bench/smtp/RESULTS.md (or --out) and prints it.
//
//   node --import tsx bench/smtp/run.ts [--quick] [--only mailroom|postfix] [--idle N] [--out FILE]
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs, promisify } from "node:util";
import { type GroupMemory, resetPeakMemory, sumMemory } from "../lib/proc.js";
import { formatNumber, formatRatio, median } from "../lib/stats.js";
import { openIdleConnections } from "./idle.js";
import { type LoadOptions, type LoadResult, runLoad } from "./load.js";
import { type MailroomInstance, REPO_ROOT, startMailroom } from "./mailroom.js";
import { type PostfixInstance, samplePostfixMemory, startPostfix } from "./postfix.js";

const DOMAIN = "bench.test";
const USER = "u";
const CONCURRENCIES = [1, 10, 50];
const SIZES = [1024, 10 * 1024];
const MiB = 1024 * 1024;

type ServerName = "mailroom" | "postfix";

interface Target {
  name: ServerName;
  host: string;
  port: number;
  /** Resolves when the server has no work left from the previous run (Postfix delivers after 250). */
  settle(): Promise<string | null>;
}

interface Cell {
  concurrency: number;
  size: number;
  runs: Record<ServerName, LoadResult[]>;
}

interface IdleFigures {
  requested: number;
  open: number;
  before: GroupMemory;
  after: GroupMemory;
  problems: Record<string, number>;
}

function sizeLabel(size: number): string {
  return `${size / 1024} KB`;
}

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

function kib(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 1024).toFixed(1)} KiB` : "n/a";
}

async function machineFacts(postfixVersion: string | null, mailroomMode: string | null): Promise<string[]> {
  const cpus = os.cpus();
  let kernel = os.release();
  try {
    kernel = (await promisify(execFile)("uname", ["-srm"])).stdout.trim();
  } catch {
    // os.release() is enough.
  }
  return [
    `- Date: ${new Date().toISOString()}`,
    `- CPU: ${cpus.length} cores (${cpus[0]?.model.trim() ?? "unknown"}), shared with everything else running on the machine: load average at start ${os
      .loadavg()
      .map((load) => load.toFixed(2))
      .join(" / ")}`,
    `- Memory: ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB; kernel ${kernel}`,
    `- Node ${process.version}; mailroom ${mailroomMode ?? "not run"}; Postfix ${postfixVersion ?? "not run"}`,
    `- Load generator: bench/smtp/load.ts in one Node process on the same machine (it competes for the same 2 cores).`,
  ];
}

async function waitForPostfixQueue(instance: PostfixInstance, timeoutMs: number): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const queued = await instance.queuedMessages();
    if (queued === 0) return null;
    if (Date.now() > deadline)
      return `Postfix queue still held ${queued} messages after ${timeoutMs / 1000} s`;
    await sleep(200);
  }
}

async function measureIdle(
  host: string,
  port: number,
  count: number,
  memory: () => Promise<GroupMemory>,
): Promise<IdleFigures> {
  await sleep(1000);
  const before = await memory();
  const idle = await openIdleConnections(host, port, count, 60_000);
  // Let forked servers finish starting and the event loop settle before reading memory.
  await sleep(2000);
  const after = await memory();
  idle.close();
  await sleep(1000);
  return { requested: count, open: idle.open, before, after, problems: idle.problems };
}

function perConnection(figures: IdleFigures, key: "rss" | "pss"): number {
  return figures.open > 0 ? (figures.after[key] - figures.before[key]) / figures.open : Number.NaN;
}

function medianOf(results: LoadResult[], pick: (result: LoadResult) => number): number {
  return median(results.map(pick));
}

function problemsOf(results: LoadResult[]): Map<string, number> {
  const total = new Map<string, number>();
  for (const result of results) {
    for (const [problem, count] of Object.entries(result.problems)) {
      total.set(problem, (total.get(problem) ?? 0) + count);
    }
  }
  return total;
}

function report(input: {
  facts: string[];
  quick: boolean;
  durationMs: number;
  repetitions: number;
  cells: Cell[];
  servers: ServerName[];
  peak: Partial<Record<ServerName, string>>;
  idle: Partial<Record<ServerName, IdleFigures>>;
  notes: string[];
}): string {
  const { cells, servers } = input;
  const both = servers.length === 2;
  const lines: string[] = [
    "# SMTP load benchmark: mailroom and Postfix side by side",
    "",
    `Generated by \`node --import tsx bench/smtp/run.ts${input.quick ? " --quick" : ""}\`. Do not edit by hand; rerun.`,
    "",
    ...input.facts,
    `- Each cell: ${input.repetitions} runs of ${input.durationMs / 1000} s per server, interleaved; figures are medians over the runs.`,
    "- msgs/s counts final-dot 250 replies only; latency is from writing the final dot to reading its reply.",
    "- Both servers answer 250 only after the message is on disk (mailroom: its commit; Postfix: fsync of the queue file).",
    "",
    "## Throughput",
    "",
  ];
  const header = ["Concurrency", "Size", ...servers.map((server) => `${server} msgs/s`)];
  if (both) header.push("mailroom / Postfix");
  header.push(...servers.map((server) => `${server} p50 / p99 ms`));
  lines.push(`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`);
  for (const cell of cells) {
    const rate = (server: ServerName) => medianOf(cell.runs[server], (result) => result.acceptedPerSecond);
    const row = [
      String(cell.concurrency),
      sizeLabel(cell.size),
      ...servers.map((server) => formatNumber(rate(server))),
    ];
    if (both) row.push(formatRatio(rate("mailroom"), rate("postfix")));
    for (const server of servers) {
      const p50 = medianOf(cell.runs[server], (result) => result.latencyP50Ms);
      const p99 = medianOf(cell.runs[server], (result) => result.latencyP99Ms);
      row.push(`${formatNumber(p50, 2)} / ${formatNumber(p99, 2)}`);
    }
    lines.push(`| ${row.join(" | ")} |`);
  }
  lines.push("", "Every run, msgs/s (accepted / failed):", "");
  for (const cell of cells) {
    for (const server of servers) {
      const runs = cell.runs[server]
        .map((result) => `${formatNumber(result.acceptedPerSecond)} (${result.accepted}/${result.failed})`)
        .join(", ");
      lines.push(`- c=${cell.concurrency}, ${sizeLabel(cell.size)}, ${server}: ${runs}`);
    }
  }
  lines.push("", "## Memory", "");
  lines.push(
    "| Server | Peak during the matrix | Idle connections open | Per idle connection (RSS) | Per idle connection (PSS) |",
    "|---|---|---|---|---|",
  );
  for (const server of servers) {
    const idle = input.idle[server];
    const open = idle ? `${idle.open} of ${idle.requested}` : "not measured";
    const rss = idle ? kib(perConnection(idle, "rss")) : "n/a";
    const pss = idle ? kib(perConnection(idle, "pss")) : "n/a";
    lines.push(`| ${server} | ${input.peak[server] ?? "n/a"} | ${open} | ${rss} | ${pss} |`);
  }
  lines.push(
    "",
    "mailroom is one process: peak is its VmHWM. Postfix forks a process per connection and per service: its",
    "peak is the highest sum over all its processes sampled every 250 ms, and per-connection figures are the",
    "growth of that sum; RSS counts shared pages once per process, PSS divides them among the sharers.",
  );
  const problemLines: string[] = [];
  for (const cell of cells) {
    for (const server of servers) {
      for (const [problem, count] of problemsOf(cell.runs[server])) {
        problemLines.push(
          `- c=${cell.concurrency}, ${sizeLabel(cell.size)}, ${server}: ${count} × ${problem}`,
        );
      }
    }
  }
  for (const server of servers) {
    for (const [problem, count] of Object.entries(input.idle[server]?.problems ?? {})) {
      problemLines.push(`- idle connections, ${server}: ${count} × ${problem}`);
    }
  }
  lines.push(
    "",
    "## Problems seen",
    "",
    ...(problemLines.length > 0 ? problemLines : ["None: every reply was the expected one."]),
  );
  if (input.notes.length > 0) lines.push("", "## Notes", "", ...input.notes.map((note) => `- ${note}`));
  return `${lines.join("\n")}\n`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      idle: { type: "string", default: "1000" },
      repetitions: { type: "string" },
      mode: { type: "string", default: "build" },
      out: { type: "string", default: path.join(REPO_ROOT, "bench", "smtp", "RESULTS.md") },
    },
  });
  const servers: ServerName[] =
    values.only === "mailroom"
      ? ["mailroom"]
      : values.only === "postfix"
        ? ["postfix"]
        : ["mailroom", "postfix"];
  if (values.only !== undefined && servers.length !== 1) throw new Error("--only takes mailroom or postfix");
  if (values.mode !== "build" && values.mode !== "tsx") throw new Error("--mode takes build or tsx");
  const idleCount = Number(values.idle);
  if (!Number.isInteger(idleCount) || idleCount < 0)
    throw new Error("--idle takes a connection count (0 skips)");
  const durationMs = values.quick ? 3000 : 10_000;
  const repetitions = values.repetitions ? Number(values.repetitions) : 3;
  if (!Number.isInteger(repetitions) || repetitions < 1)
    throw new Error("--repetitions takes a positive integer");
  const notes: string[] = [
    "Postfix: stock 3.x settings except what a benchmark needs: no chroot, loopback only, no DNS, " +
      "smtpd_client_* rate limits off, in_flow_delay = 0s (so its flow control does not slow acceptance), " +
      "default_process_limit raised; mail for the bench domain goes through virtual(8) into a Maildir. " +
      "Between runs the bench waits until Postfix's queue is empty, so its deliveries do not steal CPU from the next run.",
    "mailroom: defaults except connection limits raised (for concurrency 50 and the idle test from one IP) " +
      "and smtp.max_transactions raised (Postfix has no per-session limit); logs at info as JSON to a file.",
  ];
  if (values.quick)
    notes.push("--quick: 3 s runs, taken while other work loaded the machine; treat as indicative.");

  let mailroom: MailroomInstance | null = null;
  let postfix: PostfixInstance | null = null;
  const targets: Target[] = [];
  try {
    if (servers.includes("postfix")) {
      postfix = await startPostfix({ domain: DOMAIN, user: USER, processLimit: idleCount + 200 });
      const instance = postfix;
      targets.push({
        name: "postfix",
        host: instance.host,
        port: instance.port,
        settle: () => waitForPostfixQueue(instance, 120_000),
      });
      console.error(`postfix ${instance.version} listening on ${instance.host}:${instance.port}`);
    }
    if (servers.includes("mailroom")) {
      const mode = values.mode as "build" | "tsx";
      mailroom = await startMailroom({
        domain: DOMAIN,
        user: USER,
        password: "bench-password",
        maxConnections: idleCount + 200,
        mode,
      });
      const instance = mailroom;
      targets.unshift({
        name: "mailroom",
        host: instance.host,
        port: instance.port,
        settle: async () => null,
      });
      console.error(`mailroom (${mode}) listening on ${instance.host}:${instance.port}`);
      if (!instance.realServe) {
        notes.push(
          "src/server/protocols.ts did not register SMTP yet: mailroom ran through the bench's stopgap entry " +
            "(runServer with smtpProtocol added), not `mailroom serve` itself.",
        );
      }
    }
    const facts = await machineFacts(
      postfix?.version ?? null,
      mailroom
        ? `${mailroom.realServe ? "`mailroom serve`" : "stopgap server entry"} from this checkout (${mailroom.mode === "build" ? "compiled with tsc, run by plain node" : "run through tsx"})`
        : null,
    );

    const load = (target: Target, concurrency: number, size: number, ms: number): Promise<LoadResult> => {
      const options: LoadOptions = {
        host: target.host,
        port: target.port,
        concurrency,
        durationMs: ms,
        messageSize: size,
        from: `sender@${DOMAIN}`,
        to: `${USER}@${DOMAIN}`,
      };
      return runLoad(options);
    };
    const idle: Partial<Record<ServerName, IdleFigures>> = {};
    if (idleCount > 0) {
      // First, on freshly started servers: a heap full of the matrix's garbage would be collected
      // mid-measurement and hide the connections' cost.
      for (const target of targets) {
        const memory = async (): Promise<GroupMemory> => {
          if (target.name === "mailroom" && mailroom) return sumMemory([mailroom.pid]);
          if (postfix) return sumMemory(await postfix.pids());
          throw new Error(`no ${target.name} instance`);
        };
        idle[target.name] = await measureIdle(target.host, target.port, idleCount, memory);
        console.error(`idle connections on ${target.name}: ${idle[target.name]?.open} open`);
      }
      await postfix?.retireIdleProcesses(30_000);
    }
    // The idle test's connections must not count towards the peak under load.
    if (mailroom) await resetPeakMemory(mailroom.pid);
    for (const target of targets) {
      // Warm-up: JIT, caches, Postfix's first process spawns. Discarded.
      await load(target, 10, 1024, 2000);
      const unsettled = await target.settle();
      if (unsettled) notes.push(unsettled);
    }
    const postfixSampler = postfix ? samplePostfixMemory(postfix, 250) : null;
    const cells: Cell[] = [];
    for (const size of SIZES) {
      for (const concurrency of CONCURRENCIES)
        cells.push({ concurrency, size, runs: { mailroom: [], postfix: [] } });
    }
    for (let repetition = 0; repetition < repetitions; repetition += 1) {
      const order = repetition % 2 === 0 ? targets : [...targets].reverse();
      for (const cell of cells) {
        for (const target of order) {
          const unsettled = await target.settle();
          if (unsettled) notes.push(`before c=${cell.concurrency} ${sizeLabel(cell.size)}: ${unsettled}`);
          const result = await load(target, cell.concurrency, cell.size, durationMs);
          cell.runs[target.name].push(result);
          console.error(
            `run ${repetition + 1}/${repetitions} c=${cell.concurrency} ${sizeLabel(cell.size)} ${target.name}: ` +
              `${result.acceptedPerSecond.toFixed(0)} msgs/s, ${result.failed} failed`,
          );
        }
      }
    }
    const peak: Partial<Record<ServerName, string>> = {};
    if (postfixSampler) {
      const sampled = await postfixSampler.stop();
      peak.postfix = `${mib(sampled.peakRss)} RSS, ${mib(sampled.peakPss)} PSS`;
    }
    if (mailroom) peak.mailroom = `${mib((await mailroom.memory()).hwm)} (VmHWM)`;

    if (mailroom) {
      const errors = (await mailroom.logTail(2000))
        .split("\n")
        .filter((line) => /"level":(50|60)/.test(line))
        .slice(0, 5);
      for (const line of errors) notes.push(`mailroom logged an error: \`${line.slice(0, 300)}\``);
    }
    const text = report({
      facts,
      quick: values.quick,
      durationMs,
      repetitions,
      cells,
      servers,
      peak,
      idle,
      notes,
    });
    await writeFile(values.out, text);
    process.stdout.write(text);
    console.error(`written to ${values.out}`);
  } finally {
    await mailroom?.stop().catch((error: unknown) => console.error(`stopping mailroom: ${String(error)}`));
    await postfix?.stop().catch((error: unknown) => console.error(`stopping postfix: ${String(error)}`));
  }
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
