// The HTTP adapter for the `http` and `https` listeners: node:http fed the sockets our listener accepted
// (so connection limits and implicit TLS stay the listener's), routing, authentication, per-IP request
// limits, and streaming of uploads and downloads. The JMAP engine (src/jmap) sees only parsed requests.

import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type AdminApi, type Caller, createAdminApi, isSelfServicePath } from "../admin/api.js";
import { createAdminService, type ServerRuntime } from "../admin/service.js";
import { authRefusal } from "../auth/policy.js";
import type { AuthContext, SaslFailure } from "../auth/types.js";
import { captureAgent } from "../capture/agent.js";
import { createMailpitBackend } from "../capture/backend.js";
import { answerMailpit, isMailpitPath, type MailpitBackend } from "../capture/mailpit.js";
import { defaultHttpConfig, defaultManageSieveConfig, defaultSubmissionConfig } from "../config/defaults.js";
import type { ListenerName } from "../config/types.js";
import { createDeliveryAgent } from "../delivery/agent.js";
import { MAX_INTERVAL_SECONDS } from "../delivery/future-release.js";
import { accountFor } from "../jmap/account.js";
import { parsePartBlobId, parseScriptBlobId, readUserBlob } from "../jmap/blob-parts.js";
import { DEFAULT_LIMITS, type JmapLimits } from "../jmap/capabilities.js";
import { createDispatcher, type DispatchResult } from "../jmap/dispatcher.js";
import { requestError } from "../jmap/errors.js";
import { CAPABILITIES, jmapMethods } from "../jmap/methods.js";
import { sessionResource } from "../jmap/session.js";
import type { AccountContext } from "../jmap/types.js";
import type { ConnectionInfo, ProtocolHandler } from "../net/types.js";
import { createResolver } from "../queue/dns.js";
import type { ServiceDeps } from "../server/deps.js";
import { version } from "../server/version.js";
import { StoreError } from "../store/errors.js";
import { authenticateRequest } from "./auth.js";
import { serveEventSource } from "./eventsource.js";
import type { Problem } from "./problem.js";
import { problem } from "./problem.js";
import { createRateLimiter } from "./rate-limit.js";
import { rawResponse, sendJson, sendProblem } from "./respond.js";
import { serveStatic, staticPathOf } from "./static.js";
import { createWebSocketEndpoint } from "./websocket.js";

const REALM = 'realm="mailroom"';

/** Per-connection facts the listener knew and node:http does not carry. */
const connectionInfo = new WeakMap<Socket, ConnectionInfo>();

interface Running {
  /** Requests in progress per user id, for maxConcurrentRequests and maxConcurrentUpload. */
  api: Map<number, number>;
  upload: Map<number, number>;
}

/** One count per store, so a client cannot double its allowance by using both http and https. */
const runningByStore = new WeakMap<object, Running>();

function runningFor(store: object): Running {
  let running = runningByStore.get(store);
  if (running === undefined) {
    running = { api: new Map(), upload: new Map() };
    runningByStore.set(store, running);
  }
  return running;
}

