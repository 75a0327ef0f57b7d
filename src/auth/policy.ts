// When a listener lets clients authenticate at all. Each listener has its own policy
// ([listeners.NAME] auth = …); where it refuses, no mechanism is offered (SCRAM included) and every
// login command is refused, so a client never sends a password the server would not take.

import { BlockList, isIPv4, isIPv6 } from "node:net";

export const AUTH_POLICIES = ["off", "tls", "tls-or-loopback", "any"] as const;

/**
 * "off": never (the MX takes mail for local users only); "tls": only once TLS is in force;
 * "tls-or-loopback": also in cleartext from 127.0.0.0/8 and ::1 (webmail on the same host);
 * "any": also in cleartext from anywhere.
 */
export type AuthPolicy = (typeof AUTH_POLICIES)[number];

/** Why authentication is refused: turned off on this listener, or not before TLS. */
export type AuthRefusal = "disabled" | "needs-tls";

export interface PolicyContext {
  policy: AuthPolicy;
  remoteAddress: string;
  secure: boolean;
}

/** null when the client may authenticate here and now. */
export function authRefusal(context: PolicyContext): AuthRefusal | null {
  switch (context.policy) {
    case "off":
      return "disabled";
    case "any":
      return null;
    case "tls":
      return context.secure ? null : "needs-tls";
    case "tls-or-loopback":
      return context.secure || isLoopback(context.remoteAddress) ? null : "needs-tls";
  }
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/** 127.0.0.0/8, ::1, and IPv4-mapped 127.x (BlockList matches ::ffff:a.b.c.d against IPv4 rules). */
export function isLoopback(remoteAddress: string): boolean {
  if (isIPv4(remoteAddress)) return LOOPBACK.check(remoteAddress, "ipv4");
  if (isIPv6(remoteAddress)) return LOOPBACK.check(remoteAddress, "ipv6");
  return false;
}
