// A POP3 client for the benchmark (node:net, no library): reads status lines and multi-line responses
// straight off the socket, counting the message octets each one carries (after undoing dot-stuffing),
// and pipelines RETR commands in a window (RFC 2449 §6.6 PIPELINING; Dovecot and mailroom both
// announce it). The measured phases are LIST, UIDL and RETR 1..N; login is not timed.
import net from "node:net";

const TERMINATOR = Buffer.from("\r\n.\r\n");
const STUFFED_LINE = Buffer.from("\n..");
const CRLF = Buffer.from("\r\n");

export interface Pop3Response {
  ok: boolean;
  status: string;
  /** Multi-line responses: octets of the content with dot-stuffing removed, final CRLF included. */
  octets: number;
  /** Multi-line responses: the number of content lines (for LIST and UIDL, the entries). */
  lines: number;
}

/** "listing": a multi-line reply whose lines are counted too (LIST, UIDL); RETR skips that work. */
export type ReplyShape = "line" | "multiline" | "listing";

interface Pending {
  shape: ReplyShape;
  resolve: (response: Pop3Response) => void;
  reject: (error: Error) => void;
}

/**
 * Splits the byte stream into responses. Each awaited command registers whether its +OK reply is
 * multi-line; a -ERR reply is always one line (RFC 1939 §3). The terminator CRLF "." CRLF and stuffed
 * lines ("\n..") are found across chunk boundaries by keeping the last four bytes already scanned.
 */
export class ResponseParser {
  private readonly pending: Pending[] = [];
  private statusParts: Buffer[] = [];
  private inBody = false;
  private carry: Buffer = CRLF;
  private status = "";
  private bodyOctets = 0;
  private stuffed = 0;
  private lines = 0;
  private countLines = false;

  expect(shape: ReplyShape): Promise<Pop3Response> {
    return new Promise((resolve, reject) => this.pending.push({ shape, resolve, reject }));
  }

  get waiting(): number {
    return this.pending.length;
  }

  push(chunk: Buffer): void {
    let data = chunk;
    while (data.length > 0) {
      data = this.inBody ? this.body(data) : this.statusLine(data);
    }
  }

  fail(error: Error): void {
    for (const pending of this.pending.splice(0)) pending.reject(error);
  }

  private statusLine(data: Buffer): Buffer {
    const lf = data.indexOf(0x0a);
    if (lf === -1) {
      this.statusParts.push(data);
      if (this.statusParts.reduce((sum, part) => sum + part.length, 0) > 8192) {
        throw new Error("the server sent a status line longer than 8 KB; is this a POP3 server?");
      }
      return data.subarray(data.length);
    }
    this.statusParts.push(data.subarray(0, lf + 1));
    const line = Buffer.concat(this.statusParts)
      .toString("latin1")
      .replace(/\r?\n$/, "");
    this.statusParts = [];
    const pending = this.pending[0];
    if (pending === undefined) throw new Error(`unexpected line from the server: ${line}`);
    const ok = line.startsWith("+OK");
    if (!ok && !line.startsWith("-ERR")) throw new Error(`not a POP3 status line: ${line}`);
    if (ok && pending.shape !== "line") {
      this.inBody = true;
      this.status = line;
      // The status line's CRLF is what lets an empty body's "." CRLF be found as a terminator.
      this.carry = CRLF;
      this.bodyOctets = 0;
      this.stuffed = 0;
      this.lines = 0;
      this.countLines = pending.shape === "listing";
    } else {
      this.pending.shift();
      pending.resolve({ ok, status: line, octets: 0, lines: 0 });
    }
    return data.subarray(lf + 1);
  }

  private body(data: Buffer): Buffer {
    const scan = Buffer.concat([this.carry, data]);
    const fresh = this.carry.length;
    const end = scan.indexOf(TERMINATOR);
    const limit = end === -1 ? scan.length : end + 2;
    if (this.countLines) {
      for (let at = scan.indexOf(0x0a, fresh); at !== -1 && at < limit; at = scan.indexOf(0x0a, at + 1)) {
        this.lines++;
      }
    }
    for (
      let at = scan.indexOf(STUFFED_LINE);
      at !== -1 && at < limit;
      at = scan.indexOf(STUFFED_LINE, at + 1)
    ) {
      if (at + STUFFED_LINE.length > fresh) this.stuffed++;
    }
    if (end === -1) {
      this.bodyOctets += data.length;
      this.carry = scan.subarray(Math.max(0, scan.length - 4));
      return data.subarray(data.length);
    }
    this.bodyOctets += end + 2 - fresh;
    const pending = this.pending.shift();
    this.inBody = false;
    pending?.resolve({
      ok: true,
      status: this.status,
      octets: this.bodyOctets - this.stuffed,
      lines: this.lines,
    });
    return scan.subarray(end + TERMINATOR.length);
  }
}

