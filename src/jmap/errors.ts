// JMAP errors: request-level ones answered as RFC 7807 problem details (RFC 8620 §3.6.1) and method-level
// ones answered as an "error" invocation in place of the method's response (§3.6.2).

export type RequestErrorType = "unknownCapability" | "notJSON" | "notRequest" | "limit";

/** A problem details object (RFC 7807) for a request-level error; `status` is the HTTP status. */
export interface RequestError {
  type: `urn:ietf:params:jmap:error:${RequestErrorType}`;
  status: number;
  detail: string;
  /** For "limit": which limit of the session's core capability was exceeded. */
  limit?: string;
}

export function requestError(type: RequestErrorType, detail: string, limit?: string): RequestError {
  return {
    type: `urn:ietf:params:jmap:error:${type}`,
    status: 400,
    detail,
    ...(limit === undefined ? {} : { limit }),
  };
}

export type MethodErrorType =
  | "serverUnavailable"
  | "serverFail"
  | "serverPartialFail"
  | "unknownMethod"
  | "invalidArguments"
  | "invalidResultReference"
  | "forbidden"
  | "accountNotFound"
  | "fromAccountNotFound"
  | "accountNotSupportedByMethod"
  | "accountReadOnly"
  | "requestTooLarge"
  | "unsupportedFilter"
  | "unsupportedSort"
  | "anchorNotFound"
  | "cannotCalculateChanges"
  // RFC 8620 §5.6: a /queryChanges with more changes than maxChanges.
  | "tooManyChanges"
  | "stateMismatch";

/** Thrown by a method (or the dispatcher for it): becomes ["error", {type, description}, callId]. */
export class MethodError extends Error {
  constructor(
    readonly type: MethodErrorType,
    readonly description: string,
  ) {
    super(description);
    this.name = "MethodError";
  }
}

export function invalidArguments(description: string): MethodError {
  return new MethodError("invalidArguments", description);
}
