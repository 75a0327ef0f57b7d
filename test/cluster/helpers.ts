// Shared pieces of the multi-node tests: nodes of `mailroom serve` on one PostgreSQL database (each with
// its own data dir, ports and an IMAP listener), and a small byte-level client for line protocols.

import { connect, type Socket } from "node:net";
import { startTestServer, type TestServer } from "../support/server.js";

export interface ClusterNode {
  server: TestServer;
  imapPort: number;
}

/** Starts `count` nodes on the same store, one after the other (start-up migrates the schema once). */
export async function startNodes(count: number, store: string, env: NodeJS.ProcessEnv = {}) {
  const nodes: ClusterNode[] = [];
  for (let i = 0; i < count; i++) {
    // The harness gives every listener it knows (IMAP included) a free port of its own.
    const server = await startTestServer({ store, env });
    nodes.push({ server, imapPort: server.ports.imap });
  }
  return nodes;
}

/**
 * A client that keeps every byte received (latin1, so octets map 1:1 to characters) and lets a test
 * wait for a pattern that appears after a given position.
 */
export class LineClient {
  private received = "";
  private waiters: Array<() => void> = [];
  private ended = false;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      this.received += chunk;
      this.notify();
    });
    socket.on("close", () => {
      this.ended = true;
      this.notify();
    });
    socket.on("error", () => {});
  }

  static open(port: number): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port });
      socket.once("connect", () => resolve(new LineClient(socket)));
      socket.once("error", reject);
    });
  }

  private notify(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const wake of waiting) wake();
  }

  /** Everything received so far. */
  get text(): string {
    return this.received;
  }

  get closed(): boolean {
    return this.ended;
  }

  send(line: string): void {
    this.socket.write(`${line}\r\n`, "latin1");
  }

  /** Resolves with the match once `pattern` appears at or after `from`; rejects after `timeoutMs`. */
  async waitFor(pattern: RegExp, from = 0, timeoutMs = 15_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = new RegExp(pattern.source, pattern.flags.replace("g", "")).exec(
        this.received.slice(from),
      );
      if (match) {
        match.index += from;
        return match;
      }
      if (this.ended) throw new Error(`connection closed before ${pattern}; received:\n${this.received}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${pattern} within ${timeoutMs} ms; received:\n${this.received}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