export function createHttpHandler(listener: ListenerName, deps: ServiceDeps): ProtocolHandler {
  const { config, store, logger, authenticator } = deps;
  const limitsConfig = config.http ?? defaultHttpConfig();
  const limits: JmapLimits = {
    ...DEFAULT_LIMITS,
    maxSizeUpload: limitsConfig.maxUploadSize,
    maxSizeRequest: limitsConfig.maxRequestSize,
  };
  const agent = createDeliveryAgent({ store, logger, hostname: config.hostname });
  // RFC 4865 through JMAP (RFC 8621 §1.3.2 maxDelayedSend): the same limit port 587 advertises.
  const maxDelayedSend = Math.min(
    Math.floor((config.submission ?? defaultSubmissionConfig()).maxFutureRelease / 1000),
    MAX_INTERVAL_SECONDS,
  );
  // JMAP Sieve keeps ManageSieve's limits: one set of rules for a user's scripts.
  const sieveLimits = config.managesieve ?? defaultManageSieveConfig();
  const dispatcher = createDispatcher({
    methods: jmapMethods(
      store,
      limits,
      {
        // The agent port 587 is given: EmailSubmission obeys the same sender, signing and queue rules.
        agent: deps.capture ? captureAgent(agent, deps.capture.provisioner) : agent,
        hostname: config.hostname,
        ...(deps.wakeQueue ? { wakeQueue: deps.wakeQueue } : {}),
        maxDelayedSend,
      },
      deps.push,
      sieveLimits,
    ),
    capabilities: CAPABILITIES,
    limits,
    maxDelayedSend,
    logger,
  });
  // Capture mode only: Mailpit's API, without login as Mailpit has it (the listeners are on loopback).
  const mailpit: MailpitBackend | null = deps.capture
    ? createMailpitBackend({ store, dispatcher, provisioner: deps.capture.provisioner })
    : null;
  // Built without a running server (unit tests), the status names no listener and counts from here.
  const runtime: ServerRuntime = deps.runtime ?? { startedAt: new Date(), listeners: () => [] };
  const adminApi: AdminApi = createAdminApi({
    service: createAdminService({
      store,
      hostname: config.hostname,
      version: version(),
      resolver: createResolver(config.relay.resolver),
    }),
    runtime,
    ...(deps.wakeQueue ? { wakeQueue: deps.wakeQueue } : {}),
  });
  const rateLimiter = createRateLimiter(limitsConfig.requestsPerMinutePerIp);
  const policy = config.listeners[listener].auth;
  const httpsPort = config.listeners.https.port;
  const httpsEnabled = config.listeners.https.enabled;
  const running = runningFor(store);
  const sockets = new Set<Socket>();
  /** How to end each open push channel (event stream, WebSocket), so a drain does not wait for them. */
  const channels = new Set<() => void>();
  const busy = new Set<Socket>();
  let draining = false;
  let idleWaiters: Array<() => void> = [];

  const server = http.createServer({
    keepAliveTimeout: limitsConfig.keepAliveTimeout,
    requestTimeout: limitsConfig.requestTimeout,
    headersTimeout: Math.min(limitsConfig.requestTimeout, 60_000),
    maxHeaderSize: 16 * 1024,
    connectionsCheckingInterval: Math.min(30_000, Math.max(100, limitsConfig.requestTimeout / 4)),
  });
  // node:http starts enforcing requestTimeout and headersTimeout on "listening". This server never
  // listens (net/listener.ts owns the port and hands sockets over), so it is told it does; without it a
  // client trickling headers would hold its connection for ever.
  server.emit("listening");
  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    busy.add(socket);
    response.once("close", () => {
      busy.delete(socket);
      if (draining) socket.end();
    });
    if (draining) response.setHeader("Connection", "close");
    handle(request, response).catch((error: unknown) => {
      logger.error({ err: error, url: request.url }, "HTTP request failed");
      if (!response.headersSent) {
        void sendProblem(
          request,
          response,
          problem(
            500,
            "Internal Server Error",
            "the server failed on this request; the error is logged there",
          ),
        ).catch(() => response.destroy());
      } else {
        response.destroy();
      }
    });
  });
  const websockets = createWebSocketEndpoint({
    store,
    logger,
    channels,
    maxSizeRequest: limits.maxSizeRequest,
    maxConcurrentRequests: limits.maxConcurrentRequests,
    dispatch: (account, request) =>
      withSlot<DispatchResult | "refused">(
        running.api,
        account.userId,
        limits.maxConcurrentRequests,
        () => dispatcher.dispatch(request, account),
        async () => "refused",
      ),
  });
  server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    handleUpgrade(request, socket, head).catch((error: unknown) => {
      logger.error({ err: error, url: request.url }, "WebSocket handshake failed");
      socket.destroy();
    });
  });
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
    logger.debug({ err: error, listener }, "bad HTTP request");
    if (!socket.writable) return socket.destroy();
    const status =
      error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : error.code === "HPE_HEADER_OVERFLOW" ? 431 : 400;
    socket.end(
      rawResponse(
        status,
        problem(
          status,
          http.STATUS_CODES[status] ?? "Bad Request",
          "the request could not be read as HTTP/1.1",
        ),
      ),
    );
  });

  function infoOf(request: IncomingMessage): ConnectionInfo {
    const info = connectionInfo.get(request.socket);
    if (info === undefined) throw new Error("a request arrived on a socket the listener did not hand over");
    return info;
  }

  /**
   * What every request, plain or WebSocket handshake, passes before it is served: the per-IP limit, the
   * listener's login policy, the route and the credentials. Returns the answer to give instead, the
   * webmail file to serve (no credentials needed), or the account and route to serve.
   */
  async function admit(request: IncomingMessage): Promise<Admission> {
    const info = infoOf(request);
    const wait = rateLimiter.take(info.remoteAddress);
    if (wait > 0) {
      return refuse(
        problem(
          429,
          "Too Many Requests",
          `this client made too many requests; try again in ${Math.ceil(wait / 1000)} s`,
        ),
        { "Retry-After": String(Math.ceil(wait / 1000)) },
      );
    }
    const context: AuthContext = { remoteAddress: info.remoteAddress, secure: info.secure, policy };
    const url = new URL(request.url ?? "/", "http://localhost");
    const refusal = authRefusal(context);
    if (refusal === "needs-tls") {
      if (!httpsEnabled) {
        return refuse(
          problem(
            403,
            "Forbidden",
            "plain HTTP is served to this host only, and HTTPS is turned off here; ask the administrator",
          ),
        );
      }
      // Credentials never cross a plain connection from elsewhere: send the client to HTTPS first.
      const host = hostOnly(request.headers.host) ?? config.hostname;
      return { kind: "redirect", location: `https://${host}:${httpsPort}${url.pathname}${url.search}` };
    }
    if (mailpit !== null && isMailpitPath(url.pathname)) return { kind: "mailpit", backend: mailpit, url };
    // The webmail's files need no login, but come over plain HTTP only where credentials may: a page
    // a network attacker could rewrite would read the password typed into it.
    const file = staticPathOf(request.method ?? "GET", url.pathname);
    if (file !== null) return { kind: "webmail", file };
    if (refusal === "disabled") {
      return refuse(problem(403, "Forbidden", `logins are turned off on the ${listener} listener`));
    }

    const route = routeOf(request.method ?? "GET", url.pathname);
    if (route.kind === "not-found") {
      return refuse(
        problem(
          404,
          "Not Found",
          `nothing is served at ${url.pathname}; a JMAP client starts at /.well-known/jmap`,
        ),
      );
    }
    if (route.kind === "bad-method") {
      return refuse(problem(405, "Method Not Allowed", `${url.pathname} takes ${route.allow}`), {
        Allow: route.allow,
      });
    }

    const auth = await authenticateRequest(request.headers.authorization, authenticator, context);
    if (auth.kind !== "user") return { kind: "refused", ...loginRefused(auth) };
    // The URLs in the session are the ones this client reached us by, so a proxy or port mapping works.
    const base = `${info.secure ? "https" : "http"}://${validHost(request.headers.host) ?? config.hostname}`;
    if (route.kind === "admin" && !isSelfServicePath(route.path)) {
      // Read at every request, so taking the role away (`mailroom user admin U off`) applies at once.
      const user = await store.directory.getUserById(auth.user.userId);
      if (user?.admin !== true) {
        return refuse(
          problem(
            403,
            "Forbidden",
            `${auth.user.address} is not an admin; an admin grants the role with 'mailroom user admin ${auth.user.address} on'`,
          ),
        );
      }
    }
    return {
      kind: "admitted",
      account: accountFor(auth.user),
      route,
      url,
      base,
      viaToken: auth.viaToken,
      context,
    };
  }

  /** The answer to a failed login; a wrong current password in the self-service API gets it too. */
  function loginRefused(auth: { kind: "missing" } | { kind: "failure"; reason: SaslFailure }): Refusal {
    if (auth.kind === "failure" && auth.reason === "throttled") {
      return {
        problem: problem(
          429,
          "Too Many Requests",
          "too many failed logins from this address; wait a while before trying again",
        ),
        headers: { "Retry-After": "60" },
      };
    }
    if (auth.kind === "failure" && auth.reason === "unavailable") {
      return {
        problem: problem(503, "Service Unavailable", "logins cannot be checked right now; try again shortly"),
        headers: {},
      };
    }
    const detail =
      auth.kind === "missing"
        ? "log in with HTTP Basic (address and password or app token) or a Bearer app token"
        : "the address, password or token is wrong, or the token was revoked";
    return {
      problem: problem(401, "Unauthorized", detail),
      headers: { "WWW-Authenticate": `Basic ${REALM}, charset="UTF-8", Bearer ${REALM}` },
    };
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const admission = await admit(request);
    if (admission.kind === "refused") {
      request.resume();
      return sendProblem(request, response, admission.problem, admission.headers);
    }
    if (admission.kind === "redirect") {
      request.resume();
      response.writeHead(308, { Location: admission.location, "Content-Length": "0" });
      response.end();
      return;
    }
    if (admission.kind === "webmail") {
      request.resume();
      return serveStatic(request, response, admission.file);
    }
    if (admission.kind === "mailpit") return mailpitApi(request, response, admission.backend, admission.url);
    const { account, route, url, base } = admission;
    switch (route.kind) {
      case "session":
        return sendJson(
          request,
          response,
          200,
          sessionResource(
            account,
            limits,
            { base },
            { implementation: `mailroom ${version()}`, limits: sieveLimits },
            maxDelayedSend,
          ),
        );
      case "api":
        return api(request, response, account);
      case "upload":
        return upload(request, response, account, route.accountId);
      case "download":
        return download(request, response, account, route, url);
      case "eventsource":
        return serveEventSource(request, response, account, url, { store, logger, channels });
      case "websocket":
        return sendProblem(
          request,
          response,
          problem(426, "Upgrade Required", "/jmap/ws is a WebSocket endpoint (RFC 8887)"),
          { Upgrade: "websocket", Connection: "Upgrade" },
        );
      case "admin":
        return admin(request, response, route.path, url, {
          userId: account.userId,
          address: account.address,
          viaToken: admission.viaToken,
          async checkPassword(password) {
            const step = await authenticator.verifyPassword(account.address, password, admission.context);
            if (step.kind === "success") return null;
            const refused = loginRefused({
              kind: "failure",
              reason: step.kind === "failure" ? step.reason : "malformed",
            });
            return { status: refused.problem.status, body: refused.problem, headers: refused.headers };
          },
        });
    }
  }

  async function admin(
    request: IncomingMessage,
    response: ServerResponse,
    path: string,
    url: URL,
    caller: Caller,
  ): Promise<void> {
    const body = await readBody(request, limits.maxSizeRequest);
    if (body === null) {
      return sendProblem(
        request,
        response,
        problem(413, "Content Too Large", `the request is larger than ${limits.maxSizeRequest} octets`),
        { Connection: "close" },
      );
    }
    const type = request.headers["content-type"];
    const answer = await adminApi({
      method: request.method ?? "GET",
      path,
      query: url.searchParams,
      contentType: type === undefined ? null : (type.split(";")[0] ?? "").trim().toLowerCase(),
      body,
      caller,
    });
    if (answer.status === 204) {
      response.writeHead(204, { "Cache-Control": "no-store" });
      response.end();
      return;
    }
    const isProblem = answer.status >= 400;
    return sendJson(
      request,
      response,
      answer.status,
      answer.body,
      isProblem ? "application/problem+json" : "application/json",
      answer.headers ?? {},
    );
  }

  async function handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const admission = await admit(request);
    if (admission.kind === "redirect") {
      socket.end(
        rawResponse(308, problem(308, "Permanent Redirect", "use HTTPS"), { Location: admission.location }),
      );
      return;
    }
    if (admission.kind === "refused") {
      socket.end(rawResponse(admission.problem.status, admission.problem, admission.headers));
      return;
    }
    if (admission.kind !== "admitted" || admission.route.kind !== "websocket") {
      const { pathname } = new URL(request.url ?? "/", "http://localhost");
      socket.end(rawResponse(400, problem(400, "Bad Request", `${pathname} is not a WebSocket endpoint`)));
      return;
    }
    if (draining) {
      socket.end(rawResponse(503, problem(503, "Service Unavailable", "the server is shutting down")));
      return;
    }
    websockets.upgrade(request, socket, head, admission.account);
  }

  async function withSlot<T>(
    table: Map<number, number>,
    userId: number,
    max: number,
    work: () => Promise<T>,
    refuse: () => Promise<T>,
  ): Promise<T> {
    const now = table.get(userId) ?? 0;
    if (now >= max) return refuse();
    table.set(userId, now + 1);
    try {
      return await work();
    } finally {
      const left = (table.get(userId) ?? 1) - 1;
      if (left === 0) table.delete(userId);
      else table.set(userId, left);
    }
  }

  async function mailpitApi(
    request: IncomingMessage,
    response: ServerResponse,
    backend: MailpitBackend,
    url: URL,
  ): Promise<void> {
    const body = await readBody(request, limits.maxSizeRequest);
    if (body === null) {
      response.writeHead(413, { "Content-Type": "text/plain; charset=utf-8", Connection: "close" });
      response.end(`the request is larger than ${limits.maxSizeRequest} octets; send fewer IDs at once`);
      return;
    }
    const answer = await answerMailpit(
      { method: request.method ?? "GET", path: url.pathname, query: url.searchParams, body },
      backend,
    );
    response.writeHead(answer.status, {
      "Content-Type": answer.contentType,
      "Content-Length": String(Buffer.byteLength(answer.body)),
      "Cache-Control": "no-store",
    });
    response.end(request.method === "HEAD" ? undefined : answer.body);
  }

  async function api(
    request: IncomingMessage,
    response: ServerResponse,
    account: AccountContext,
  ): Promise<void> {
    await withSlot(
      running.api,
      account.userId,
      limits.maxConcurrentRequests,
      async () => {
        const body = await readBody(request, limits.maxSizeRequest);
        if (body === null) {
          return sendProblem(
            request,
            response,
            requestError(
              "limit",
              `the request is larger than ${limits.maxSizeRequest} octets (maxSizeRequest)`,
              "maxSizeRequest",
            ),
            { Connection: "close" },
          );
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(body.toString("utf8"));
        } catch {
          return sendProblem(
            request,
            response,
            requestError("notJSON", "the request body is not valid JSON (RFC 8259, UTF-8)"),
          );
        }
        const stop = deps.metrics?.jmapRequest();
        const result = await dispatcher.dispatch(parsed, account).finally(() => stop?.());
        if (result.kind === "error") return sendProblem(request, response, result.error);
        return sendJson(request, response, 200, result.response);
      },
      () => {
        request.resume();
        return sendProblem(
          request,
          response,
          requestError(
            "limit",
            `this account already has ${limits.maxConcurrentRequests} API requests running; wait for one to finish`,
            "maxConcurrentRequests",
          ),
        );
      },
    );
  }

  async function upload(
    request: IncomingMessage,
    response: ServerResponse,
    account: AccountContext,
    accountId: string,
  ): Promise<void> {
    if (accountId !== account.accountId) {
      request.resume();
      return sendProblem(
        request,
        response,
        problem(404, "Not Found", `no account "${accountId}" is available to this user`),
      );
    }
    const declared = Number(request.headers["content-length"] ?? Number.NaN);
    if (declared > limits.maxSizeUpload) {
      request.resume();
      return sendProblem(request, response, uploadTooLarge(), { Connection: "close" });
    }
    await withSlot(
      running.upload,
      account.userId,
      limits.maxConcurrentUpload,
      async () => {
        const now = new Date();
        const usage = await store.blobs.uploadUsage(account.userId, now);
        if (
          usage.count >= limitsConfig.maxUploadsPerAccount ||
          usage.bytes >= limitsConfig.maxUploadBytesPerAccount
        ) {
          request.resume();
          return sendProblem(request, response, uploadsFull(usage));
        }
        const room = Math.min(limits.maxSizeUpload, limitsConfig.maxUploadBytesPerAccount - usage.bytes);
        const writer = await store.blobs.createBlobWriter();
        let size = 0;
        try {
          for await (const chunk of request) {
            size += (chunk as Buffer).length;
            if (size > room) {
              await writer.abort();
              const tooBig = room === limits.maxSizeUpload ? uploadTooLarge() : uploadsFull(usage);
              return sendProblem(request, response, tooBig, { Connection: "close" });
            }
            await writer.write(chunk as Buffer);
          }
          const blob = await writer.finish();
          const type =
            String(request.headers["content-type"] ?? "application/octet-stream").trim() ||
            "application/octet-stream";
          const recorded = await store.blobs.recordUpload({
            userId: account.userId,
            blobId: blob.id,
            type,
            expiresAt: new Date(now.getTime() + limitsConfig.uploadExpiry),
          });
          // RFC 8620 §6.1: the response names the blob, its type and size.
          return sendJson(request, response, 201, {
            accountId: account.accountId,
            blobId: recorded.blobId,
            type: recorded.type,
            size: recorded.size,
          });
        } catch (error) {
          await writer.abort().catch(() => undefined);
          if (error instanceof StoreError && error.code === "full") {
            return sendProblem(
              request,
              response,
              problem(507, "Insufficient Storage", "the server's disk is full; try again later"),
            );
          }
          throw error;
        }
      },
      () => {
        request.resume();
        return sendProblem(
          request,
          response,
          requestError(
            "limit",
            `this account already has ${limits.maxConcurrentUpload} uploads running; wait for one to finish`,
            "maxConcurrentUpload",
          ),
        );
      },
    );
  }

  /** RFC 8620 §6.1 leaves the status open; 413 says "too large" to HTTP tooling as well. */
  function uploadTooLarge() {
    return {
      ...requestError(
        "limit",
        `the upload is larger than ${limits.maxSizeUpload} octets (maxSizeUpload)`,
        "maxSizeUpload",
      ),
      status: 413,
    };
  }

  function uploadsFull(usage: { count: number; bytes: number }) {
    return problem(
      413,
      "Upload Storage Full",
      `this account keeps ${usage.count} uploads (${usage.bytes} octets) that no message uses yet, the most it may; use them or let them expire`,
    );
  }

  async function download(
    request: IncomingMessage,
    response: ServerResponse,
    account: AccountContext,
    route: { accountId: string; blobId: string; name: string },
    url: URL,
  ): Promise<void> {
    const missing = () =>
      sendProblem(
        request,
        response,
        problem(404, "Not Found", `no blob ${route.blobId} in account ${route.accountId}`),
      );
    if (route.accountId !== account.accountId) return missing();
    const accept = url.searchParams.get("accept");
    const asked = accept && MEDIA_TYPE.test(accept) ? accept : null;
    const head = (type: string, size: number) =>
      response.writeHead(200, {
        "Content-Type": type,
        "Content-Length": String(size),
        "Content-Disposition": contentDisposition(route.name),
        // A blob id names immutable bytes (RFC 8620 §6.2), so it may be cached, by this user only.
        "Cache-Control": "private, immutable, max-age=31536000",
      });
    if (parsePartBlobId(route.blobId) !== null || parseScriptBlobId(route.blobId) !== null) {
      // A body part is cut from its message on each read; messages are bounded by the size limit. A
      // script's blob is its text, bounded by maxScriptSize.
      const part = await readUserBlob(store, account.userId, route.blobId, new Date());
      if (part === null) return missing();
      head(asked ?? part.type ?? "application/octet-stream", part.bytes.length);
      response.end(request.method === "HEAD" ? undefined : part.bytes);
      return;
    }
    const blob = await store.blobs.findReadableBlob(account.userId, route.blobId, new Date());
    if (blob === null) return missing();
    head(asked ?? blob.type ?? "message/rfc822", blob.size);
    if (request.method === "HEAD") {
      response.end();
      return;
    }
    const body = store.blobs.readBlob(blob.blobId);
    await new Promise<void>((resolve) => {
      body.once("error", (error) => {
        logger.error({ err: error, blobId: blob.blobId }, "reading a blob for download failed");
        response.destroy();
        resolve();
      });
      response.once("close", () => {
        body.destroy();
        resolve();
      });
      body.pipe(response);
    });
  }

  const settleIfIdle = () => {
    if (sockets.size > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  };

  return {
    accept(socket, info) {
      if (draining) {
        socket.destroy();
        return;
      }
      connectionInfo.set(socket, info);
      sockets.add(socket);
      socket.once("close", () => {
        sockets.delete(socket);
        busy.delete(socket);
        settleIfIdle();
      });
      server.emit("connection", socket);
    },
    reject(socket, _info, reason) {
      socket.on("error", () => undefined);
      socket.end(
        rawResponse(
          503,
          problem(
            503,
            "Service Unavailable",
            reason === "shutting-down"
              ? "the server is shutting down"
              : "too many connections; try again shortly",
          ),
          { "Retry-After": "5" },
        ),
      );
      setTimeout(() => socket.destroy(), 5_000).unref();
    },
    drain() {
      draining = true;
      for (const end of channels) end();
      for (const socket of sockets) if (!busy.has(socket)) socket.end();
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        settleIfIdle();
      });
    },
    destroyAll() {
      for (const socket of sockets) socket.destroy();
      // Stops the timeout checks; it reports "not running" to the callback, since it never listened.
      server.close(() => undefined);
    },
  };
}

