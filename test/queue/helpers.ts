// Shared setup for relay tests: a temp SQLite store, a test DNS server, a scripted remote MX, and a
// queue runner whose clock the test moves.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { defaultRelayConfig, type RelayConfig } from "../../src/queue/config.js";
import { type QueueRunner, startQueueRunner } from "../../src/queue/scheduler.js";
import { openStore } from "../../src/store/open.js";
import type { EnvelopeDsn, QueueInput, Store } from "../../src/store/types.js";
import { startTestDns, type TestDns, type TestDnsRecords } from "../support/dns.js";
import { type Remote, type RemoteScript, startRemote } from "./remote.js";

export const silent = pino({ level: "silent" });

export interface Harness {
  dataDir: string;
  store: Store;
  dns: TestDns;
  remote: Remote;
  config: RelayConfig;
  /** Milliseconds the runner's clock is ahead of the real one. */
  advance(ms: number): void;
  now(): Date;
  runner(): QueueRunner;
  close(): Promise<void>;
}

export async function makeHarness(
  records: (remotePort: number) => TestDnsRecords,
  script: RemoteScript = {},
  overrides: Partial<RelayConfig> = {},
): Promise<Harness> {
  const dataDir = await mkdtemp(join(tmpdir(), "mailroom-queue-"));
  const store = await openStore({ store: "sqlite", dataDir, logger: silent });
  await store.directory.addDomain("example.org");
  await store.directory.addUser("alice@example.org", { passwordHash: "x", scramSha256: "x" });
  const remote = await startRemote(script);
  const dns = await startTestDns(records(remote.port));
  const config: RelayConfig = {
    ...defaultRelayConfig(),
    port: remote.port,
    resolver: `${dns.address}:${dns.port}`,
    // Passes are driven by runNow(); the timer should not fire during a test.
    pollInterval: 60 * 60 * 1000,
    connectTimeout: 2000,
    commandTimeout: 5000,
    dataTimeout: 5000,
    idleTimeout: 500,
    ...overrides,
  };
  let offset = 0;
  const now = (): Date => new Date(Date.now() + offset);
  let runner: QueueRunner | null = null;
  return {
    dataDir,
    store,
    dns,
    remote,
    config,
    advance: (ms) => {
      offset += ms;
    },
    now,
    runner: () => {
      runner ??= startQueueRunner({ store, logger: silent, config, hostname: "mx.example.org", now });
      return runner;
    },
    close: async () => {
      await runner?.stop();
      await remote.close();
      await dns.close();
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function queueMessage(
  store: Store,
  options: {
    sender: string;
    recipients: Array<string | QueueInput>;
    body: string | Buffer;
    envelopeDsn?: EnvelopeDsn;
  },
): Promise<{ messageId: string; queueIds: string[] }> {
  const writer = await store.blobs.createBlobWriter();
  await writer.write(Buffer.from(`Return-Path: <${options.sender}>\r\n`));
  await writer.write(Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body));
  const blob = await writer.finish();
  const result = await store.messages.deliver({
    blob,
    sender: options.sender,
    internalDate: new Date(),
    mailboxes: [],
    queue: options.recipients.map((each) => (typeof each === "string" ? { recipient: each } : each)),
    ...(options.envelopeDsn ? { envelopeDsn: options.envelopeDsn } : {}),
  });
  return { messageId: result.messageId, queueIds: result.queueIds };
}

export interface ParsedReport {
  raw: string;
  headers: string;
  parts: Array<{ contentType: string; body: string }>;
  /** The message-level fields, then one record per recipient, of the message/delivery-status part. */
  status: Array<Record<string, string>>;
}

/** Splits a stored notice into its MIME parts and reads the delivery-status fields. */
export function parseReport(bytes: Buffer): ParsedReport {
  const raw = bytes.toString("utf8");
  const split = raw.indexOf("\r\n\r\n");
  const headers = raw.slice(0, split);
  const boundary = /boundary="([^"]+)"/.exec(headers)?.[1];
  if (!boundary) throw new Error("no multipart boundary in the notice");
  const body = raw.slice(split + 4);
  const chunks = body.split(`\r\n--${boundary}`);
  const parts = chunks.slice(1, -1).map((chunk) => {
    const part = chunk.replace(/^\r\n/, "");
    const end = part.indexOf("\r\n\r\n");
    const partHeaders = part.slice(0, end);
    return {
      contentType: (/^Content-Type:\s*([^;\r\n]+)/im.exec(partHeaders)?.[1] ?? "").toLowerCase(),
      body: part.slice(end + 4),
    };
  });
  const statusPart = parts.find((part) => part.contentType === "message/delivery-status");
  const status = (statusPart?.body ?? "")
    .trim()
    .split(/\r\n\r\n/)
    .map((block) => {
      const fields: Record<string, string> = {};
      for (const line of block.replace(/\r\n[ \t]+/g, " ").split("\r\n")) {
        const colon = line.indexOf(":");
        if (colon > 0) fields[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      return fields;
    });
  return { raw, headers, parts, status };
}

/** The notices in alice@example.org's INBOX, parsed. */
export async function inboxReports(store: Store): Promise<ParsedReport[]> {
  const user = await store.directory.getUser("alice@example.org");
  const inbox = user ? await store.mailboxes.getMailbox(user.id, "INBOX") : null;
  if (!inbox) throw new Error("alice has no INBOX");
  const messages = await store.messages.listMessages(inbox.id);
  return Promise.all(
    messages.map(async (message) => parseReport(await store.blobs.readBlobBytes(message.messageId))),
  );
}
