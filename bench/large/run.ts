// Issue 19's "flat RSS while one client sends or fetches a 1 GB message": one IMAP client APPENDs a
// message of --size MiB (1,024 by default) to mailroom and to Dovecot, then fetches it back with
// UID FETCH BODY.PEEK[], both streamed from and to the socket so the client never holds the message.
// Each server's memory is sampled every 100 ms through /proc (mailroom: its one process; Dovecot: the
// master and every process it forked), and the report gives the resident size before, the highest
// during each transfer, and the growth.
//
//   node --import tsx bench/large/run.ts [--size MiB] [--mode build|tsx] [--out FILE]

import net from "node:net";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { startDovecot } from "../imap/dovecot.js";
import { type MailroomMode, startMailroom } from "../imap/mailroom.js";
import { writeReport } from "../lib/report.js";
import { formatNumber } from "../lib/stats.js";
import { REPO_ROOT } from "../pop3/mailroom.js";

const ADDRESS = "u@bench.test";
const PASSWORD = "bench-password";
const MiB = 1024 * 1024;

const { values } = parseArgs({
  options: {
    size: { type: "string", default: "1024" },
    mode: { type: "string", default: "build" },
    out: { type: "string", default: path.join(REPO_ROOT, "bench", "large", "RESULTS.md") },
  },
});
const sizeMiB = Number(values.size);
if (!Number.isInteger(sizeMiB) || sizeMiB < 1 || (values.mode !== "build" && values.mode !== "tsx")) {
  process.stderr.write(
    "usage: node --import tsx bench/large/run.ts [--size MiB] [--mode build|tsx] [--out FILE]\n",
  );
  process.exit(2);
}
const mode: MailroomMode = values.mode;

/** A text message of exactly `size` octets: a header, then 78-octet lines (76 characters and CRLF). */
function* messageChunks(size: number): Generator<Buffer> {
  const header = Buffer.from(
    "From: Sender <sender@example.org>\r\nTo: u@bench.test\r\nSubject: one large message\r\n" +
      "Date: Thu, 01 Jan 2026 00:00:00 +0000\r\nMessage-ID: <large@example.org>\r\n\r\n",
  );
  const line = `${"large message text ".repeat(4)}\r\n`;
  const block = Buffer.from(line.repeat(Math.floor(MiB / line.length)));
  yield header;
  let left = size - header.length;
  while (left > 0) {
    const chunk = left >= block.length ? block : block.subarray(0, left);
    // A cut block must still end in CRLF, or the message's last line would be bare.
    if (chunk.length < block.length && chunk.length >= 2) {
      const end = Buffer.from(chunk);
      end[end.length - 2] = 13;
      end[end.length - 1] = 10;
      yield end;
    } else {
      yield chunk;
    }
    left -= chunk.length;
  }
}

/** A bare IMAP client on one socket: lines in, and literals streamed past without keeping them. */
class StreamingClient {
  private buffer: Buffer = Buffer.alloc(0);
  private literalLeft = 0;
  private waiting: { resolve(line: string): void; reject(error: Error): void } | null = null;
  private lines: string[] = [];
  /** Octets of literals received (and dropped). */
  literalOctets = 0;

  private constructor(private readonly socket: net.Socket) {
    socket.on("data", (data: Buffer) => this.take(data));
    socket.on("error", (error) => this.waiting?.reject(error));
    socket.on("close", () => this.waiting?.reject(new Error("the server closed the connection")));
  }

  static async connect(port: number): Promise<StreamingClient> {
    const socket = net.connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const client = new StreamingClient(socket);
    const greeting = await client.line();
    if (!greeting.startsWith("* OK")) throw new Error(`greeting: ${greeting}`);
    return client;
  }

  private take(data: Buffer): void {
    this.buffer = this.buffer.length === 0 ? data : Buffer.concat([this.buffer, data]);
    for (;;) {
      if (this.literalLeft > 0) {
        const used = Math.min(this.literalLeft, this.buffer.length);
        this.literalLeft -= used;
        this.literalOctets += used;
        this.buffer = this.buffer.subarray(used);
        if (this.literalLeft > 0) return;
      }
      const end = this.buffer.indexOf("\r\n");
      if (end < 0) return;
      const line = this.buffer.subarray(0, end).toString("latin1");
      this.buffer = this.buffer.subarray(end + 2);
      const literal = /\{(\d+)\}$/.exec(line);
      if (literal) this.literalLeft = Number(literal[1]);
      this.lines.push(line);
      this.deliver();
    }
  }

  private deliver(): void {
    if (this.waiting === null || this.lines.length === 0) return;
    const waiting = this.waiting;
    this.waiting = null;
    waiting.resolve(this.lines.shift() as string);
  }

