// Who is asking: HTTP Basic (RFC 7617) with the account password or an app token as the password, or
// Bearer (RFC 6750) with an app token. Every check goes through the authenticator, so failures are
// throttled exactly like IMAP's.

import { looksLikeToken } from "../auth/tokens.js";
import type { AuthContext, AuthenticatedUser, Authenticator, SaslFailure, SaslStep } from "../auth/types.js";

export type HttpAuthResult =
  /** `viaToken`: the request logged in with an app token, not the account password. */
  | { kind: "user"; user: AuthenticatedUser; viaToken: boolean }
  /** No credentials, or none this server reads: the client should be asked for them. */
  | { kind: "missing" }
  | { kind: "failure"; reason: SaslFailure };

export async function authenticateRequest(
  header: string | undefined,
  authenticator: Authenticator,
  context: AuthContext,
): Promise<HttpAuthResult> {
  if (header === undefined) return { kind: "missing" };
  const space = header.indexOf(" ");
  const scheme = (space === -1 ? header : header.slice(0, space)).toLowerCase();
  const value = space === -1 ? "" : header.slice(space + 1).trim();
  let step: SaslStep;
  let viaToken = true;
  if (scheme === "basic") {
    const decoded = Buffer.from(value, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon === -1) return { kind: "failure", reason: "malformed" };
    const username = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    viaToken = looksLikeToken(password);
    step = viaToken
      ? await authenticator.verifyToken(password, context, username)
      : await authenticator.verifyPassword(username, password, context);
  } else if (scheme === "bearer") {
    step = await authenticator.verifyToken(value, context);
  } else {
    return { kind: "missing" };
  }
  if (step.kind === "success") return { kind: "user", user: step.user, viaToken };
  if (step.kind === "failure") return { kind: "failure", reason: step.reason };
  return { kind: "failure", reason: "malformed" };
}
