// Relay throughput, queue → smtp-sink: mailroom's queue runner and Postfix each relay the same N queued
// messages to Postfix's smtp-sink, interleaved over several repetitions. Writes bench/relay/RESULTS.md
// (or --out) and prints it.
//
//   node --import tsx bench/relay/run.ts [--messages 2000] [--domains 5] [--size 1024] [--repetitions 3]
//   node --import tsx bench/relay/run.ts --profile DIR   (one mailroom run under --cpu-prof, no report)
//   … --mailroom-env MAILROOM_RELAY_CONCURRENCY=40        (a setting to try; repeatable)
import { writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { startTestDns, type TestDnsRecords } from "../../test/support/dns.js";
import { formatNumber, formatRatio, median } from "../lib/stats.js";
import { postfixVersion } from "../smtp/postfix.js";
import { buildMailroom, type MailroomBuild, prepareMailroom } from "./mailroom.js";
import { domainOf } from "./message.js";
import { startPostfixRelay } from "./postfix.js";
import { startSink } from "./sink.js";

type System = "mailroom" | "postfix";

interface RunFigures {
  /** Messages per second from the first to the last arrival at the sink. */
  rate: number;
  /** Milliseconds from releasing the queue to the last arrival (includes start-up). */
  totalMs: number;
  /** Messages the sink counted (more than N would mean duplicates). */
  received: number;
  /** SMTP sessions the sink saw end while the load ran: connections opened and closed again. */
  sessions: number;
}

const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "2000" },
    domains: { type: "string", default: "5" },
    size: { type: "string", default: "1024" },
    repetitions: { type: "string", default: "3" },
    out: { type: "string", default: path.join(import.meta.dirname, "RESULTS.md") },
    profile: { type: "string" },
    "mailroom-env": { type: "string", multiple: true, default: [] },
  },
});
const messages = Number(values.messages);
const domains = Number(values.domains);
const size = Number(values.size);
const repetitions = Number(values.repetitions);
const TIMEOUT_MS = 10 * 60_000;
const mailroomEnv = Object.fromEntries(
  (values["mailroom-env"] ?? []).map((pair) => {
    const at = pair.indexOf("=");
    if (at <= 0 || !pair.startsWith("MAILROOM_"))
      throw new Error(`--mailroom-env ${pair}: not MAILROOM_NAME=VALUE`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  }),
);

async function runMailroom(build: MailroomBuild, resolver: string, nodeArgs?: string[]): Promise<RunFigures> {
  const sink = await startSink();
  const prepared = await prepareMailroom({
    build,
    messages,
    domains,
    size,
    resolver,
    sinkPort: sink.port,
    env: mailroomEnv,
    ...(nodeArgs ? { nodeArgs } : {}),
  });
  try {
    const releasedAt = performance.now();
    await prepared.start();
    const { firstAt, lastAt } = await sink.waitFor(messages, TIMEOUT_MS).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await prepared.logTail(10)}`);
    });
    // Read before stopping: stopping closes the pooled connections, which would count as sessions.
    const sessions = sink.sessions();
    // Stopped before counting, so a late duplicate delivery would still show.
    await prepared.stop();
    return {
      rate: (messages - 1) / ((lastAt - firstAt) / 1000),
      totalMs: lastAt - releasedAt,
      received: sink.received(),
      sessions,
    };
  } finally {
    await prepared.stop().catch(() => undefined);
    await sink.stop();
  }
}

async function runPostfix(): Promise<RunFigures> {
  const sink = await startSink();
  const relay = await startPostfixRelay(sink.port);
  try {
    await relay.fill(messages, domains, size);
    const releasedAt = performance.now();
    await relay.release();
    const { firstAt, lastAt } = await sink.waitFor(messages, TIMEOUT_MS);
    return {
      rate: (messages - 1) / ((lastAt - firstAt) / 1000),
      totalMs: lastAt - releasedAt,
      received: sink.received(),
      sessions: sink.sessions(),
    };
  } finally {
    await relay.stop();
    await sink.stop();
  }
}

const records: TestDnsRecords = { "mx.relay.bench.invalid": { a: ["127.0.0.1"] } };
for (let index = 0; index < domains; index++)
  records[domainOf(index, domains)] = { mx: [{ preference: 10, exchange: "mx.relay.bench.invalid" }] };
const dns = await startTestDns(records);
const build = await buildMailroom();
if (values.profile !== undefined) {
  try {
    const figures = await runMailroom(build, `${dns.address}:${dns.port}`, [
      "--cpu-prof",
      `--cpu-prof-dir=${path.resolve(values.profile)}`,
    ]);
    process.stdout.write(
      `profiled run: ${formatNumber(figures.rate)} msg/s, ${formatNumber(figures.totalMs)} ms total; profile in ${values.profile}\n`,
    );
  } finally {
    await build.remove();
    await dns.close();
  }
  process.exit(0);
}
const loadAtStart = os.loadavg();
const runs: Record<System, RunFigures[]> = { mailroom: [], postfix: [] };
try {
  for (let repetition = 0; repetition < repetitions; repetition++) {
    const order: System[] = repetition % 2 === 0 ? ["mailroom", "postfix"] : ["postfix", "mailroom"];
    for (const system of order) {
      const figures =
        system === "mailroom" ? await runMailroom(build, `${dns.address}:${dns.port}`) : await runPostfix();
      runs[system].push(figures);
      process.stderr.write(
        `run ${repetition + 1} ${system}: ${formatNumber(figures.rate)} msg/s, ${formatNumber(figures.totalMs)} ms total, sink got ${figures.received}, ${figures.sessions} sessions ended\n`,
      );
    }
  }
} finally {
  await build.remove();
  await dns.close();
}

const rate = (system: System) => median(runs[system].map((r) => r.rate));
const total = (system: System) => median(runs[system].map((r) => r.totalMs));
const cpus = os.cpus();
const report = `# Relay throughput: queue → smtp-sink

Produced by \`node --import tsx bench/relay/run.ts --messages ${messages} --domains ${domains} --size ${size} --repetitions ${repetitions}\`.

- Date: ${new Date().toISOString()}
- CPU: ${cpus.length} cores (${cpus[0]?.model.trim() ?? "unknown"}); load average at start ${loadAtStart.map((l) => l.toFixed(2)).join(" / ")}
- Node ${process.version}; mailroom compiled with tsconfig.build.json; Postfix ${await postfixVersion()}
- Load: ${messages} messages of ${size} octets, one recipient each, over ${domains} domains; the sink is Postfix's smtp-sink on loopback.
- mailroom: queue filled through the Store API (SQLite) with no server running; then \`mailroom serve\` with ${
  Object.keys(mailroomEnv).length === 0
    ? "default relay settings (concurrency 20, 4 per domain)"
    : `default relay settings but ${Object.entries(mailroomEnv)
        .map(([name, value]) => `${name}=${value}`)
        .join(", ")}`
}, MX found through a loopback DNS server.
- Postfix: relayhost = [127.0.0.1]:SINK, default_destination_concurrency_limit = 20; load injected over SMTP while defer_transports = smtp, then released (reload + \`postqueue -f\`).

| | mailroom | Postfix | mailroom / Postfix |
|---|---:|---:|---:|
| messages/s, first → last arrival (median) | ${formatNumber(rate("mailroom"))} | ${formatNumber(rate("postfix"))} | ${formatRatio(rate("mailroom"), rate("postfix"))} |
| release → last arrival, ms (median) | ${formatNumber(total("mailroom"))} | ${formatNumber(total("postfix"))} | ${formatRatio(total("mailroom"), total("postfix"))} |

Every run (messages/s; ms from release; messages the sink counted; SMTP sessions that ended during the
load, i.e. connections not kept for reuse):

${(["mailroom", "postfix"] as System[])
  .map(
    (system) =>
      `- ${system}: ${runs[system].map((r) => `${formatNumber(r.rate)} msg/s, ${formatNumber(r.totalMs)} ms, ${r.received}, ${r.sessions} sessions`).join("; ")}`,
  )
  .join("\n")}
`;
await writeFile(values.out, report);
process.stdout.write(report);
