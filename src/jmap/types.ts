// What the JMAP engine works with (RFC 8620 §3): requests and responses as parsed JSON, the
// authenticated account a request runs as, and the shape of a method.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** [name, arguments, method call id] (RFC 8620 §3.2). */
export type Invocation = [string, JsonObject, string];

export interface JmapRequest {
  using: string[];
  methodCalls: Invocation[];
  createdIds?: Record<string, string>;
}

export interface JmapResponse {
  methodResponses: Invocation[];
  createdIds?: Record<string, string>;
  sessionState: string;
}

/** The one account of the authenticated user (one account per user for now). */
export interface AccountContext {
  accountId: string;
  userId: number;
  /** The user's address: the session's username and the account's name. */
  address: string;
  isReadOnly: boolean;
  /** Capabilities this account has (the session's accountCapabilities keys). */
  capabilities: ReadonlySet<string>;
}

export interface MethodContext {
  account: AccountContext;
  /** The capabilities the request named in `using`. */
  using: ReadonlySet<string>;
  /**
   * Creation id → id of everything created so far in this request (RFC 8620 §3.3, §5.3), seeded from
   * the request's createdIds: a /set adds what it creates, and "#creationId" in later calls names it.
   */
  createdIds: Map<string, string>;
  /**
   * Responses a method adds after its own, with its call id (RFC 8621 §7.5: EmailSubmission/set's
   * implicit Email/set). Absent where nothing collects them.
   */
  followUps?: Array<[string, JsonObject]>;
}

export interface Method {
  /** The capability that defines it; the request must name it in `using`. */
  capability: string;
  /** Takes an accountId argument, checked against the user's account before the method runs. */
  needsAccount: boolean;
  /** Changes data: refused with accountReadOnly on a read-only account. */
  writes: boolean;
  run(args: JsonObject, context: MethodContext): Promise<JsonObject>;
}

export type MethodRegistry = ReadonlyMap<string, Method>;
