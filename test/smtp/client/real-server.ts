// mailroom's own SMTP server (the session adapter with an in-memory delivery agent) on a loopback port,
// for client tests against the real thing.

import { createSecureContext } from "node:tls";
import { generate } from "selfsigned";
import type { AuthPolicy } from "../../../src/auth/policy.js";
import type { Authenticator } from "../../../src/auth/types.js";
import type { ListenerName } from "../../../src/config/types.js";
import { createSmtpHandler } from "../../../src/smtp/server/handler.js";
import { listenOnLoopback } from "../../support/listen.js";
import { FakeAgent, FakeAuthenticator, silentLogger, testConfig } from "../fakes.js";

export interface RealServer {
  port: number;
  agent: FakeAgent;
  /** The PEM certificate the server presents on STARTTLS. */
  cert: string;
  close(): Promise<void>;
}

export async function startRealServer(
  options: {
    listener?: ListenerName;
    authenticator?: Authenticator;
    authPolicy?: AuthPolicy;
    maxMessageSize?: number;
  } = {},
): Promise<RealServer> {
  const pems = await generate([{ name: "commonName", value: "localhost" }], { keySize: 2048 });
  const agent = new FakeAgent();
  const listener = options.listener ?? "smtp";
  const handler = createSmtpHandler({
    listener,
    hostname: "mx.example.org",
    config: testConfig({ maxMessageSize: options.maxMessageSize ?? 100_000, maxRecipients: 50 }),
    agent,
    authenticator: options.authenticator ?? new FakeAuthenticator(),
    ...(options.authPolicy ? { authPolicy: options.authPolicy } : {}),
    logger: silentLogger,
    tls: createSecureContext({ key: pems.private, cert: pems.cert }),
  });
  const running = await listenOnLoopback(handler, listener);
  return { port: running.port, agent, cert: pems.cert, close: running.close };
}
