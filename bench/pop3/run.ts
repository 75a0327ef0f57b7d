// The POP3 benchmark (issue 5): RETR throughput, LIST and UIDL time for one large maildrop, served by
// mailroom and by a throwaway Dovecot from the same generated messages, in one run. After one untimed
// pass per server (first access: Dovecot indexes and moves new/ to cur/, both servers set \Seen), the
// timed sessions alternate which server goes first. Peak memory is sampled throughout.
// Writes a markdown report to bench/pop3/RESULTS.md (or --out) and prints it.
//
//   node --import tsx bench/pop3/run.ts [--quick] [--messages N] [--repetitions N] [--window N]
//                                       [--mode build|tsx] [--out FILE]
import { execFile } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { parseArgs, promisify } from "node:util";
import type { GroupMemory } from "../lib/proc.js";
import { busyMachineWarning, writeReport } from "../lib/report.js";
import { formatNumber, formatRatio, median } from "../lib/stats.js";
import { runSession, type SessionResult } from "./client.js";
import { generateCorpus, generateMessage } from "./corpus.js";
import { type DovecotInstance, startDovecot } from "./dovecot.js";
import { type MailroomInstance, type MailroomMode, REPO_ROOT, startMailroom } from "./mailroom.js";

const ADDRESS = "u@bench.test";
const PASSWORD = "bench-password";
const SEED = 5;
const MB = 1_000_000;
const MiB = 1024 * 1024;

type ServerName = "mailroom" | "dovecot";
const LABEL: Record<ServerName, string> = { mailroom: "mailroom", dovecot: "Dovecot" };

interface Target {
  name: ServerName;
  host: string;
  port: number;
  expectedSizes: number[];
}

interface Peaks {
  mailroomHwm: number;
  dovecot: GroupMemory;
}

function usage(): never {
  process.stderr.write(`usage: node --import tsx bench/pop3/run.ts [options]
  --quick            1,000 messages instead of 10,000
  --messages N       maildrop size (default 10000)
  --repetitions N    timed sessions per server (default 3, at least 3 for medians)
  --window N         RETR commands in flight (default 32)
  --serial N         then RETR 1..N again one at a time (default 500; 0 skips it)
  --mode build|tsx   run mailroom compiled (default) or through tsx
  --out FILE         report path (default bench/pop3/RESULTS.md)
`);
  process.exit(64);
}

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      messages: { type: "string" },
      repetitions: { type: "string", default: "3" },
      window: { type: "string", default: "32" },
      serial: { type: "string", default: "500" },
      mode: { type: "string", default: "build" },
      out: { type: "string", default: path.join(REPO_ROOT, "bench", "pop3", "RESULTS.md") },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) usage();
  const messages = Number(values.messages ?? (values.quick ? 1000 : 10_000));
  const repetitions = Number(values.repetitions);
  const window = Number(values.window);
  const serial = Number(values.serial);
  const mode = values.mode;
  if (!Number.isInteger(messages) || messages < 1) usage();
  if (!Number.isInteger(repetitions) || repetitions < 1) usage();
  if (!Number.isInteger(window) || window < 1) usage();
  if (!Number.isInteger(serial) || serial < 0) usage();
  if (mode !== "build" && mode !== "tsx") usage();
  return {
    messages,
    repetitions,
    window,
    serial,
    mode: mode as MailroomMode,
    out: values.out,
    quick: values.quick,
  };
}

async function session(target: Target): Promise<SessionResult> {
  return runSession({
    host: target.host,
    port: target.port,
    user: ADDRESS,
    password: PASSWORD,
    window: settings.window,
    serialCount: settings.serial,
    expectedSizes: target.expectedSizes,
    timeoutMs: 120_000,
  });
}

function messagesPerSecond(result: SessionResult): number {
  return result.messages / (result.retrMs / 1000);
}

function serialPerSecond(result: SessionResult): number {
  return result.serialMessages > 0 ? result.serialMessages / (result.serialMs / 1000) : Number.NaN;
}

