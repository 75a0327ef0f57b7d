// Push by EventSource (RFC 8620 §7.3): a text/event-stream of StateChange events for one account, with
// the pings the client asked for, until the client or a drain ends it.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { MethodError } from "../jmap/errors.js";
import {
  accountPushTypes,
  PUSH_POLL_MS,
  parsePushParameters,
  pingFrame,
  pushStates,
  stateFrame,
} from "../jmap/push.js";
import { watchStates } from "../jmap/state-watch.js";
import type { AccountContext } from "../jmap/types.js";
import type { Store } from "../store/types.js";
import { problem } from "./problem.js";
import { sendProblem } from "./respond.js";

export interface PushDeps {
  store: Pick<Store, "emails" | "events" | "quotas" | "sieveScripts" | "identities">;
  logger: Logger;
  /** How to end each open push channel, so a drain does not wait for clients that never hang up. */
  channels: Set<() => void>;
}

export async function serveEventSource(
  request: IncomingMessage,
  response: ServerResponse,
  account: AccountContext,
  url: URL,
  deps: PushDeps,
): Promise<void> {
  const { store, logger, channels } = deps;
  const parameters = parsePushParameters(url.searchParams);
  if (parameters instanceof MethodError) {
    return sendProblem(request, response, problem(400, "Bad Request", parameters.description));
  }
  const types = accountPushTypes(parameters.types, account.capabilities);
  const states = () => pushStates(store, account.userId, types);
  const baseline = await states();
  response.writeHead(200, {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-store",
    // Reverse proxies would otherwise hold events back to fill their buffers.
    "X-Accel-Buffering": "no",
  });
  response.flushHeaders();
  const stop = watchStates({
    events: store.events,
    userId: account.userId,
    states,
    baseline,
    pollMs: PUSH_POLL_MS,
    onChange: (changed) => {
      if (response.writableEnded) return;
      response.write(stateFrame(account.accountId, changed));
      if (parameters.closeAfterState) response.end();
    },
    onError: (error) => {
      logger.warn({ err: error }, "could not compute a state for push; ending the event stream");
      response.end();
    },
  });
  const ping =
    parameters.ping > 0
      ? setInterval(() => response.write(pingFrame(parameters.ping)), parameters.ping * 1000)
      : undefined;
  const end = () => response.end();
  channels.add(end);
  await new Promise<void>((resolve) => response.once("close", resolve));
  channels.delete(end);
  stop();
  clearInterval(ping);
}