  line(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.deliver();
    });
  }

  /** Lines until the tagged completion, which must be OK. */
  async untilTagged(tag: string): Promise<string[]> {
    const seen: string[] = [];
    for (;;) {
      const line = await this.line();
      seen.push(line);
      if (line.startsWith(`${tag} `)) {
        if (!line.startsWith(`${tag} OK`)) throw new Error(`${line} (after ${seen.slice(-3).join(" | ")})`);
        return seen;
      }
    }
  }

  async command(tag: string, text: string): Promise<string[]> {
    this.socket.write(`${tag} ${text}\r\n`);
    return this.untilTagged(tag);
  }

  /** APPEND with a synchronizing literal (every server takes it), written as the socket drains. */
  async append(tag: string, size: number): Promise<void> {
    this.socket.write(`${tag} APPEND INBOX {${size}}\r\n`);
    const go = await this.line();
    if (!go.startsWith("+")) throw new Error(`APPEND: ${go}`);
    for (const chunk of messageChunks(size)) {
      if (!this.socket.write(chunk)) await new Promise((resolve) => this.socket.once("drain", resolve));
    }
    this.socket.write("\r\n");
    await this.untilTagged(tag);
  }

  close(): void {
    this.socket.destroy();
  }
}

interface Figures {
  /** Resident size before the APPEND, bytes. */
  before: number;
  appendPeak: number;
  appendSeconds: number;
  fetchPeak: number;
  fetchSeconds: number;
}

/** Samples `read` every 100 ms while `work` runs; the highest value seen. */
async function peakDuring(read: () => Promise<number>, work: () => Promise<void>): Promise<number> {
  let peak = await read();
  let running = true;
  const sampler = (async () => {
    while (running) {
      peak = Math.max(peak, await read().catch(() => 0));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  try {
    await work();
  } finally {
    running = false;
    await sampler;
  }
  return Math.max(peak, await read());
}

async function measure(port: number, user: string, rss: () => Promise<number>): Promise<Figures> {
  const size = sizeMiB * MiB;
  const client = await StreamingClient.connect(port);
  try {
    await client.command("a", `LOGIN ${user} ${PASSWORD}`);
    const before = await rss();
    let started = performance.now();
    const appendPeak = await peakDuring(rss, () => client.append("b", size));
    const appendSeconds = (performance.now() - started) / 1000;
    await client.command("c", "SELECT INBOX");
    started = performance.now();
    const fetchPeak = await peakDuring(rss, async () => {
      await client.command("d", "UID FETCH 1:* (BODY.PEEK[])");
    });
    const fetchSeconds = (performance.now() - started) / 1000;
    if (client.literalOctets !== size)
      throw new Error(`FETCH returned ${client.literalOctets} octets of ${size}`);
    await client.command("e", "LOGOUT").catch(() => undefined);
    return { before, appendPeak, appendSeconds, fetchPeak, fetchSeconds };
  } finally {
    client.close();
  }
}

const results: Array<[string, Figures]> = [];
const loadStart = os.loadavg();
process.stderr.write(`bench: one message of ${sizeMiB} MiB, APPEND then FETCH, each server in turn\n`);
const mailroom = await startMailroom({
  address: ADDRESS,
  password: PASSWORD,
  messages: [],
  mode,
  settings: { MAILROOM_SMTP_MAX_MESSAGE_SIZE: `${sizeMiB + 16}MiB` },
});
try {
  results.push([
    "mailroom",
    await measure(mailroom.port, ADDRESS, async () => (await mailroom.memory()).rss),
  ]);
} finally {
  await mailroom.stop();
}
const dovecot = await startDovecot({ user: ADDRESS, password: PASSWORD, messages: [] });
try {
  results.push(["Dovecot", await measure(dovecot.port, ADDRESS, async () => (await dovecot.memory()).rss)]);
} finally {
  await dovecot.stop();
}

const mib = (bytes: number) => formatNumber(bytes / MiB, 1);
const rate = (seconds: number) => formatNumber(sizeMiB / seconds, 0);
const rows = results.map(
  ([name, f]) =>
    `| ${name} | ${mib(f.before)} | ${mib(f.appendPeak)} (+${mib(f.appendPeak - f.before)}) | ${rate(f.appendSeconds)} | ${mib(f.fetchPeak)} (+${mib(f.fetchPeak - f.before)}) | ${rate(f.fetchSeconds)} |`,
);
const report = `# One large message: memory while it is sent and fetched (\`bench/large/\`)

Written by \`node --import tsx bench/large/run.ts --size ${sizeMiB}\`. One IMAP client APPENDs one text
message of ${sizeMiB} MiB (a synchronizing literal, written as the socket drains) and fetches it back
with \`UID FETCH 1:* (BODY.PEEK[])\`, reading the literal off the socket without keeping it. Resident
memory (RSS, /proc) is sampled every 100 ms: mailroom's one process, Dovecot's master and every process
it forked, summed.

- Date: ${new Date().toISOString()}
- Machine: ${os.cpus().length} cores; load average at start ${loadStart.map((l) => l.toFixed(2)).join(" / ")}, at end ${os
  .loadavg()
  .map((l) => l.toFixed(2))
  .join(" / ")}
- Node ${process.version}; mailroom ${mode === "build" ? "compiled with tsc" : "through tsx"}, SQLite store; Dovecot from Debian, Maildir

| server | RSS before, MiB | highest during APPEND, MiB | APPEND MiB/s | highest during FETCH, MiB | FETCH MiB/s |
|---|---:|---:|---:|---:|---:|
${rows.join("\n")}
`;
await writeReport(values.out, report);
process.stdout.write(report);
