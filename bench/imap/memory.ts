// Where `mailroom serve`'s memory goes while it serves the IMAP benchmark's session (issue 19): the
// session of bench/imap/run.ts step by step against mailroom alone, and after each step the highest
// and current figures of the server process — RSS (anonymous and file-backed), V8's heap (committed and
// used), external and ArrayBuffer memory, threads — and its CPU time. bench/lib/memory-probe.cjs samples
// them inside the server every 10 ms; --smaps adds the resident memory by mapping at the end.
//
//   node --import tsx bench/imap/memory.ts [--messages N] [--sessions N] [--smaps]
import { readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { generateCorpus } from "../pop3/corpus.js";
import { REPO_ROOT } from "../pop3/mailroom.js";
import { fetchResponses, fetchUid, ImapClient } from "./client.js";
import { startMailroom } from "./mailroom.js";

const ADDRESS = "u@bench.test";
const PASSWORD = "bench-password";
const MiB = 1024 * 1024;

const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "10000" },
    sessions: { type: "string", default: "2" },
    smaps: { type: "boolean", default: false },
  },
});
const messages = Number(values.messages);
const sessions = Number(values.sessions);

interface Figures {
  rss: number;
  rssAnon: number;
  rssFile: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  threads: number;
}

const mib = (bytes: number) => (bytes / MiB).toFixed(1).padStart(6);
const line = (figures: Figures) =>
  `${mib(figures.rss)} ${mib(figures.rssAnon)} ${mib(figures.rssFile)} ${mib(figures.heapTotal)} ${mib(figures.heapUsed)} ${mib(figures.external)} ${mib(figures.arrayBuffers)} ${String(figures.threads).padStart(3)}`;

/** utime + stime of a process, seconds (/proc counts them in USER_HZ, 100 per second on Linux). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "latin1");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function residentByMapping(pid: number): Promise<string> {
  const byName = new Map<string, number>();
  let name = "";
  for (const text of (await readFile(`/proc/${pid}/smaps`, "latin1")).split("\n")) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(text);
    if (mapping) {
      name = mapping[1] || "[anonymous]";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(text);
    if (rss) byName.set(name, (byName.get(name) ?? 0) + Number(rss[1]) * 1024);
  }
  return [...byName]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([mapped, bytes]) => `${mib(bytes)} MiB ${mapped}`)
    .join("\n");
}

async function main(): Promise<void> {
  const probeOut = path.join(os.tmpdir(), `mailroom-memory-probe-${process.pid}.jsonl`);
  process.env.NODE_OPTIONS = `--require ${path.join(REPO_ROOT, "bench", "lib", "memory-probe.cjs")}`;
  // Not a MAILROOM_ variable: startMailroom leaves those out of the server's environment.
  process.env.BENCH_MEMORY_PROBE_OUT = probeOut;
  process.stderr.write(`bench: compiling and loading mailroom with ${messages} messages\n`);
  const mailroom = await startMailroom({
    address: ADDRESS,
    password: PASSWORD,
    messages: generateCorpus(messages, 6),
    mode: "build",
  });
  let seen = 0;
  let cpu = 0;
  const step = async (label: string) => {
    process.kill(mailroom.pid, "SIGUSR2");
    for (;;) {
      await sleep(20);
      const lines = (await readFile(probeOut, "utf8").catch(() => "")).split("\n").filter(Boolean);
      if (lines.length <= seen) {
        // Without the probe's handler SIGUSR2 ends the process.
        await readFile(`/proc/${mailroom.pid}/stat`).catch(() => {
          throw new Error("mailroom serve exited; was bench/lib/memory-probe.cjs loaded?");
        });
        continue;
      }
      const { peak, now } = JSON.parse(lines[seen] as string) as { peak: Figures; now: Figures };
      seen = lines.length;
      const total = await cpuSeconds(mailroom.pid);
      const hwm = (await mailroom.memory()).hwm;
      console.log(
        `${label.padEnd(14)} | ${line(peak)} | ${line(now)} | ${mib(hwm)} | ${(total - cpu).toFixed(2).padStart(5)}`,
      );
      cpu = total;
      return;
    }
  };
  try {
    console.log(
      `load average ${os
        .loadavg()
        .map((load) => load.toFixed(2))
        .join(" / ")}`,
    );
    const columns = "   rss   anon   file heapT. heapU.   ext.  abuf. thr";
    console.log(
      `${"MiB".padEnd(14)} | highest since the last step: ${columns} | now: ${columns} | VmHWM | CPU s`,
    );
    await sleep(500);
    await step("idle");
    for (let session = 0; session < sessions; session++) {
      const client = await ImapClient.connect(mailroom.host, mailroom.port);
      await client.ok(`LOGIN "${ADDRESS}" "${PASSWORD}"`);
      await step(`${session} LOGIN`);
      await client.ok("SELECT INBOX");
      if (session === 0) await client.ok(`STORE 1:${Math.floor(messages / 3)} +FLAGS.SILENT (\\Seen)`);
      await step(`${session} SELECT`);
      const headers = await client.ok("UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])");
      const uids = fetchResponses(headers)
        .map(fetchUid)
        .sort((a, b) => a - b);
      await step(`${session} headers`);
      // As the benchmark does: chunks of 250 UIDs, two in flight.
      const chunks: string[] = [];
      for (let i = 0; i < uids.length; i += 250) {
        const slice = uids.slice(i, i + 250);
        chunks.push(`${slice[0]}:${slice[slice.length - 1]}`);
      }
      let next = 0;
      const lane = async () => {
        while (next < chunks.length) await client.ok(`UID FETCH ${chunks[next++]} (BODY.PEEK[])`);
      };
      await Promise.all([lane(), lane()]);
      await step(`${session} bodies`);
      for (const criteria of [`SUBJECT "quarterly"`, "UNSEEN", "LARGER 50000"]) {
        await client.ok(`UID SEARCH ${criteria}`);
      }
      await step(`${session} SEARCH hdr`);
      await client.ok(`UID SEARCH BODY "quarterly budget w"`);
      await client.ok(`UID SEARCH TEXT "sender42"`);
      await step(`${session} SEARCH body`);
      await client.ok(`CREATE append-${session}`);
      const message = Buffer.from(`Subject: append\r\n\r\n${"x".repeat(4074)}\r\n`, "latin1");
      for (let count = 0; count < 500; count++) await client.ok(`APPEND append-${session}`, message);
      await client.ok(`DELETE append-${session}`);
      await client.logout();
      client.close();
      await step(`${session} APPEND`);
    }
    if (values.smaps) console.log(await residentByMapping(mailroom.pid));
  } finally {
    await mailroom.stop();
    await rm(probeOut, { force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