function megabytesPerSecond(result: SessionResult): number {
  return result.octets / MB / (result.retrMs / 1000);
}

/** formatRatio's two decimals read "0.00×" for a gap of hundreds: small ratios get significant digits. */
function ratio(numerator: number, denominator: number): string {
  const value = numerator / denominator;
  if (Number.isFinite(value) && value > 0 && value < 0.1) return `${value.toPrecision(2)}×`;
  return formatRatio(numerator, denominator);
}

function sampler(mailroom: MailroomInstance, dovecot: DovecotInstance): { peaks: Peaks; stop: () => void } {
  const peaks: Peaks = { mailroomHwm: 0, dovecot: { processes: 0, rss: 0, pss: 0 } };
  const sample = async () => {
    try {
      peaks.mailroomHwm = Math.max(peaks.mailroomHwm, (await mailroom.memory()).hwm);
      const group = await dovecot.memory();
      if (group.rss > peaks.dovecot.rss)
        peaks.dovecot = { ...group, pss: Math.max(group.pss, peaks.dovecot.pss) };
      else peaks.dovecot.pss = Math.max(group.pss, peaks.dovecot.pss);
    } catch {
      // A server that exited shows up as a failed session; the sampler just stops counting it.
    }
  };
  const timer = setInterval(() => void sample(), 250);
  return {
    peaks,
    stop: () => {
      clearInterval(timer);
      void sample();
    },
  };
}

async function machineFacts(
  dovecotVersion: string,
  loadStart: number[],
  realServe: boolean,
): Promise<string[]> {
  const cpus = os.cpus();
  let kernel = os.release();
  try {
    kernel = (await promisify(execFile)("uname", ["-srm"])).stdout.trim();
  } catch {
    // os.release() is enough.
  }
  const loads = (values: number[]) => values.map((load) => load.toFixed(2)).join(" / ");
  return [
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? "unknown"}); load average (1/5/15 min) at start ${loads(loadStart)}, at end ${loads(os.loadavg())}`,
    `- Memory: ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB; kernel ${kernel}`,
    `- Node ${process.version}; mailroom ${settings.mode === "build" ? "compiled with tsc (plain node)" : "through tsx"}, SQLite store; Dovecot ${dovecotVersion}, Maildir`,
    "- Client: bench/pop3/client.ts, one Node process on the same machine (it competes for the same cores).",
    ...(realServe
      ? []
      : [
          "- **mailroom ran through the bench's stopgap entry, not `mailroom serve`**: the CLI did not start (src/server/ was broken mid-edit), so the same config, store, authenticator, POP3 handler and listener were wired without src/server/server.ts.",
        ]),
  ];
}

function corpusFacts(sizes: number[]): string {
  const total = sizes.reduce((sum, size) => sum + size, 0);
  const sorted = [...sizes].sort((a, b) => a - b);
  const over50k = sizes.filter((size) => size >= 50 * 1024).length;
  return `${sizes.length} messages, ${(total / MiB).toFixed(1)} MiB (median ${(median(sorted) / 1024).toFixed(1)} KiB, largest ${((sorted.at(-1) ?? 0) / 1024).toFixed(0)} KiB, ${over50k} of 50 KiB or more), CRLF, seed ${SEED}`;
}

function report(input: {
  facts: string[];
  /** os.loadavg() before the run, for the busy-machine warning. */
  loadStart: number[];
  corpus: string;
  firstPass: Record<ServerName, SessionResult>;
  runs: Record<ServerName, SessionResult[]>;
  peaks: Peaks;
  loadSeconds: number;
}): string {
  const { runs, firstPass, peaks } = input;
  const med = (name: ServerName, pick: (result: SessionResult) => number) => median(runs[name].map(pick));
  const row = (label: string, pick: (result: SessionResult) => number, digits: number, better: string) => {
    const mailroom = med("mailroom", pick);
    const dovecot = med("dovecot", pick);
    return `| ${label} | ${formatNumber(mailroom, digits)} | ${formatNumber(dovecot, digits)} | ${ratio(mailroom, dovecot)} | ${better} |`;
  };
  const each = (name: ServerName) =>
    runs[name]
      .map(
        (result, index) =>
          `| ${LABEL[name]} | ${index + 1} | ${formatNumber(messagesPerSecond(result))} | ${formatNumber(megabytesPerSecond(result), 1)} | ${formatNumber(result.retrMs)} | ${formatNumber(serialPerSecond(result))} | ${formatNumber(result.listMs, 1)} | ${formatNumber(result.uidlMs, 1)} |`,
      )
      .join("\n");
  const first = (name: ServerName) => {
    const result = firstPass[name];
    return `| ${LABEL[name]} | ${formatNumber(messagesPerSecond(result))} | ${formatNumber(megabytesPerSecond(result), 1)} | ${formatNumber(result.listMs, 1)} | ${formatNumber(result.uidlMs, 1)} |`;
  };
  const problems = (["mailroom", "dovecot"] as const).flatMap((name) =>
    [firstPass[name], ...runs[name]].flatMap((result) =>
      result.problems.map((problem) => `${LABEL[name]}: ${problem}`),
    ),
  );
  return `# POP3 benchmark: mailroom and Dovecot side by side