export interface SessionOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  /** RETR commands in flight at once. */
  window: number;
  /** Messages 1..serialCount retrieved again one command at a time, as clients without PIPELINING do. */
  serialCount: number;
  /** Expected octets of message i + 1, checked against what RETR returns. */
  expectedSizes: readonly number[];
  timeoutMs: number;
}

export interface SessionResult {
  messages: number;
  /** Sum of the message octets RETR returned (dot-stuffing removed). */
  octets: number;
  listMs: number;
  uidlMs: number;
  retrMs: number;
  /** Messages retrieved one at a time, and how long that took. */
  serialMessages: number;
  serialMs: number;
  /** Messages whose RETR size differed from the corpus, or -ERR replies: should be empty. */
  problems: string[];
}

class Connection {
  readonly parser = new ResponseParser();
  private readonly socket: net.Socket;
  private closedError: Error | null = null;

  constructor(socket: net.Socket, timeoutMs: number) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      try {
        this.parser.push(chunk);
      } catch (error) {
        this.abort(error instanceof Error ? error : new Error(String(error)));
      }
    });
    socket.on("error", (error) => this.abort(error));
    socket.on("close", () => this.abort(new Error("the server closed the connection")));
    socket.setTimeout(timeoutMs, () => this.abort(new Error(`no data from the server for ${timeoutMs} ms`)));
  }

  static open(host: string, port: number, timeoutMs: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(new Connection(socket, timeoutMs));
      });
    });
  }

  /** Sends a command (or nothing, for the greeting) and registers the reply it expects. */
  command(line: string | null, shape: ReplyShape = "line"): Promise<Pop3Response> {
    if (this.closedError) return Promise.reject(this.closedError);
    const reply = this.parser.expect(shape);
    if (line !== null) this.socket.write(`${line}\r\n`);
    return reply;
  }

  async required(line: string | null, shape: ReplyShape = "line"): Promise<Pop3Response> {
    const reply = await this.command(line, shape);
    const shown = line?.startsWith("PASS ") ? "PASS ***" : (line ?? "greeting");
    if (!reply.ok) throw new Error(`${shown} was refused: ${reply.status}`);
    return reply;
  }

  abort(error: Error): void {
    if (this.closedError === null) this.closedError = error;
    this.parser.fail(error);
    this.socket.destroy();
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * One benchmark session: log in, STAT, time LIST, UIDL and RETR of every message, QUIT (no DELE, so
 * the maildrop is unchanged for the next run).
 */
export async function runSession(options: SessionOptions): Promise<SessionResult> {
  const connection = await Connection.open(options.host, options.port, options.timeoutMs);
  try {
    await connection.required(null);
    await connection.required(`USER ${options.user}`);
    await connection.required(`PASS ${options.password}`);
    const stat = await connection.required("STAT");
    const count = Number(stat.status.split(" ")[1]);
    if (count !== options.expectedSizes.length) {
      throw new Error(`STAT says ${count} messages; the corpus has ${options.expectedSizes.length}`);
    }
    const problems: string[] = [];

    let started = performance.now();
    const list = await connection.required("LIST", "listing");
    const listMs = performance.now() - started;
    if (list.lines !== count) problems.push(`LIST returned ${list.lines} entries for ${count} messages`);

    started = performance.now();
    const uidl = await connection.required("UIDL", "listing");
    const uidlMs = performance.now() - started;
    if (uidl.lines !== count) problems.push(`UIDL returned ${uidl.lines} entries for ${count} messages`);

    let octets = 0;
    let next = 1;
    started = performance.now();
    await new Promise<void>((resolve, reject) => {
      let done = 0;
      const send = () => {
        while (next <= count && next - done - 1 < options.window) {
          const number = next++;
          connection.command(`RETR ${number}`, "multiline").then((reply) => {
            const expected = options.expectedSizes[number - 1];
            if (!reply.ok) problems.push(`RETR ${number}: ${reply.status}`);
            else if (reply.octets !== expected) {
              problems.push(`RETR ${number} returned ${reply.octets} octets; the message has ${expected}`);
            }
            octets += reply.octets;
            done++;
            if (done === count) resolve();
            else send();
          }, reject);
        }
      };
      if (count === 0) resolve();
      else send();
    });
    const retrMs = performance.now() - started;

    const serialMessages = Math.min(options.serialCount, count);
    started = performance.now();
    for (let number = 1; number <= serialMessages; number++) {
      const reply = await connection.command(`RETR ${number}`, "multiline");
      const expected = options.expectedSizes[number - 1];
      if (!reply.ok) problems.push(`RETR ${number} (one at a time): ${reply.status}`);
      else if (reply.octets !== expected) {
        problems.push(
          `RETR ${number} (one at a time) returned ${reply.octets} octets; the message has ${expected}`,
        );
      }
    }
    const serialMs = performance.now() - started;
    await connection.required("QUIT");
    return { messages: count, octets, listMs, uidlMs, retrMs, serialMessages, serialMs, problems };
  } finally {
    connection.close();
  }
}
