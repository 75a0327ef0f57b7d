// mailroom and Postfix side by side under two load generators — bench/smtp/load.ts and Postfix's own
// smtp-source(1) — in one run: concurrency 1, 10 and 50 with a new connection per message, and 10
// sessions that keep their connection (smtp-source -d), all with 10 KB messages. Every cell runs each
// generator against each server back to back, the order alternating per repetition, so a machine
// shared with other work loads both alike; the load average before each run is recorded with it.
// Each run sends a fixed number of messages (the same for both generators), so both servers' stores
// grow alike over the run. Writes a markdown report (--out) and prints it.
//
// --baseline REF also runs mailroom as built from that commit (git archive into a temp dir) in the same
// rotation, so a change is measured against what it changes under the same load, not another day's;
// with --verify that commit runs twice too, verification off ("mailroom REF") and on ("mailroom REF
// verify").
//
// --verify runs mailroom twice in the rotation, inbound verification off ("mailroom") and on ("mailroom
// verify"), with a DNS server on loopback serving SPF, DKIM and DMARC for the sending domain and every
// generator sending one message DKIM-signed for it; after the run it counts the stored messages whose
// Authentication-Results says dkim=pass spf=pass dmarc=pass. --cells picks cells by label (c1,c10,c50).
//
//   node --import tsx bench/smtp/generators.ts [--quick] [--repetitions N] [--baseline REF] [--verify]
//     [--cells c1,c10,c50,keepalive] [--out FILE]
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs, promisify } from "node:util";
import { type BenchDns, startBenchDns } from "../lib/dns.js";
import { formatNumber, formatRatio, median } from "../lib/stats.js";
import { runLoad } from "./load.js";
import { type MailroomInstance, REPO_ROOT, startMailroom } from "./mailroom.js";
import { type PostfixInstance, startPostfix } from "./postfix.js";
import { signedMessage } from "./signed.js";
import { runSmtpSource } from "./smtp-source.js";

const DOMAIN = "bench.test";
const USER = "u";
const SIZE = 10 * 1024;

/** "mailroom", "mailroom REF" (--baseline) or "postfix". */
type ServerName = string;
type GeneratorName = "smtp-source" | "load.ts";
const GENERATORS: GeneratorName[] = ["smtp-source", "load.ts"];

interface CellSpec {
  label: string;
  concurrency: number;
  keepAlive: boolean;
  messages: number;
}

interface Run {
  rate: number;
  accepted: number;
  failed: number;
  load: number;
  /** The server's CPU time per accepted message, µs (mailroom only: one process). */
  cpuMicros: number | null;
  problem: string | null;
}

/** utime + stime of one process, µs (/proc/PID/stat fields 14 and 15, in clock ticks of 1/100 s). */
async function cpuMicros(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "latin1");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

