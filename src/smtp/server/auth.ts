// SMTP AUTH (RFC 4954): the wire side of a SASL exchange. Mechanisms themselves live in src/auth; this
// module base64-decodes responses, handles "*" and "=" and turns each SASL step into an SMTP reply.

import { type AuthRefusal, authRefusal } from "../../auth/policy.js";
import type {
  AuthContext,
  AuthenticatedUser,
  Authenticator,
  SaslExchange,
  SaslStep,
} from "../../auth/types.js";
import { type Reply, reply } from "../protocol/reply.js";

/** RFC 4954 §4: AUTH command and response lines may be up to 12288 octets. */
export const MAX_AUTH_LINE = 12288;

export type AuthProgress =
  /** Send the reply and wait for the next client line. */
  | { kind: "continue"; reply: Reply }
  /** The exchange is over: authenticated when `user` is set. */
  | { kind: "done"; reply: Reply; user: AuthenticatedUser | null };

function decodeBase64(text: string): Buffer | null {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  return Buffer.from(text, "base64");
}

const malformed = (): AuthProgress => ({
  kind: "done",
  reply: reply(501, "5.5.2", "Invalid base64 in the authentication data"),
  user: null,
});

/** One AUTH exchange of a session. */
export class SmtpAuthExchange {
  /** Set once the mechanism succeeded with additional data still to be acknowledged by the client. */
  private pendingUser: AuthenticatedUser | null = null;

  private constructor(private readonly exchange: SaslExchange) {}

  /** Handles the "AUTH mechanism [initial-response]" arguments. */
  static async begin(
    args: string,
    authenticator: Authenticator,
    context: AuthContext,
  ): Promise<{ exchange: SmtpAuthExchange | null; progress: AuthProgress }> {
    const parts = args.split(" ").filter((part) => part !== "");
    const mechanism = parts[0]?.toUpperCase();
    if (mechanism === undefined || parts.length > 2 || !/^[A-Z0-9_-]{1,20}$/.test(mechanism)) {
      return {
        exchange: null,
        progress: {
          kind: "done",
          reply: reply(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]"),
          user: null,
        },
      };
    }
    const refused = authRefusal(context);
    const sasl = refused === null ? authenticator.begin(mechanism, context) : null;
    if (sasl === null) {
      const refusal = refusalReply(refused, mechanism);
      return { exchange: null, progress: { kind: "done", reply: refusal, user: null } };
    }
    const exchange = new SmtpAuthExchange(sasl);
    const initialText = parts[1];
    // RFC 4954 §4: "=" is an initial response of zero length.
    const initial =
      initialText === undefined ? null : initialText === "=" ? Buffer.alloc(0) : decodeBase64(initialText);
    if (initialText !== undefined && initial === null) return { exchange: null, progress: malformed() };
    return { exchange, progress: await exchange.run(() => sasl.start(initial)) };
  }

  /** Handles one client response line during the exchange. */
  async respond(line: string): Promise<AuthProgress> {
    if (line === "*")
      return { kind: "done", reply: reply(501, "5.0.0", "Authentication cancelled"), user: null };
    const decoded = decodeBase64(line);
    if (decoded === null) return malformed();
    const pending = this.pendingUser;
    if (pending !== null) {
      // SMTP AUTH has no "additional data with success" (RFC 4954 §4): it went out as a 334 challenge,
      // and RFC 4422 §4 says the client then answers with an empty response.
      if (decoded.length > 0) return malformed();
      return success(pending);
    }
    return this.run(() => this.exchange.next(decoded));
  }

  private async run(step: () => Promise<SaslStep>): Promise<AuthProgress> {
    let result: SaslStep;
    try {
      result = await step();
    } catch {
      return {
        kind: "done",
        reply: reply(454, "4.7.0", "Temporary authentication failure; try again later"),
        user: null,
      };
    }
    switch (result.kind) {
      case "challenge":
        return { kind: "continue", reply: reply(334, null, result.data.toString("base64")) };
      case "success":
        if (result.data !== undefined && result.data.length > 0) {
          this.pendingUser = result.user;
          return { kind: "continue", reply: reply(334, null, result.data.toString("base64")) };
        }
        return success(result.user);
      case "failure":
        return { kind: "done", reply: failureReply(result.reason), user: null };
    }
  }
}

/** Why AUTH cannot start: the listener's policy, or a mechanism this server does not know. */
function refusalReply(refused: AuthRefusal | null, mechanism: string): Reply {
  switch (refused) {
    case "disabled":
      return reply(502, "5.5.1", "AUTH is not offered on this listener; log in on the submission port");
    case "needs-tls":
      // RFC 4954 §6: 538 when authentication needs an encrypted connection first.
      return reply(
        538,
        "5.7.11",
        "Encryption required for requested authentication mechanism; use STARTTLS first",
      );
    case null:
      return reply(504, "5.5.4", `Unrecognized authentication type ${mechanism}`);
  }
}

function success(user: AuthenticatedUser): AuthProgress {
  return { kind: "done", reply: reply(235, "2.7.0", "Authentication successful"), user };
}

function failureReply(reason: "malformed" | "bad-credentials" | "throttled" | "unavailable"): Reply {
  switch (reason) {
    case "malformed":
      return reply(501, "5.5.2", "Malformed authentication data");
    case "bad-credentials":
      return reply(535, "5.7.8", "Authentication credentials invalid");
    case "throttled":
      return reply(454, "4.7.0", "Too many failed authentications; try again later");
    case "unavailable":
      return reply(454, "4.7.0", "Temporary authentication failure; try again later");
  }
}
