// JMAP over WebSocket (RFC 8887): the handshake on an already admitted (authenticated) request, then
// requests answered as they finish and push by WebSocketPushEnable, over the `ws` library's framing.

import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import type { DispatchResult } from "../jmap/dispatcher.js";
import { type RequestError, requestError } from "../jmap/errors.js";
import { accountPushTypes, PUSH_POLL_MS, PUSHABLE_TYPES, pushStates } from "../jmap/push.js";
import { changedStates, type States, watchStates } from "../jmap/state-watch.js";
import type { AccountContext } from "../jmap/types.js";
import {
  decodePushState,
  parseClientMessage,
  requestErrorMessage,
  responseMessage,
  SUBPROTOCOL,
  stateChangeMessage,
} from "../jmap/websocket.js";
import type { PushDeps } from "./eventsource.js";
import { problem } from "./problem.js";
import { rawResponse } from "./respond.js";

export interface WebSocketDeps extends PushDeps {
  maxSizeRequest: number;
  /** Runs one API request under the account's maxConcurrentRequests, or answers `refused`. */
  dispatch(account: AccountContext, request: unknown): Promise<DispatchResult | "refused">;
  maxConcurrentRequests: number;
}

/** RFC 6455 §7.4.1 close codes. */
const GOING_AWAY = 1001;
const UNSUPPORTED_DATA = 1003;
/** A peer that answers no ping for this long is gone; its connection is ended. */
const KEEPALIVE_MS = 60_000;

export function createWebSocketEndpoint(deps: WebSocketDeps) {
  const server = new WebSocketServer({
    noServer: true,
    // RFC 8620's maxSizeRequest bounds each message; ws refuses a larger one with close code 1009.
    maxPayload: deps.maxSizeRequest,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });

  function upgrade(request: IncomingMessage, socket: Duplex, head: Buffer, account: AccountContext): void {
    const offered = String(request.headers["sec-websocket-protocol"] ?? "")
      .split(",")
      .map((name) => name.trim());
    if (!offered.includes(SUBPROTOCOL)) {
      // RFC 8887 §4.2: the client names the "jmap" subprotocol; without it this is not a JMAP client.
      socket.end(
        rawResponse(
          400,
          problem(400, "Bad Request", 'a JMAP WebSocket names the subprotocol "jmap" (RFC 8887 §4.2)'),
        ),
      );
      return;
    }
    server.handleUpgrade(request, socket, head, (ws) => run(ws, account));
  }

  function run(ws: WebSocket, account: AccountContext): void {
    let stopPush: (() => void) | undefined;
    const send = (text: string) => {
      if (ws.readyState === ws.OPEN) ws.send(text);
    };
    const fail = (error: RequestError, id: string | undefined) => send(requestErrorMessage(error, id));

    const enablePush = async (wanted: string[] | null, pushState: string | undefined) => {
      stopPush?.();
      const types = accountPushTypes(wanted ?? PUSHABLE_TYPES, account.capabilities);
      const states = () => pushStates(deps.store, account.userId, types);
      const now = await states();
      // RFC 8887 §4.3.5.2: with a pushState the client asks for what changed since it; ours encodes the
      // states it stood for, so the difference is known and sent at once.
      const known = pushState === undefined ? null : decodePushState(pushState);
      const baseline: States = known ?? now;
      const missed = changedStates(baseline, now);
      if (Object.keys(missed).length > 0) send(stateChangeMessage(account.accountId, missed, now));
      stopPush = watchStates({
        events: deps.store.events,
        userId: account.userId,
        states,
        baseline: now,
        pollMs: PUSH_POLL_MS,
        onChange: (changed, all) => send(stateChangeMessage(account.accountId, changed, all)),
        onError: (error) => {
          deps.logger.warn({ err: error }, "could not compute a state for push; closing the WebSocket");
          ws.close(GOING_AWAY, "push failed on the server");
        },
      });
    };

    ws.on("message", (data, isBinary) => {
      if (isBinary) {
        // RFC 8887 §4.1: JMAP messages are UTF-8 text frames.
        ws.close(UNSUPPORTED_DATA, "JMAP messages are text frames (RFC 8887 §4.1)");
        return;
      }
      const message = parseClientMessage(data.toString());
      switch (message.kind) {
        case "error":
          return fail(message.error, message.id);
        case "push-disable":
          stopPush?.();
          stopPush = undefined;
          return;
        case "push-enable":
          enablePush(message.types, message.pushState).catch((error: unknown) => {
            deps.logger.warn({ err: error }, "could not start WebSocket push");
            ws.close(GOING_AWAY, "push failed on the server");
          });
          return;
        case "request":
          deps
            .dispatch(account, message.request)
            .then((result) => {
              if (result === "refused") {
                return fail(
                  requestError(
                    "limit",
                    `this account already has ${deps.maxConcurrentRequests} API requests running; wait for one to finish`,
                    "maxConcurrentRequests",
                  ),
                  message.id,
                );
              }
              if (result.kind === "error") return fail(result.error, message.id);
              send(responseMessage(result.response, message.id));
            })
            .catch((error: unknown) => {
              deps.logger.error({ err: error }, "JMAP request over WebSocket failed");
              ws.close(1011, "the server failed on this request; the error is logged there");
            });
      }
    });

    let alive = true;
    ws.on("pong", () => {
      alive = true;
    });
    const keepalive = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
    }, KEEPALIVE_MS);
    const end = () => ws.close(GOING_AWAY, "the server is shutting down");
    deps.channels.add(end);
    ws.once("close", () => {
      clearInterval(keepalive);
      deps.channels.delete(end);
      stopPush?.();
    });
    ws.on("error", (error) => deps.logger.debug({ err: error }, "WebSocket error"));
  }

  return { upgrade };
}