Generated by \`node --import tsx bench/pop3/run.ts${settings.quick ? " --quick" : ""}\` (see bench/pop3/README.md).

${input.facts.join("\n")}
- Maildrop: ${input.corpus}; the same bytes in mailroom's store and in Dovecot's Maildir.
- Each session: USER/PASS, STAT, LIST, UIDL, then RETR 1..N pipelined with ${settings.window} commands in flight,
  then RETR 1..${settings.serial} again one command at a time (as clients without PIPELINING do), QUIT without DELE.
  One untimed first pass per server, then ${settings.repetitions} timed sessions each, alternating which server goes first.
- MB = 10^6 octets of message content (dot-stuffing removed); every RETR's size was checked against the corpus.
${busyMachineWarning(input.loadStart)}
## Medians of ${settings.repetitions} sessions

| | mailroom | Dovecot | mailroom/Dovecot | better |
|---|---:|---:|---:|---|
${row("RETR messages/s", messagesPerSecond, 0, "higher")}
${row("RETR MB/s", megabytesPerSecond, 1, "higher")}
${settings.serial > 0 ? `${row(`RETR one at a time (messages 1..${Math.min(settings.serial, settings.messages)}), messages/s`, serialPerSecond, 0, "higher")}\n` : ""}${row(`LIST of ${runs.mailroom[0]?.messages ?? 0} messages, ms`, (result) => result.listMs, 1, "lower")}
${row(`UIDL of ${runs.mailroom[0]?.messages ?? 0} messages, ms`, (result) => result.uidlMs, 1, "lower")}
| Peak memory | ${(peaks.mailroomHwm / MiB).toFixed(1)} MiB (VmHWM, one process) | ${(peaks.dovecot.rss / MiB).toFixed(1)} MiB RSS / ${(peaks.dovecot.pss / MiB).toFixed(1)} MiB PSS (sum of ${peaks.dovecot.processes} processes) | ${formatRatio(peaks.mailroomHwm, peaks.dovecot.rss)} (RSS) | lower |

Dovecot's memory is summed over its master and every process it forked, sampled every 250 ms; RSS
counts shared libraries once per process, PSS divides them among the sharers.

## Every timed session

| server | session | messages/s | MB/s | RETR ms | one at a time, messages/s | LIST ms | UIDL ms |
|---|---:|---:|---:|---:|---:|---:|---:|
${each("mailroom")}
${each("dovecot")}

## First (untimed) pass

| server | messages/s | MB/s | LIST ms | UIDL ms |
|---|---:|---:|---:|---:|
${first("mailroom")}
${first("dovecot")}

Loading the maildrop into mailroom's store took ${input.loadSeconds.toFixed(1)} s (createBlobWriter/finish/deliver, 32 in flight; not a benchmark figure).

## Problems

${problems.length === 0 ? "None: every reply was +OK and every message came back with its exact size." : problems.map((problem) => `- ${problem}`).join("\n")}
`;
}

