// The capabilities mailroom offers and the limits it advertises in the session (RFC 8620 §2, RFC 8621
// §1.3). Every advertised limit is enforced: the dispatcher, the methods or the HTTP adapter.

import { futureReleaseKeyword } from "../delivery/future-release.js";
import { CAPABILITIES as SIEVE_EXTENSIONS, DEFAULT_LIMITS as SIEVE_LIMITS } from "../sieve/index.js";
import type { ScriptLimits } from "../sieve-scripts/service.js";
import { MAX_SCRIPT_NAME } from "../store/sieve-scripts.js";
import { SORT_PROPERTIES } from "./email-query.js";

export const CORE = "urn:ietf:params:jmap:core";
export const MAIL = "urn:ietf:params:jmap:mail";
/** RFC 8621 §1.3.2: Identity and EmailSubmission. */
export const SUBMISSION = "urn:ietf:params:jmap:submission";
/** RFC 8621 §1.3.3: VacationResponse/get and /set; its capability objects are empty. */
export const VACATION_RESPONSE = "urn:ietf:params:jmap:vacationresponse";
/** RFC 9425 §2.1: Quota/get, /changes, /query, /queryChanges; its capability objects are empty. */
export const QUOTA = "urn:ietf:params:jmap:quota";

export interface JmapLimits {
  maxSizeUpload: number;
  maxConcurrentUpload: number;
  maxSizeRequest: number;
  maxConcurrentRequests: number;
  maxCallsInRequest: number;
  maxObjectsInGet: number;
  maxObjectsInSet: number;
}

export const DEFAULT_LIMITS: Omit<JmapLimits, "maxSizeUpload" | "maxSizeRequest"> = {
  maxConcurrentUpload: 4,
  maxConcurrentRequests: 4,
  maxCallsInRequest: 32,
  maxObjectsInGet: 500,
  maxObjectsInSet: 500,
};

export function coreCapability(limits: JmapLimits): Record<string, unknown> {
  return {
    ...limits,
    // RFC 4790 names; Mailbox/query compares names with this one only.
    collationAlgorithms: ["i;unicode-casemap"],
  };
}

/** Octets of a Mailbox's name (its own level, not the path above it), as Mailbox/set enforces. */
export const MAX_MAILBOX_NAME_BYTES = 255;

/** RFC 8621 §1.3.1: the mail capability of an account. */
export function mailAccountCapability(): Record<string, unknown> {
  return {
    // An email is one mailbox entry, as in IMAP (RFC 8621 §1.3.1 allows 1).
    maxMailboxesPerEmail: 1,
    maxMailboxDepth: null,
    maxSizeMailboxName: MAX_MAILBOX_NAME_BYTES,
    maxSizeAttachmentsPerEmail: 25 * 1024 * 1024,
    emailQuerySortOptions: [...SORT_PROPERTIES],
    mayCreateTopLevelMailbox: true,
  };
}

/**
 * RFC 8621 §1.3.2: the submission capability of an account. `maxDelayedSend` is the longest hold in
 * seconds ([submission] max_future_release); above 0, submissionExtensions offers FUTURERELEASE with
 * the arguments its EHLO line has (RFC 4865 §3), whose HOLDFOR/HOLDUNTIL envelope.mailFrom takes.
 */
export function submissionAccountCapability(maxDelayedSend: number, now: Date): Record<string, unknown> {
  if (maxDelayedSend <= 0) return { maxDelayedSend: 0, submissionExtensions: {} };
  const [, ...args] = futureReleaseKeyword(maxDelayedSend, now).split(" ");
  return { maxDelayedSend, submissionExtensions: { FUTURERELEASE: args } };
}

/** RFC 9661 §1.2: SieveScript/get, /changes, /query, /set and /validate. */
export const SIEVE = "urn:ietf:params:jmap:sieve";

/** RFC 9661 §1.2.1: the session's sieve capability names the implementation; the limits are per account. */
export function sieveCapability(implementation: string): Record<string, unknown> {
  return { implementation };
}

/**
 * RFC 9661 §1.2.1: an account's sieve capability — the limits ManageSieve keeps too (one script
 * service enforces both), and the extensions the delivery engine runs. No enotify or extlists, so
 * notificationMethods and externalLists are null.
 */
export function sieveAccountCapability(limits: ScriptLimits): Record<string, unknown> {
  return {
    maxSizeScriptName: MAX_SCRIPT_NAME,
    maxSizeScript: limits.maxScriptSize,
    maxNumberScripts: limits.maxScripts,
    maxNumberRedirects: SIEVE_LIMITS.maxRedirects,
    sieveExtensions: [...SIEVE_EXTENSIONS],
    notificationMethods: null,
    externalLists: null,
  };
}