async function waitForPostfixQueue(instance: PostfixInstance, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await instance.queuedMessages()) > 0) {
    if (Date.now() > deadline) throw new Error(`Postfix's queue did not empty in ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

/** The generators' HELO names (load.ts's default and smtp-source -M), which SPF checks too. */
const HELO_NAMES = ["loadgen.bench.test", "source.bench.test"];

/**
 * Stored messages under `dir` whose first Authentication-Results field reports dkim, spf and dmarc as
 * pass, and all files that begin with a header field (the stored messages), read from disk.
 */
async function countVerified(
  dir: string,
): Promise<{ messages: number; passed: number; example: string | null }> {
  let example: string | null = null;
  let messages = 0;
  let passed = 0;
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const head = (await readFile(file)).subarray(0, 4096).toString("latin1");
    if (!/^[A-Za-z-]+:/.test(head) || !/\r?\nSubject: bench message/.test(head)) continue;
    messages += 1;
    const field = head.match(/^Authentication-Results:[^\n]*(?:\r?\n[ \t][^\n]*)*/im)?.[0] ?? "";
    if (/\bdkim=pass\b/.test(field) && /\bspf=pass\b/.test(field) && /\bdmarc=pass\b/.test(field)) {
      passed += 1;
      example ??= field.replace(/\r?\n[ \t]+/g, " ");
    }
  }
  return { messages, passed, example };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      repetitions: { type: "string", default: "3" },
      out: { type: "string", default: path.join(REPO_ROOT, "bench", "smtp", "GENERATORS.md") },
      baseline: { type: "string" },
      verify: { type: "boolean", default: false },
      cells: { type: "string" },
    },
  });
  const repetitions = Number(values.repetitions);
  if (!Number.isInteger(repetitions) || repetitions < 1)
    throw new Error("--repetitions takes a positive integer");
  const scale = values.quick ? 0.5 : 1;
  const cells: CellSpec[] = [
    { label: "c1", concurrency: 1, keepAlive: false, messages: 600 },
    { label: "c10", concurrency: 10, keepAlive: false, messages: 2000 },
    { label: "c50", concurrency: 50, keepAlive: false, messages: 2500 },
    { label: "keepalive c10", concurrency: 10, keepAlive: true, messages: 3000 },
  ]
    .map((cell) => ({ ...cell, messages: Math.round(cell.messages * scale) }))
    .filter(
      (cell) =>
        values.cells === undefined || values.cells.split(",").includes(cell.label.split(" ")[0] as string),
    );
  if (cells.length === 0) throw new Error("--cells takes labels from c1,c10,c50,keepalive");

  const postfix = await startPostfix({ domain: DOMAIN, user: USER, processLimit: 300 });
  const mailrooms: MailroomInstance[] = [];
  let baselineDir: string | null = null;
  let dns: BenchDns | null = null;
  let signedFile: string | null = null;
  try {
    const signed = values.verify
      ? await signedMessage(SIZE, `sender@${DOMAIN}`, `${USER}@${DOMAIN}`, HELO_NAMES)
      : null;
    if (signed !== null) {
      dns = await startBenchDns(signed.txt);
      signedFile = path.join(await mkdtemp(path.join(os.tmpdir(), "mailroom-bench-signed-")), "message");
      await writeFile(signedFile, signed.message.toString("latin1").replaceAll("\r\n", "\n"));
    }
    const start = (root?: string, verify?: boolean) =>
      startMailroom({
        domain: DOMAIN,
        user: USER,
        password: "bench-password",
        maxConnections: 300,
        mode: "build",
        ...(root ? { root } : {}),
        ...(verify !== undefined ? { verify } : {}),
        ...(dns !== null ? { resolver: dns.server } : {}),
      });
    const mailroom = await start(undefined, signed !== null ? false : undefined);
    mailrooms.push(mailroom);
    const servers: Record<ServerName, { port: number; pid: number | null }> = {
      mailroom: { port: mailroom.port, pid: mailroom.pid },
    };
    const mailroomNames = ["mailroom"];
    if (values.baseline !== undefined) {
      baselineDir = await mkdtemp(path.join(os.tmpdir(), "mailroom-bench-baseline-"));
      const tar = `${baselineDir}.tar`;
      await promisify(execFile)("git", ["-C", REPO_ROOT, "archive", "-o", tar, values.baseline]);
      await promisify(execFile)("tar", ["-xf", tar, "-C", baselineDir]);
      await rm(tar);
      await symlink(path.join(REPO_ROOT, "node_modules"), path.join(baselineDir, "node_modules"));
      const old = await start(baselineDir, signed !== null ? false : undefined);
      mailrooms.push(old);
      const name = `mailroom ${values.baseline}`;
      servers[name] = { port: old.port, pid: old.pid };
      mailroomNames.push(name);
      if (signed !== null) {
        const oldVerifying = await start(baselineDir, true);
        mailrooms.push(oldVerifying);
        servers[`${name} verify`] = { port: oldVerifying.port, pid: oldVerifying.pid };
        mailroomNames.push(`${name} verify`);
      }
    }
    let verifying: MailroomInstance | null = null;
    if (signed !== null) {
      verifying = await start(undefined, true);
      mailrooms.push(verifying);
      servers["mailroom verify"] = { port: verifying.port, pid: verifying.pid };
      mailroomNames.push("mailroom verify");
    }
    servers.postfix = { port: postfix.port, pid: null };
    const serverNames = Object.keys(servers);
    const startLoad = os.loadavg();
    const once = async (
      server: ServerName,
      generator: GeneratorName,
      cell: CellSpec,
      messages: number,
    ): Promise<Run> => {
      if (server === "postfix") await waitForPostfixQueue(postfix, 180_000);
      const load = os.loadavg()[0] ?? 0;
      const pid = servers[server]?.pid ?? null;
      const cpuBefore = pid === null ? 0 : await cpuMicros(pid);
      const common = {
        host: "127.0.0.1",
        port: servers[server]?.port ?? 0,
        concurrency: cell.concurrency,
        messages,
        messageSize: SIZE,
        from: `sender@${DOMAIN}`,
        to: `${USER}@${DOMAIN}`,
      };
      let run: Omit<Run, "load" | "cpuMicros">;
      if (generator === "smtp-source") {
        const result = await runSmtpSource({
          ...common,
          keepAlive: cell.keepAlive,
          ...(signedFile !== null ? { messageFile: signedFile } : {}),
        });
        run = {
          rate: result.acceptedPerSecond,
          accepted: result.accepted,
          failed: result.failed,
          problem: result.problem,
        };
      } else {
        const result = await runLoad({
          ...common,
          connectionPerMessage: !cell.keepAlive,
          ...(signed !== null ? { message: signed.message } : {}),
        });
        const problems = Object.entries(result.problems);
        run = {
          rate: result.acceptedPerSecond,
          accepted: result.accepted,
          failed: result.failed,
          problem: problems.length > 0 ? problems.map(([text, n]) => `${n} × ${text}`).join("; ") : null,
        };
      }
      const cpu =
        pid === null || run.accepted === 0 ? null : ((await cpuMicros(pid)) - cpuBefore) / run.accepted;
      return { ...run, load, cpuMicros: cpu };
    };

    // Warm-up: JIT, Postfix's first process spawns. Discarded.
    const warmUp: CellSpec = { label: "warm-up", concurrency: 10, keepAlive: false, messages: 300 };
    for (const server of serverNames) {
      await once(server, "load.ts", warmUp, 300);
      await once(server, "smtp-source", warmUp, 300);
    }
    const runs = new Map<string, Run[]>();
    const key = (cell: CellSpec, generator: GeneratorName, server: ServerName) =>
      `${cell.label}|${generator}|${server}`;
    for (let repetition = 0; repetition < repetitions; repetition += 1) {
      // Rotated: each server goes first in turn.
      const shift = repetition % serverNames.length;
      const order = [...serverNames.slice(shift), ...serverNames.slice(0, shift)];
      for (const cell of cells) {
        for (const generator of GENERATORS) {
          for (const server of order) {
            const run = await once(server, generator, cell, cell.messages);
            const list = runs.get(key(cell, generator, server)) ?? [];
            list.push(run);
            runs.set(key(cell, generator, server), list);
            console.error(
              `run ${repetition + 1}/${repetitions} ${cell.label} ${generator} ${server}: ` +
                `${run.rate.toFixed(0)} msgs/s (${run.accepted}/${run.failed}), load ${run.load.toFixed(2)}` +
                (run.problem ? `, ${run.problem}` : ""),
            );
          }
        }
      }
    }

    const baselineName = values.baseline !== undefined ? `mailroom ${values.baseline}` : null;
    // Verification on against off: this checkout's, then the baseline's when it runs both.
    const verifyPairs: Array<[string, string]> =
      verifying === null
        ? []
        : [
            ["mailroom verify", "mailroom"],
            ...(baselineName !== null ? [[`${baselineName} verify`, baselineName] as [string, string]] : []),
          ];
    // Counted before the report is written, from the verifying instance's data dir.
    const verified = verifying !== null ? await countVerified(verifying.dir) : null;
    const total = cells.reduce((sum, cell) => sum + cell.messages, 0) * GENERATORS.length;
    const lines = [
      "# SMTP, two load generators: mailroom and Postfix side by side",
      "",
      `Generated by \`node --import tsx bench/smtp/generators.ts${values.quick ? " --quick" : ""}${values.baseline !== undefined ? ` --baseline ${values.baseline}` : ""}${values.verify ? " --verify" : ""}${values.cells !== undefined ? ` --cells ${values.cells}` : ""}\`. Do not edit by hand; rerun.`,
      "",
      `- Date: ${new Date().toISOString()}; ${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? "unknown"}); load average at start ${startLoad.map((n) => n.toFixed(2)).join(" / ")}`,
      `- Node ${process.version}; mailroom \`mailroom serve\` compiled with tsc; Postfix ${postfix.version} (smtpd fsyncs the queue file before 250)`,
      ...(values.baseline !== undefined
        ? [
            `- \`mailroom ${values.baseline}\`: the same, built from commit ${values.baseline} (git archive), in the same rotation; "mailroom" is this checkout.${verifying !== null ? ` \`mailroom ${values.baseline} verify\` is that commit with verification on.` : ""}`,
          ]
        : []),
      ...(verifying !== null && dns !== null
        ? [
            `- Verification: "mailroom" runs with \`[trust] verify = false\`, "mailroom verify" with it on; both ask a DNS server on loopback (bench/lib/dns.ts) through \`[relay] resolver\`, which serves SPF (ip4:127.0.0.1, for ${DOMAIN} and the HELO names), DKIM (selector bench, RSA 2048) and DMARC (p=reject) for ${DOMAIN}. Every generator sends the same 10 KB message DKIM-signed for ${DOMAIN} (relaxed/relaxed). Postfix does no SPF/DKIM/DMARC verification (no milter). ${dns.queries()} DNS queries before the runs' report.`,
          ]
        : []),
      `- 10 KB messages; ${repetitions} repetitions, each cell's runs back to back with the server order rotated per repetition; figures are medians; about ${total * repetitions} messages per server over the run, into one mailbox.`,
      "- smtp-source: Postfix's `/usr/sbin/smtp-source`, no PIPELINING; -d for keepalive. load.ts: bench/smtp/load.ts, PIPELINING; --connection-per-message except keepalive.",
      "- c1, c10, c50: one message per connection (connect, EHLO/HELO, MAIL, RCPT, DATA, QUIT). keepalive c10: 10 connections kept for all their messages.",
      "",
      `| cell | generator | ${serverNames.map((name) => `${name} msgs/s`).join(" | ")} | ${mailroomNames.map((name) => `${name} / Postfix`).join(" | ")} |${baselineName !== null ? " mailroom / baseline |" : ""}${baselineName !== null && verifying !== null ? " mailroom verify / baseline verify |" : ""}${verifyPairs.map(([on, off]) => ` ${on} / ${off} msgs/s | ${on} CPU µs/msg added |`).join("")} ${mailroomNames.map((name) => `${name} CPU µs/msg`).join(" | ")} | load avg (1 min) at the runs |`,
      `|---|---|${serverNames.map(() => "---|").join("")}${mailroomNames.map(() => "---|").join("")}${baselineName !== null ? "---|" : ""}${baselineName !== null && verifying !== null ? "---|" : ""}${verifyPairs.map(() => "---|---|").join("")}${mailroomNames.map(() => "---|").join("")}---|`,
    ];
    for (const cell of cells) {
      for (const generator of GENERATORS) {
        const of = (server: ServerName) => runs.get(key(cell, generator, server)) ?? [];
        const rate = (server: ServerName) => median(of(server).map((run) => run.rate));
        const cpu = (server: ServerName) =>
          median(of(server).flatMap((run) => (run.cpuMicros === null ? [] : [run.cpuMicros])));
        const loads = serverNames.flatMap((server) => of(server).map((run) => run.load));
        const row = [
          `${cell.label} (${cell.messages} msgs)`,
          generator,
          ...serverNames.map((server) => formatNumber(rate(server))),
          ...mailroomNames.map((server) => formatRatio(rate(server), rate("postfix"))),
          ...(baselineName !== null ? [formatRatio(rate("mailroom"), rate(baselineName))] : []),
          ...(baselineName !== null && verifying !== null
            ? [formatRatio(rate("mailroom verify"), rate(`${baselineName} verify`))]
            : []),
          ...verifyPairs.flatMap(([on, off]) => [
            formatRatio(rate(on), rate(off)),
            formatNumber(cpu(on) - cpu(off)),
          ]),
          ...mailroomNames.map((server) => formatNumber(cpu(server))),
          `${formatNumber(Math.min(...loads), 2)}–${formatNumber(Math.max(...loads), 2)}`,
        ];
        lines.push(`| ${row.join(" | ")} |`);
      }
    }
    lines.push("", "Every run, msgs/s (accepted/failed):", "");
    for (const [name, list] of runs) {
      lines.push(
        `- ${name.replaceAll("|", ", ")}: ${list.map((run) => `${formatNumber(run.rate)} (${run.accepted}/${run.failed})`).join(", ")}`,
      );
    }
    if (verified !== null) {
      lines.push(
        "",
        `Stored by "mailroom verify" (read from its data dir after the runs): ${verified.messages} messages, ${verified.passed} of them with Authentication-Results dkim=pass spf=pass dmarc=pass.${verified.example !== null ? ` One of them: \`${verified.example}\`` : ""}`,
      );
    }
    const problems = [...runs].flatMap(([name, list]) =>
      list.flatMap((run) => (run.problem ? [`- ${name.replaceAll("|", ", ")}: ${run.problem}`] : [])),
    );
    lines.push("", "## Problems seen", "", ...(problems.length > 0 ? problems : ["None."]));
    const text = `${lines.join("\n")}\n`;
    await writeFile(values.out, text);
    process.stdout.write(text);
  } finally {
    for (const mailroom of mailrooms) {
      await mailroom.stop().catch((error: unknown) => console.error(`stopping mailroom: ${String(error)}`));
    }
    if (baselineDir !== null) await rm(baselineDir, { recursive: true, force: true });
    if (signedFile !== null) await rm(path.dirname(signedFile), { recursive: true, force: true });
    await dns?.close();
    await postfix.stop().catch((error: unknown) => console.error(`stopping postfix: ${String(error)}`));
  }
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
