// The JMAP API endpoint without the HTTP (RFC 8620 §3): checks a parsed request, runs its method calls
// in order with result references resolved, and answers each with its response or a method-level error.

import type { Logger } from "pino";
import { StoreError } from "../store/errors.js";
import type { JmapLimits } from "./capabilities.js";
import { MethodError, type RequestError, requestError } from "./errors.js";
import { resolveReferences } from "./references.js";
import { sessionState } from "./session.js";
import type {
  AccountContext,
  Invocation,
  JmapRequest,
  JmapResponse,
  JsonObject,
  MethodContext,
  MethodRegistry,
} from "./types.js";

export interface DispatcherOptions {
  methods: MethodRegistry;
  /** Every capability the server knows (the session's `capabilities` keys). */
  capabilities: ReadonlySet<string>;
  limits: JmapLimits;
  /** Seconds of the longest delayed send, as the session resource shows it (its state depends on it). */
  maxDelayedSend?: number;
  logger?: Logger;
}

export type DispatchResult =
  | { kind: "response"; response: JmapResponse }
  | { kind: "error"; error: RequestError };

/** The request object if `body` is one (RFC 8620 §3.3), else the notRequest error. */
export function checkRequest(body: unknown): JmapRequest | RequestError {
  const notRequest = (why: string) =>
    requestError("notRequest", `the request is not a JMAP Request object: ${why}`);
  if (body === null || typeof body !== "object" || Array.isArray(body))
    return notRequest("it is not an object");
  const { using, methodCalls, createdIds } = body as Record<string, unknown>;
  if (!Array.isArray(using) || using.some((item) => typeof item !== "string")) {
    return notRequest('"using" must be an array of capability strings');
  }
  if (!Array.isArray(methodCalls)) return notRequest('"methodCalls" must be an array');
  for (const [index, call] of methodCalls.entries()) {
    if (
      !Array.isArray(call) ||
      call.length !== 3 ||
      typeof call[0] !== "string" ||
      call[1] === null ||
      typeof call[1] !== "object" ||
      Array.isArray(call[1]) ||
      typeof call[2] !== "string"
    ) {
      return notRequest(`methodCalls[${index}] must be [name, arguments object, call id]`);
    }
  }
  if (createdIds !== undefined) {
    if (
      createdIds === null ||
      typeof createdIds !== "object" ||
      Array.isArray(createdIds) ||
      Object.values(createdIds).some((id) => typeof id !== "string")
    ) {
      return notRequest('"createdIds" must be an object of ids');
    }
  }
  return body as JmapRequest;
}

export function createDispatcher(options: DispatcherOptions) {
  const { methods, capabilities, limits, logger } = options;

  async function dispatch(body: unknown, account: AccountContext): Promise<DispatchResult> {
    const request = checkRequest(body);
    if (!("methodCalls" in request)) return { kind: "error", error: request };
    const unknown = request.using.filter((capability) => !capabilities.has(capability));
    if (unknown.length > 0) {
      return {
        kind: "error",
        error: requestError(
          "unknownCapability",
          `this server does not support ${unknown.join(", ")}; the session resource lists what it supports`,
        ),
      };
    }
    if (request.methodCalls.length > limits.maxCallsInRequest) {
      return {
        kind: "error",
        error: requestError(
          "limit",
          `the request has ${request.methodCalls.length} method calls; at most ${limits.maxCallsInRequest} are allowed`,
          "maxCallsInRequest",
        ),
      };
    }

    const using = new Set(request.using);
    const createdIds = new Map(Object.entries(request.createdIds ?? {}));
    const responses: Invocation[] = [];
    for (const [name, args, callId] of request.methodCalls) {
      let answer: JsonObject;
      let answerName = name;
      const followUps: Array<[string, JsonObject]> = [];
      try {
        answer = await call(name, args, { account, using, createdIds, followUps }, responses);
      } catch (error) {
        answerName = "error";
        answer = methodErrorArguments(error, name);
      }
      responses.push([answerName, answer, callId]);
      for (const [followName, followAnswer] of followUps) responses.push([followName, followAnswer, callId]);
    }
    const response: JmapResponse = {
      methodResponses: responses,
      sessionState: sessionState(account, limits, options.maxDelayedSend ?? 0),
    };
    // RFC 8620 §3.4: only a request that sent createdIds gets them back, with this request's creations.
    if (request.createdIds !== undefined) response.createdIds = Object.fromEntries(createdIds);
    return { kind: "response", response };
  }

  async function call(
    name: string,
    args: JsonObject,
    context: MethodContext,
    earlier: readonly Invocation[],
  ): Promise<JsonObject> {
    const { account, using } = context;
    const method = methods.get(name);
    // RFC 8620 §3.6.2: a method of a capability the request did not name in "using" is unknown too.
    if (method === undefined || !using.has(method.capability)) {
      const why =
        method === undefined ? "this server has no such method" : `add "${method.capability}" to "using"`;
      throw new MethodError("unknownMethod", `${name}: ${why}`);
    }
    const resolved = resolveReferences(args, earlier);
    if (method.needsAccount) {
      const accountId = resolved.accountId;
      if (typeof accountId !== "string")
        throw new MethodError("invalidArguments", `${name} needs "accountId" (a string)`);
      if (accountId !== account.accountId) {
        throw new MethodError("accountNotFound", `no account "${accountId}" is available to this user`);
      }
      if (!account.capabilities.has(method.capability)) {
        throw new MethodError(
          "accountNotSupportedByMethod",
          `account "${accountId}" does not support ${name}`,
        );
      }
      if (method.writes && account.isReadOnly) {
        throw new MethodError("accountReadOnly", `account "${accountId}" is read-only`);
      }
    }
    return method.run(resolved, context);
  }

  function methodErrorArguments(error: unknown, name: string): JsonObject {
    if (error instanceof MethodError) return { type: error.type, description: error.description };
    if (error instanceof StoreError && error.code === "unavailable") {
      logger?.warn({ err: error, method: name }, "JMAP method could not reach the store");
      return {
        type: "serverUnavailable",
        description: "the mail store is unavailable right now; try again shortly",
      };
    }
    logger?.error({ err: error, method: name }, "JMAP method failed");
    return { type: "serverFail", description: `${name} failed on the server; the error is logged there` };
  }

  return { dispatch };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
