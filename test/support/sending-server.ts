// A `mailroom serve` that relays: MX lookups go to a loopback test DNS server and delivery to a loopback
// port, with one local domain and one user who can submit. Shared by the relay and queue tests.

import assert from "node:assert/strict";
import nodemailer from "nodemailer";
import type { QueueListing } from "../../src/cli/queue.js";
import type { TestDns } from "./dns.js";
import { startTestServer, type TestServer } from "./server.js";

export interface SendingServerOptions {
  /** The store URL; SQLite when absent (IntegrationBackend.store). */
  store?: string | undefined;
  dns: TestDns;
  /** Where every MX is reached. */
  relayPort: number;
  pollInterval: string;
  retrySchedule: string;
  /** The local user; its domain is added first. */
  user: { address: string; password: string };
  hostname?: string;
  /** More settings for the server (e.g. MAILROOM_RELAY_SMARTHOST). */
  env?: NodeJS.ProcessEnv;
}

export async function startSendingServer(options: SendingServerOptions): Promise<TestServer> {
  const server = await startTestServer({
    ...(options.store ? { store: options.store } : {}),
    env: {
      MAILROOM_LISTENERS_HTTP_ENABLED: "false",
      MAILROOM_HOSTNAME: options.hostname ?? "mx.example.org",
      MAILROOM_RELAY_RESOLVER: `${options.dns.address}:${options.dns.port}`,
      MAILROOM_RELAY_PORT: String(options.relayPort),
      MAILROOM_RELAY_POLL_INTERVAL: options.pollInterval,
      MAILROOM_RELAY_RETRY_SCHEDULE: options.retrySchedule,
      MAILROOM_RELAY_CONNECT_TIMEOUT: "2s",
      ...options.env,
    },
  });
  const domain = options.user.address.slice(options.user.address.indexOf("@") + 1);
  const added = await server.cli(["domain", "add", domain]);
  assert.equal(added.code, 0, added.stderr);
  const user = await server.cli(
    ["user", "add", options.user.address, "--password-stdin"],
    `${options.user.password}\n`,
  );
  assert.equal(user.code, 0, user.stderr);
  return server;
}

/** `mailroom queue list --json` of the server's data dir. */
export async function listQueue(server: TestServer): Promise<QueueListing[]> {
  const result = await server.cli(["queue", "list", "--json"]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as QueueListing[];
}

/** Submits one plain-text message as `user` on the server's submission port (STARTTLS, AUTH). */
export async function submitMessage(
  server: TestServer,
  user: { address: string; password: string },
  message: { to: string; subject: string; text: string },
): Promise<void> {
  const transport = nodemailer.createTransport({
    host: "127.0.0.1",
    port: server.ports.submission,
    requireTLS: true,
    auth: { user: user.address, pass: user.password },
    tls: { rejectUnauthorized: false },
  });
  try {
    await transport.sendMail({ from: user.address, ...message });
  } finally {
    transport.close();
  }
}
