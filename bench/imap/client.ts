// A small IMAP client for the benchmark, on node:net with no library: it writes tagged commands (several
// may be in flight), splits the server's bytes into responses — a line, or a line whose end announces
// a literal (`{N}`, RFC 9051 §4.3) followed by N octets and the rest of the line — and hands each
// command its tagged completion with the untagged responses that arrived while it was the oldest one
// waiting. That is exact for one command at a time and close enough for pipelined FETCH chunks, which
// both servers answer in order.
import net from "node:net";

export interface ImapResponse {
  /** The response's text with each literal's bytes left out (its `{N}` announcement stays). */
  text: string;
  literals: Buffer[];
}

export interface Completion {
  tag: string;
  status: "OK" | "NO" | "BAD";
  /** Text after the status, e.g. "[READ-WRITE] SELECT completed". */
  text: string;
  untagged: ImapResponse[];
}

interface Pending {
  tag: string;
  untagged: ImapResponse[];
  resolve: (completion: Completion) => void;
  reject: (error: Error) => void;
}

const CRLF = Buffer.from("\r\n");
/** A response line longer than this without a CRLF means the stream is not IMAP (or the parser is wrong). */
const MAX_LINE = 1024 * 1024;

export class ImapClient {
  readonly capabilities = new Set<string>();
  private buffer: Buffer = Buffer.alloc(0);
  private position = 0;
  private partText = "";
  private partLiterals: Buffer[] = [];
  /** Octets still owed to the literal being read, or -1 when reading a line. */
  private literalRemaining = -1;
  private literalChunks: Buffer[] = [];
  private readonly pending: Pending[] = [];
  private continuationWaiters: Array<() => void> = [];
  private nextTag = 1;
  private failure: Error | null = null;
  private greeting: ((line: string) => void) | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("error", (error) => this.fail(error));
    socket.on("close", () => this.fail(new Error("the server closed the connection")));
  }

  /** Connects and waits for the greeting; a greeting without OK is an error. */
  static async connect(host: string, port: number, timeoutMs = 30_000): Promise<ImapClient> {
    const socket = net.connect({ host, port });
    const client = new ImapClient(socket);
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no IMAP greeting within ${timeoutMs} ms`)), timeoutMs);
      client.greeting = (text) => {
        clearTimeout(timer);
        resolve(text);
      };
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    if (!line.startsWith("* OK")) {
      socket.destroy();
      throw new Error(`unexpected IMAP greeting: ${line}`);
    }
    client.noteCapabilities(line);
    return client;
  }

  /**
   * Sends one command. `literal`, when given, is sent as the command's last argument: as a
   * non-synchronizing literal (RFC 7888) when the server offers LITERAL+, else after the server's "+".
   */
  command(text: string, literal?: Buffer): Promise<Completion> {
    if (this.failure) return Promise.reject(this.failure);
    const tag = `b${this.nextTag++}`;
    const done = new Promise<Completion>((resolve, reject) => {
      this.pending.push({ tag, untagged: [], resolve, reject });
    });
    if (literal === undefined) {
      this.socket.write(`${tag} ${text}\r\n`);
    } else if (this.capabilities.has("LITERAL+")) {
      this.socket.write(`${tag} ${text} {${literal.length}+}\r\n`);
      this.socket.write(literal);
      this.socket.write(CRLF);
    } else {
      this.socket.write(`${tag} ${text} {${literal.length}}\r\n`);
      this.continuationWaiters.push(() => {
        this.socket.write(literal);
        this.socket.write(CRLF);
      });
    }
    return done;
  }

  /** Sends a command and throws unless it completes with OK. */
  async ok(text: string, literal?: Buffer): Promise<Completion> {
    const completion = await this.command(text, literal);
    if (completion.status !== "OK") {
      throw new Error(`"${text}" failed: ${completion.tag} ${completion.status} ${completion.text}`);
    }
    return completion;
  }

  async logout(): Promise<void> {
    await this.command("LOGOUT").catch(() => undefined);
    this.socket.destroy();
  }

  close(): void {
    this.socket.destroy();
  }

  private noteCapabilities(text: string): void {
    const match = /CAPABILITY ([^\]]*)/i.exec(text);
    if (!match?.[1]) return;
    this.capabilities.clear();
    for (const capability of match[1].trim().split(/\s+/)) this.capabilities.add(capability.toUpperCase());
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const waiting of this.pending.splice(0)) waiting.reject(error);
  }

  private receive(chunk: Buffer): void {
    this.buffer =
      this.position >= this.buffer.length
        ? chunk
        : Buffer.concat([this.buffer.subarray(this.position), chunk]);
    this.position = 0;
    try {
      this.parse();
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
      this.socket.destroy();
    }
  }

  private parse(): void {
    for (;;) {
      if (this.literalRemaining >= 0) {
        const available = Math.min(this.literalRemaining, this.buffer.length - this.position);
        if (available > 0) {
          this.literalChunks.push(this.buffer.subarray(this.position, this.position + available));
          this.position += available;
          this.literalRemaining -= available;
        }
        if (this.literalRemaining > 0) return;
        this.partLiterals.push(
          this.literalChunks.length === 1
            ? (this.literalChunks[0] as Buffer)
            : Buffer.concat(this.literalChunks),
        );
        this.literalChunks = [];
        this.literalRemaining = -1;
      }
      const end = this.buffer.indexOf(CRLF, this.position);
      if (end < 0) {
        if (this.buffer.length - this.position > MAX_LINE) throw new Error("a response line without CRLF");
        return;
      }
      const line = this.buffer.toString("latin1", this.position, end);
      this.position = end + 2;
      this.partText += line;
      // RFC 9051 §4.3: a literal is announced by {N} (or ~{N} for binary) at the very end of a line.
      const announced = /~?\{(\d+)\}$/.exec(line);
      if (announced?.[1] !== undefined) {
        this.literalRemaining = Number(announced[1]);
        continue;
      }
      const response: ImapResponse = { text: this.partText, literals: this.partLiterals };
      this.partText = "";
      this.partLiterals = [];
      this.dispatch(response);
    }
  }

  private dispatch(response: ImapResponse): void {
    const { text } = response;
    if (this.greeting) {
      const greeting = this.greeting;
      this.greeting = null;
      greeting(text);
      return;
    }
    if (text.startsWith("+")) {
      const next = this.continuationWaiters.shift();
      if (!next) throw new Error(`unexpected continuation request: ${text}`);
      next();
      return;
    }
    if (text.startsWith("* ")) {
      if (/^\* (OK \[)?CAPABILITY /i.test(text)) this.noteCapabilities(text);
      const oldest = this.pending[0];
      if (oldest) oldest.untagged.push(response);
      return;
    }
    const match = /^(\S+) (OK|NO|BAD)\b ?(.*)$/i.exec(text);
    const index = match ? this.pending.findIndex((waiting) => waiting.tag === match[1]) : -1;
    if (!match || index < 0) throw new Error(`unexpected response: ${text.slice(0, 200)}`);
    const [waiting] = this.pending.splice(index, 1);
    if (!waiting) return;
    const rest = match[3] ?? "";
    this.noteCapabilities(rest);
    waiting.resolve({
      tag: waiting.tag,
      status: (match[2] as string).toUpperCase() as Completion["status"],
      text: rest,
      untagged: waiting.untagged,
    });
  }
}

/** The UIDs listed by an untagged `* SEARCH` (or `* ESEARCH ... ALL`) response. */
export function searchResults(completion: Completion): number[] {
  const uids: number[] = [];
  for (const response of completion.untagged) {
    const match = /^\* SEARCH((?: \d+)*)/i.exec(response.text);
    if (!match?.[1]) continue;
    for (const value of match[1].trim().split(" ")) uids.push(Number(value));
  }
  return uids;
}

/** The untagged FETCH responses of a completion. */
export function fetchResponses(completion: Completion): ImapResponse[] {
  return completion.untagged.filter((response) => /^\* \d+ FETCH /i.test(response.text));
}

/** The UID in a FETCH response, or NaN when it has none. */
export function fetchUid(response: ImapResponse): number {
  const match = /\bUID (\d+)/i.exec(response.text);
  return match?.[1] ? Number(match[1]) : Number.NaN;
}