const MEDIA_TYPE = /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+$/;

/** RFC 6266 with RFC 8187's encoding for names that are not plain ASCII. */
function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

const HOST_HEADER = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;

/** The Host header when it is a host name or address with an optional port, else null. */
function validHost(header: string | undefined): string | null {
  return header !== undefined && HOST_HEADER.test(header) ? header : null;
}

function hostOnly(header: string | undefined): string | null {
  return header === undefined ? null : (HOST_HEADER.exec(header)?.[1] ?? null);
}

type Admission =
  | { kind: "refused"; problem: Problem; headers: Record<string, string> }
  | { kind: "redirect"; location: string }
  | { kind: "webmail"; file: string }
  | { kind: "mailpit"; backend: MailpitBackend; url: URL }
  | {
      kind: "admitted";
      account: AccountContext;
      route: ServedRoute;
      url: URL;
      base: string;
      /** Logged in with an app token rather than the account password. */
      viaToken: boolean;
      context: AuthContext;
    };

interface Refusal {
  problem: Problem;
  headers: Record<string, string>;
}

function refuse(body: Problem, headers: Record<string, string> = {}): Admission {
  return { kind: "refused", problem: body, headers };
}

type ServedRoute =
  | { kind: "session" | "api" | "eventsource" | "websocket" }
  /** The admin API: `path` is what follows /admin/api; any method, the API itself answers 405. */
  | { kind: "admin"; path: string }
  | { kind: "upload"; accountId: string }
  | { kind: "download"; accountId: string; blobId: string; name: string };

