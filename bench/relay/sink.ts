// Postfix's smtp-sink as the relay target: it accepts every message and throws it away. With -c it prints
// a running "mesg=N" counter on stdout, which is how the bench knows when the Nth message arrived.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort, waitForPort } from "../lib/net.js";

export interface Sink {
  host: string;
  port: number;
  /** Messages received so far. */
  received(): number;
  /** SMTP sessions (connections) so far: how well the relay reuses its connections. */
  sessions(): number;
  /** Waits until `count` messages have arrived; returns when the first and the last of them did. */
  waitFor(count: number, timeoutMs: number): Promise<{ firstAt: number; lastAt: number }>;
  stop(): Promise<void>;
}

export async function startSink(): Promise<Sink> {
  const host = "127.0.0.1";
  const port = await freePort(host);
  // smtp-sink refuses to run as root without -u; 256 is its listen backlog.
  const child: ChildProcess = spawn("smtp-sink", ["-u", "nobody", "-c", `${host}:${port}`, "256"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let count = 0;
  let sessions = 0;
  let firstAt = 0;
  let lastAt = 0;
  let errors = "";
  let pending = "";
  child.stdout?.setEncoding("latin1").on("data", (chunk: string) => {
    pending += chunk;
    const pieces = pending.split("\r");
    pending = pieces.pop() ?? "";
    for (const piece of pieces) {
      const session = /sess=(\d+)/.exec(piece);
      if (session) sessions = Math.max(sessions, Number(session[1]));
      const match = /mesg=(\d+)/.exec(piece);
      if (!match) continue;
      const seen = Number(match[1]);
      if (seen > count) {
        const now = performance.now();
        if (count === 0) firstAt = now;
        count = seen;
        lastAt = now;
      }
    }
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    errors += chunk;
  });
  const exited = once(child, "exit").then(() => {
    throw new Error(`smtp-sink exited: ${errors.trim() || "no message"}`);
  });
  exited.catch(() => undefined);
  await Promise.race([waitForPort(host, port, 10_000, "smtp-sink"), exited]);
  return {
    host,
    port,
    received: () => count,
    sessions: () => sessions,
    async waitFor(target, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (count < target) {
        if (Date.now() > deadline)
          throw new Error(`smtp-sink received ${count} of ${target} messages within ${timeoutMs} ms`);
        await sleep(20);
      }
      return { firstAt, lastAt };
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await once(child, "exit");
      }
    },
  };
}
