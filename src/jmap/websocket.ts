// JMAP over WebSocket (RFC 8887) without the socket: what a client's text message asks for, and the
// server's messages as text. The HTTP adapter owns the handshake and the frames.

import { type RequestError, requestError } from "./errors.js";

export const WEBSOCKET = "urn:ietf:params:jmap:websocket";
/** RFC 8887 §4.2: the Sec-WebSocket-Protocol value both sides must name. */
export const SUBPROTOCOL = "jmap";

export type ClientMessage =
  | { kind: "request"; id: string | undefined; request: Record<string, unknown> }
  /** `types`: null for every type the server pushes (RFC 8887 §4.3.5.2 "dataTypes": null). */
  | { kind: "push-enable"; types: string[] | null; pushState: string | undefined }
  | { kind: "push-disable" }
  | { kind: "error"; id: string | undefined; error: RequestError };

/** The session's capability object for WebSocket (RFC 8887 §3). */
export function websocketCapability(url: string): Record<string, unknown> {
  return { url, supportsPush: true };
}

/**
 * Reads one text message (RFC 8887 §4.3). Anything that is not JSON is notJSON; JSON that is not one of
 * the three client messages is notRequest; a Request's own checks are the dispatcher's.
 */
export function parseClientMessage(text: string): ClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {
      kind: "error",
      id: undefined,
      error: requestError("notJSON", "the message is not valid JSON (RFC 8259)"),
    };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return notRequest(undefined, "the message is not a JSON object");
  }
  const object = value as Record<string, unknown>;
  const type = object["@type"];
  const rawId = object.id;
  const id = typeof rawId === "string" ? rawId : undefined;
  if (rawId !== undefined && typeof rawId !== "string") return notRequest(undefined, '"id" must be a string');
  switch (type) {
    case "Request": {
      const { "@type": _type, id: _id, ...request } = object;
      return { kind: "request", id, request };
    }
    case "WebSocketPushEnable": {
      const { dataTypes, pushState } = object;
      const typesValid =
        dataTypes === null ||
        dataTypes === undefined ||
        (Array.isArray(dataTypes) && dataTypes.every((entry) => typeof entry === "string"));
      if (!typesValid) return notRequest(id, '"dataTypes" must be null or an array of type names');
      if (pushState !== undefined && typeof pushState !== "string") {
        return notRequest(id, '"pushState" must be a string');
      }
      return {
        kind: "push-enable",
        types: Array.isArray(dataTypes) ? (dataTypes as string[]) : null,
        pushState: pushState as string | undefined,
      };
    }
    case "WebSocketPushDisable":
      return { kind: "push-disable" };
    default:
      return notRequest(
        id,
        '"@type" must be "Request", "WebSocketPushEnable" or "WebSocketPushDisable" (RFC 8887 §4.3)',
      );
  }
}

function notRequest(id: string | undefined, why: string): ClientMessage {
  return { kind: "error", id, error: requestError("notRequest", `the message is not understood: ${why}`) };
}

/** RFC 8887 §4.3.3: the Response object with "@type" and, when the request had one, "requestId". */
export function responseMessage(response: object, requestId: string | undefined): string {
  return JSON.stringify({
    "@type": "Response",
    ...(requestId === undefined ? {} : { requestId }),
    ...response,
  });
}

/** RFC 8887 §4.3.4: problem details with "@type" and "requestId". */
export function requestErrorMessage(error: RequestError, requestId: string | undefined): string {
  return JSON.stringify({
    "@type": "RequestError",
    ...(requestId === undefined ? {} : { requestId }),
    ...error,
  });
}

/**
 * RFC 8887 §4.3.5.1: a StateChange with a pushState. The pushState is the account's states themselves,
 * encoded, so a client that reconnects with it is told at once about anything it missed.
 */
export function stateChangeMessage(
  accountId: string,
  changed: Record<string, string>,
  states: Record<string, string>,
): string {
  return JSON.stringify({
    "@type": "StateChange",
    changed: { [accountId]: changed },
    pushState: encodePushState(states),
  });
}

export function encodePushState(states: Record<string, string>): string {
  return Buffer.from(JSON.stringify(states)).toString("base64url");
}

/** The states a pushState stood for; null when it is not one of ours (then nothing is replayed). */
export function decodePushState(pushState: string): Record<string, string> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(pushState, "base64url").toString("utf8"));
    if (value === null || typeof value !== "object" || Array.isArray(value)) return null;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.some(([, state]) => typeof state !== "string")) return null;
    return Object.fromEntries(entries) as Record<string, string>;
  } catch {
    return null;
  }
}
