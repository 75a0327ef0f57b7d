// Postfix's side of the relay bench: the throwaway instance of bench/smtp/postfix.ts, turned into a
// relay with relayhost = [127.0.0.1]:SINK. The load is injected over SMTP while delivery is paused with
// defer_transports (every message waits in the deferred queue), then released with a reload and
// `postqueue -f`, so only the relaying is timed — as on mailroom's side.
import { execFile } from "node:child_process";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import nodemailer from "nodemailer";
import { type PostfixInstance, startPostfix } from "../smtp/postfix.js";
import { benchMessage, recipientOf, SENDER } from "./message.js";

const run = promisify(execFile);

export interface PostfixRelay {
  instance: PostfixInstance;
  /** Sends the load in through smtpd; resolves once every message sits in the deferred queue. */
  fill(messages: number, domains: number, size: number): Promise<void>;
  /** Lifts the pause and asks the queue manager to deliver everything now. */
  release(): Promise<void>;
  stop(): Promise<void>;
}

async function postconf(confDir: string, ...settings: string[]): Promise<void> {
  await run("postconf", ["-c", confDir, "-e", ...settings]);
}

export async function startPostfixRelay(sinkPort: number): Promise<PostfixRelay> {
  const instance = await startPostfix({ domain: "local.bench.invalid", user: "u", processLimit: 100 });
  const confDir = path.join(instance.dir, "conf");
  try {
    await postconf(
      confDir,
      `relayhost = [127.0.0.1]:${sinkPort}`,
      "defer_transports = smtp",
      // The sink is the only destination; 20 parallel deliveries, as mailroom's default relay.concurrency.
      "default_destination_concurrency_limit = 20",
      "smtp_tls_security_level = none",
    );
    await run("postfix", ["-c", confDir, "reload"]);
  } catch (error) {
    await instance.stop();
    throw error;
  }
  return {
    instance,
    async fill(messages, domains, size) {
      const transport = nodemailer.createTransport({
        host: instance.host,
        port: instance.port,
        pool: true,
        maxConnections: 8,
        maxMessages: Number.POSITIVE_INFINITY,
        ignoreTLS: true,
      });
      try {
        let next = 0;
        const worker = async () => {
          for (let index = next++; index < messages; index = next++) {
            await transport.sendMail({
              envelope: { from: SENDER, to: [recipientOf(index, domains)] },
              raw: benchMessage(index, domains, size),
            });
          }
        };
        await Promise.all(Array.from({ length: 8 }, worker));
      } finally {
        transport.close();
      }
      // Deferred means the queue manager has seen each one and put it aside.
      const deadline = Date.now() + 120_000;
      for (;;) {
        const { stdout } = await run("find", [path.join(instance.dir, "queue", "deferred"), "-type", "f"]);
        const deferred = stdout.split("\n").filter(Boolean).length;
        if (deferred >= messages) return;
        if (Date.now() > deadline)
          throw new Error(`only ${deferred} of ${messages} messages reached the deferred queue`);
        await sleep(200);
      }
    },
    async release() {
      await postconf(confDir, "defer_transports =");
      await run("postfix", ["-c", confDir, "reload"]);
      await run("postqueue", ["-c", confDir, "-f"]);
    },
    stop: () => instance.stop(),
  };
}
