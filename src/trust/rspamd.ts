// rspamd over its HTTP protocol (issue 18): POST /checkv2 to the normal worker with the envelope in
// request headers (IP, Helo, From, Rcpt per recipient, Queue-Id, User), the message as a chunked body;
// POST /learnspam and /learnham to the controller worker. A thin adapter: what the answers mean is
// spam-verdict.ts's.
//
// Our outage is never the sender's problem: a scan that fails or outlasts its timeout answers null, and
// the caller accepts the message unscanned; the warning names the URL so the admin knows where to look.

import { request } from "node:http";
import { request as requestTls } from "node:https";
import type { Logger } from "pino";
import type { SpamScan } from "../store/spam-scans.js";
import { parseCheckReply } from "./spam-verdict.js";

export interface ScanEnvelope {
  remoteAddress: string;
  helo: string;
  /** The reverse path; "" for <>. */
  sender: string;
  recipients: readonly string[];
  /** The id the message is stored under: rspamd logs it, so both logs can be matched. */
  queueId: string;
  /** The SASL user, for an authenticated session. */
  user?: string | null;
}

export interface RspamdClient {
  /** rspamd's verdict, or null when rspamd could not be asked (logged). Never rejects. */
  scan(message: AsyncIterable<Buffer>, envelope: ScanEnvelope): Promise<SpamScan | null>;
  /** Trains rspamd's Bayes classifier; rejects with the reason when rspamd refused or was unreachable. */
  learn(kind: "spam" | "ham", message: AsyncIterable<Buffer>): Promise<void>;
}

export interface RspamdOptions {
  /** The normal worker, e.g. "http://127.0.0.1:11333". */
  url: string;
  /** The controller worker; by default the same host on port 11334, rspamd's default. */
  controllerUrl?: string | null;
  /** Milliseconds for a whole scan or learn request. */
  timeout: number;
  logger: Logger;
}

/** rspamd's own default controller address for a normal worker URL: the same host, port 11334. */
export function defaultControllerUrl(url: string): string {
  const parsed = new URL(url);
  parsed.port = "11334";
  return parsed.origin;
}

export function createRspamdClient(options: RspamdOptions): RspamdClient {
  const { logger, timeout } = options;
  const checkUrl = new URL("/checkv2", options.url);
  const controller = options.controllerUrl ?? defaultControllerUrl(options.url);
  return {
    async scan(message, envelope) {
      const headers: Array<[string, string]> = [
        ["IP", envelope.remoteAddress.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, "")],
        ["Helo", envelope.helo],
        ["From", envelope.sender],
        ["Queue-Id", envelope.queueId],
        ...envelope.recipients.map((recipient): [string, string] => ["Rcpt", recipient]),
      ];
      if (envelope.user) headers.push(["User", envelope.user]);
      try {
        const { status, body } = await post(checkUrl, headers, message, timeout);
        if (status !== 200) throw new Error(`HTTP ${status}: ${body.slice(0, 200).toString()}`);
        const scan = parseCheckReply(JSON.parse(body.toString("utf8")), new Date());
        if (scan === null) throw new Error("the reply is not a /checkv2 result");
        return scan;
      } catch (err) {
        logger.warn(
          { err, rspamd: options.url, queueId: envelope.queueId },
          `rspamd at ${options.url} could not scan the message; accepted unscanned`,
        );
        return null;
      }
    },
    async learn(kind, message) {
      const url = new URL(kind === "spam" ? "/learnspam" : "/learnham", controller);
      const { status, body } = await post(url, [], message, timeout);
      // 208: rspamd already learned this message (as this class); nothing to do.
      if (status === 200 || status === 208) return;
      throw new Error(`rspamd at ${controller} refused learn_${kind}: HTTP ${status} ${body.slice(0, 200)}`);
    },
  };
}

/** One POST with a streamed body, the whole exchange bounded by `timeout`. */
function post(
  url: URL,
  headers: Array<[string, string]>,
  body: AsyncIterable<Buffer>,
  timeout: number,
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === "https:" ? requestTls : request;
    const req = send(url, { method: "POST", headers: Object.fromEntries(headersByName(headers)) });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeout} ms`)), timeout);
    const fail = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    req.on("error", fail);
    req.on("response", (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("error", fail);
      response.on("end", () => {
        clearTimeout(timer);
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) });
      });
    });
    (async () => {
      for await (const chunk of body) {
        if (req.destroyed) return;
        if (!req.write(chunk)) {
          await new Promise((done) => {
            req.once("drain", done);
            req.once("close", done);
          });
        }
      }
      req.end();
    })().catch((err: Error) => req.destroy(err));
  });
}

/** Repeated headers (Rcpt) as node:http wants them: one name, an array of values. */
function headersByName(headers: Array<[string, string]>): Map<string, string | string[]> {
  const byName = new Map<string, string | string[]>();
  for (const [name, value] of headers) {
    // A header value cannot carry line breaks; an envelope never has them, but the HELO is the client's.
    const clean = value.replace(/[\r\n]/g, "");
    const known = byName.get(name);
    if (known === undefined) byName.set(name, clean);
    else byName.set(name, Array.isArray(known) ? [...known, clean] : [known, clean]);
  }
  return byName;
}