type Route = ServedRoute | { kind: "not-found" } | { kind: "bad-method"; allow: string };

function routeOf(method: string, pathname: string): Route {
  const read = method === "GET" || method === "HEAD";
  const only = (allowed: boolean, allow: string, route: Route): Route =>
    allowed ? route : { kind: "bad-method", allow };
  if (pathname === "/.well-known/jmap") return only(read, "GET, HEAD", { kind: "session" });
  if (pathname === "/admin/api" || pathname.startsWith("/admin/api/"))
    return { kind: "admin", path: pathname.slice("/admin/api".length) };
  if (pathname === "/jmap/api" || pathname === "/jmap/api/")
    return only(method === "POST", "POST", { kind: "api" });
  if (pathname === "/jmap/eventsource" || pathname === "/jmap/eventsource/")
    return only(read, "GET", { kind: "eventsource" });
  if (pathname === "/jmap/ws" || pathname === "/jmap/ws/") return only(read, "GET", { kind: "websocket" });
  const upload = /^\/jmap\/upload\/([^/]+)\/?$/.exec(pathname);
  if (upload)
    return only(method === "POST", "POST", { kind: "upload", accountId: decode(upload[1] as string) });
  const download = /^\/jmap\/download\/([^/]+)\/([^/]+)\/([^/]*)$/.exec(pathname);
  if (download) {
    return only(read, "GET, HEAD", {
      kind: "download",
      accountId: decode(download[1] as string),
      blobId: decode(download[2] as string),
      name: decode(download[3] as string),
    });
  }
  return { kind: "not-found" };
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** Reads the whole body, or null once it passes `max` octets (the rest is drained, not kept). */
async function readBody(request: IncomingMessage, max: number): Promise<Buffer | null> {
  if (Number(request.headers["content-length"] ?? 0) > max) {
    request.resume();
    return null;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > max) {
      request.resume();
      return null;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