const settings = options();

async function main(): Promise<void> {
  const loadStart = os.loadavg();
  const sizes = Array.from({ length: settings.messages }, (_, index) => generateMessage(SEED, index).length);
  process.stderr.write(`bench: ${corpusFacts(sizes)}\n`);
  let dovecot: DovecotInstance | null = null;
  let mailroom: MailroomInstance | null = null;
  const stopAll = async () => {
    await Promise.all([dovecot?.stop(), mailroom?.stop()].map((stop) => stop?.catch(() => undefined)));
  };
  process.once("SIGINT", () => void stopAll().then(() => process.exit(130)));
  try {
    process.stderr.write("bench: writing Dovecot's Maildir and starting Dovecot\n");
    dovecot = await startDovecot({
      user: ADDRESS,
      password: PASSWORD,
      messages: generateCorpus(settings.messages, SEED),
    });
    process.stderr.write(`bench: ${settings.mode === "build" ? "compiling and " : ""}loading mailroom\n`);
    mailroom = await startMailroom({
      address: ADDRESS,
      password: PASSWORD,
      messages: generateCorpus(settings.messages, SEED),
      mode: settings.mode,
    });
    const targets: Record<ServerName, Target> = {
      mailroom: {
        name: "mailroom",
        host: mailroom.host,
        port: mailroom.port,
        expectedSizes: mailroom.expectedSizes,
      },
      dovecot: { name: "dovecot", host: dovecot.host, port: dovecot.port, expectedSizes: sizes },
    };
    const memory = sampler(mailroom, dovecot);
    const firstPass = {} as Record<ServerName, SessionResult>;
    const runs: Record<ServerName, SessionResult[]> = { mailroom: [], dovecot: [] };
    const one = async (name: ServerName, into: (result: SessionResult) => void, what: string) => {
      const result = await session(targets[name]).catch(async (error: unknown) => {
        const tail = name === "mailroom" ? await mailroom?.logTail(10) : await dovecot?.logTail(10);
        throw new Error(
          `${LABEL[name]} ${what} failed: ${error instanceof Error ? error.message : error}\n${tail ?? ""}`,
        );
      });
      into(result);
      process.stderr.write(
        `bench: ${LABEL[name]} ${what}: ${formatNumber(messagesPerSecond(result))} messages/s, ${formatNumber(megabytesPerSecond(result), 1)} MB/s, one at a time ${formatNumber(serialPerSecond(result))} messages/s, LIST ${formatNumber(result.listMs, 1)} ms, UIDL ${formatNumber(result.uidlMs, 1)} ms${result.problems.length > 0 ? `, ${result.problems.length} problems` : ""}\n`,
      );
    };
    for (const name of ["mailroom", "dovecot"] as const) {
      await one(name, (result) => (firstPass[name] = result), "first pass");
    }
    for (let repetition = 0; repetition < settings.repetitions; repetition++) {
      const order: ServerName[] = repetition % 2 === 0 ? ["mailroom", "dovecot"] : ["dovecot", "mailroom"];
      for (const name of order) {
        await one(name, (result) => runs[name].push(result), `session ${repetition + 1}`);
      }
    }
    memory.stop();
    const text = report({
      facts: await machineFacts(dovecot.version, loadStart, mailroom.realServe),
      loadStart,
      corpus: corpusFacts(sizes),
      firstPass,
      runs,
      peaks: {
        ...memory.peaks,
        mailroomHwm: Math.max(memory.peaks.mailroomHwm, (await mailroom.memory()).hwm),
      },
      loadSeconds: mailroom.loadSeconds,
    });
    await writeReport(settings.out, text);
  } finally {
    await stopAll();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
