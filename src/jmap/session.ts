// The session resource (RFC 8620 §2): what the client learns at /.well-known/jmap. Its state is a hash of
// everything else in it, so it changes exactly when the session does.

import { createHash } from "node:crypto";
import type { ScriptLimits } from "../sieve-scripts/service.js";
import {
  CORE,
  coreCapability,
  type JmapLimits,
  MAIL,
  mailAccountCapability,
  QUOTA,
  SIEVE,
  SUBMISSION,
  sieveAccountCapability,
  sieveCapability,
  submissionAccountCapability,
  VACATION_RESPONSE,
} from "./capabilities.js";
import type { AccountContext } from "./types.js";
import { WEBSOCKET, websocketCapability } from "./websocket.js";

export interface SessionUrls {
  /** Origin the client reached us at, e.g. "https://mail.example.org:8443". */
  base: string;
}

/** What the session says of JMAP Sieve (RFC 9661 §1.2.1); without it, nothing. */
export interface SieveSession {
  implementation: string;
  limits: ScriptLimits;
}

/**
 * `maxDelayedSend`: seconds of the longest future release (0: none). The session's state follows it, not
 * the latest release date shown beside it, which moves with the clock.
 */
export function sessionResource(
  account: AccountContext,
  limits: JmapLimits,
  urls: SessionUrls,
  sieve?: SieveSession,
  maxDelayedSend = 0,
) {
  const accountCapabilities: Record<string, unknown> = {};
  if (account.capabilities.has(CORE)) accountCapabilities[CORE] = {};
  if (account.capabilities.has(MAIL)) accountCapabilities[MAIL] = mailAccountCapability();
  if (account.capabilities.has(SUBMISSION))
    accountCapabilities[SUBMISSION] = submissionAccountCapability(maxDelayedSend, new Date());
  if (account.capabilities.has(VACATION_RESPONSE)) accountCapabilities[VACATION_RESPONSE] = {};
  if (account.capabilities.has(QUOTA)) accountCapabilities[QUOTA] = {};
  const offersSieve = sieve !== undefined && account.capabilities.has(SIEVE);
  if (offersSieve) accountCapabilities[SIEVE] = sieveAccountCapability(sieve.limits);
  const session = {
    capabilities: {
      [CORE]: coreCapability(limits),
      [MAIL]: {},
      [SUBMISSION]: {},
      [VACATION_RESPONSE]: {},
      [QUOTA]: {},
      ...(offersSieve ? { [SIEVE]: sieveCapability(sieve.implementation) } : {}),
      // ws:// or wss:// as the client reached us: the same origin, so the same credentials and policy.
      [WEBSOCKET]: websocketCapability(`${urls.base.replace(/^http/, "ws")}/jmap/ws`),
    },
    accounts: {
      [account.accountId]: {
        name: account.address,
        isPersonal: true,
        isReadOnly: account.isReadOnly,
        accountCapabilities,
      },
    },
    primaryAccounts: {
      [MAIL]: account.accountId,
      [SUBMISSION]: account.accountId,
      [VACATION_RESPONSE]: account.accountId,
      [QUOTA]: account.accountId,
      ...(offersSieve ? { [SIEVE]: account.accountId } : {}),
    },
    username: account.address,
    apiUrl: `${urls.base}/jmap/api/`,
    downloadUrl: `${urls.base}/jmap/download/{accountId}/{blobId}/{name}?accept={type}`,
    uploadUrl: `${urls.base}/jmap/upload/{accountId}/`,
    eventSourceUrl: `${urls.base}/jmap/eventsource/?types={types}&closeafter={closeafter}&ping={ping}`,
  };
  return { ...session, state: sessionState(account, limits, maxDelayedSend) };
}

/** Independent of the URL the client used, so every response's sessionState matches the resource's. */
export function sessionState(account: AccountContext, limits: JmapLimits, maxDelayedSend = 0): string {
  const shape = JSON.stringify([
    account.accountId,
    account.address,
    account.isReadOnly,
    [...account.capabilities],
    limits,
    ...(maxDelayedSend > 0 ? [maxDelayedSend] : []),
  ]);
  return createHash("sha256").update(shape).digest("base64url").slice(0, 16);
}
