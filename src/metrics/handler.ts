// The adapter for the `metrics` listener: node:http fed the sockets our listener accepted, answering
// three GET paths and nothing else. It lives on its own listener, loopback by default, so a scraper
// never shares a port (or its limits) with mail clients, and queue sizes are not shown to the internet.
//
//   /metrics  the registry in Prometheus text exposition format 0.0.4
//   /healthz  200 while the process serves requests at all (liveness)
//   /readyz   200 when the store answers a cheap query within metrics.ready_timeout, else 503

import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { Logger } from "pino";
import { defaultMetricsConfig } from "../config/defaults.js";
import { connectionSetHandler } from "../net/connection-set.js";
import type { ProtocolHandler } from "../net/types.js";
import type { ProtocolFactory } from "../server/deps.js";
import type { QueueStats } from "../store/queue.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { EXPOSITION_CONTENT_TYPE } from "./registry.js";

export interface MetricsHandlerOptions {
  metrics: Metrics;
  /** The query /readyz runs: the queue's stats are one indexed aggregate on either backend. */
  store: { queue: { stats(): Promise<QueueStats> } };
  readyTimeoutMs: number;
  logger: Logger;
}

/** Resolves to the reason the store is not ready, or null when it answered in time. */
async function storeProblem(options: MetricsHandlerOptions): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(
      () => resolve(`the store did not answer within ${options.readyTimeoutMs} ms`),
      options.readyTimeoutMs,
    );
  });
  try {
    return await Promise.race([
      options.store.queue.stats().then(
        () => null,
        (error: unknown) => {
          options.logger.warn({ err: error }, "readiness check: the store query failed");
          return "the store query failed (the server log has the error)";
        },
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function text(response: ServerResponse, status: number, body: string, type = "text/plain; charset=utf-8") {
  response.writeHead(status, {
    "Content-Type": type,
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
  });
  response.end(body);
}

export function createMetricsHandler(options: MetricsHandlerOptions): ProtocolHandler {
  let draining = false;

  const respond = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.setHeader("Allow", "GET, HEAD");
      return text(response, 405, "only GET and HEAD are served here\n");
    }
    switch (path) {
      case "/metrics":
        return text(
          response,
          200,
          await options.metrics.registry.expose(
            (error) =>
              options.logger.warn({ err: error }, "a metrics collector failed; its gauges show old values"),
            options.readyTimeoutMs,
          ),
          EXPOSITION_CONTENT_TYPE,
        );
      case "/healthz":
        return text(response, 200, "ok\n");
      case "/readyz": {
        const problem = await storeProblem(options);
        return problem === null
          ? text(response, 200, "ready\n")
          : text(response, 503, `not ready: ${problem}\n`);
      }
      default:
        return text(response, 404, "not found; this listener serves /metrics, /healthz and /readyz\n");
    }
  };

  const server = http.createServer({ requestTimeout: 30_000 }, (request, response) => {
    // A keep-alive scraper is told to go once the server drains, so drain() does not wait on it.
    if (draining) response.shouldKeepAlive = false;
    respond(request, response).catch((error: unknown) => {
      options.logger.error({ err: error, url: request.url }, "metrics request failed");
      if (!response.headersSent) text(response, 500, "internal error; the server log has the details\n");
      else response.destroy();
    });
  });

  return connectionSetHandler({
    logger: options.logger,
    goodbye: () => "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    open(socket, _info, closed) {
      socket.once("close", closed);
      server.emit("connection", socket);
      return {
        drain() {
          draining = true;
          server.closeIdleConnections();
        },
        destroy: () => socket.destroy(),
      };
    },
  });
}

export const metricsProtocol: ProtocolFactory = (listener, deps) => {
  if (listener !== "metrics") {
    throw new Error(`the metrics protocol cannot serve the "${listener}" listener; use "metrics"`);
  }
  return createMetricsHandler({
    // Without the process's metrics (a handler built on its own) it still answers, with empty counts.
    metrics: deps.metrics ?? createMetrics(),
    store: deps.store,
    readyTimeoutMs: (deps.config.metrics ?? defaultMetricsConfig()).readyTimeout,
    logger: deps.logger.child({ proto: "metrics", listener }),
  });
};
