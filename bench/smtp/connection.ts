// A minimal SMTP client connection for load generation: writes raw command bytes and reads replies
// (RFC 5321 §4.2: "xyz-text" continues a multi-line reply, "xyz text" ends it). No library on purpose,
// so the load generator itself costs little and does exactly what the benchmark says.
import net from "node:net";

export interface Reply {
  code: number;
  /** Text of each line, without the code and separator. */
  lines: string[];
}

/** A reply line longer than this is a broken server, not a slow one; stop rather than buffer it. */
const MAX_REPLY_LINE = 4096;
const MAX_REPLY_LINES = 100;

interface Waiter {
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export function describeReply(reply: Reply): string {
  return `${reply.code} ${reply.lines[0] ?? ""}`.trim();
}

export class SmtpConnection {
  private pending = "";
  private partialLines: string[] = [];
  private readonly ready: Reply[] = [];
  private readonly waiters: Waiter[] = [];
  private failure: Error | null = null;

  private constructor(
    private readonly socket: net.Socket,
    private readonly replyTimeoutMs: number,
  ) {
    socket.setNoDelay(true);
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => this.onData(chunk));
    socket.on("error", (error) => this.fail(error));
    socket.on("close", () => this.fail(new Error("connection closed by the server")));
  }

  static connect(host: string, port: number, replyTimeoutMs: number): Promise<SmtpConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const onError = (error: Error) => reject(error);
      socket.once("error", onError);
      socket.once("connect", () => {
        socket.off("error", onError);
        resolve(new SmtpConnection(socket, replyTimeoutMs));
      });
    });
  }

  get closed(): boolean {
    return this.failure !== null;
  }

  /** Writes bytes, waiting for the socket to drain when its buffer is full. */
  async write(data: string | Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.socket.write(data)) return;
    await new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        this.socket.off("close", onClose);
        resolve();
      };
      const onClose = () => {
        this.socket.off("drain", onDrain);
        reject(this.failure ?? new Error("connection closed while writing"));
      };
      this.socket.once("drain", onDrain);
      this.socket.once("close", onClose);
    });
  }

  readReply(): Promise<Reply> {
    const reply = this.ready.shift();
    if (reply) return Promise.resolve(reply);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const index = this.waiters.indexOf(waiter);
          if (index >= 0) this.waiters.splice(index, 1);
          reject(new Error(`no reply within ${this.replyTimeoutMs} ms`));
          this.socket.destroy();
        }, this.replyTimeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  async command(line: string): Promise<Reply> {
    await this.write(`${line}\r\n`);
    return this.readReply();
  }

  /** Polite end: QUIT, wait for 221 or close, whichever comes first. */
  async quit(): Promise<void> {
    if (this.failure) return;
    try {
      await this.command("QUIT");
    } catch {
      // The server may close before or instead of replying; either way the session is over.
    }
    this.socket.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: string): void {
    this.pending += chunk;
    let newline = this.pending.indexOf("\n");
    while (newline >= 0) {
      const line = this.pending.slice(0, newline).replace(/\r$/, "");
      this.pending = this.pending.slice(newline + 1);
      this.onLine(line);
      newline = this.pending.indexOf("\n");
    }
    if (this.pending.length > MAX_REPLY_LINE) {
      this.protocolError(`reply line longer than ${MAX_REPLY_LINE} bytes`);
    }
  }

  private onLine(line: string): void {
    const match = /^(\d{3})([ -]?)(.*)$/.exec(line);
    if (!match) {
      this.protocolError(`malformed reply line ${JSON.stringify(line.slice(0, 80))}`);
      return;
    }
    this.partialLines.push(match[3] ?? "");
    if (match[2] === "-") {
      if (this.partialLines.length > MAX_REPLY_LINES) this.protocolError("reply with too many lines");
      return;
    }
    const reply: Reply = { code: Number(match[1]), lines: this.partialLines };
    this.partialLines = [];
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(reply);
    } else {
      this.ready.push(reply);
    }
  }

  private protocolError(message: string): void {
    this.fail(new Error(`protocol error: ${message}`));
    this.socket.destroy();
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
  }
}
