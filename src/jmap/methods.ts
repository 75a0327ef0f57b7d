// Every JMAP method mailroom serves, by name.

import { type ScriptLimits, ScriptService } from "../sieve-scripts/service.js";
import type { Store } from "../store/types.js";
import { CORE, type JmapLimits, MAIL, QUOTA, SIEVE, SUBMISSION, VACATION_RESPONSE } from "./capabilities.js";
import { blobCopy, coreEcho } from "./core.js";
import { emailCopy } from "./email-copy.js";
import { emailImport } from "./email-import.js";
import { emailChanges, emailGet, emailQuery, emailQueryChanges } from "./email-methods.js";
import { emailParse } from "./email-parse.js";
import { emailSet } from "./email-set.js";
import { identityChanges, identityGet, identitySet } from "./identity.js";
import { mailboxChanges, mailboxGet, mailboxQuery, mailboxQueryChanges } from "./mailbox.js";
import { mailboxSet } from "./mailbox-set.js";
import { type PushSender, pushSubscriptionGet, pushSubscriptionSet } from "./push-subscription.js";
import { quotaChanges, quotaGet, quotaQuery, quotaQueryChanges } from "./quota.js";
import { searchSnippetGet } from "./search-snippet.js";
import {
  sieveScriptChanges,
  sieveScriptGet,
  sieveScriptQuery,
  sieveScriptSet,
  sieveScriptValidate,
} from "./sieve-script.js";
import {
  emailSubmissionChanges,
  emailSubmissionGet,
  emailSubmissionQuery,
  emailSubmissionQueryChanges,
  emailSubmissionSet,
  type SubmissionDeps,
} from "./submission.js";
import { threadChanges, threadGet } from "./thread.js";
import type { Method, MethodRegistry } from "./types.js";
import { vacationResponseGet, vacationResponseSet } from "./vacation-response.js";
import { WEBSOCKET } from "./websocket.js";

export const CAPABILITIES: ReadonlySet<string> = new Set([
  CORE,
  MAIL,
  SUBMISSION,
  VACATION_RESPONSE,
  QUOTA,
  SIEVE,
  WEBSOCKET,
]);

export type JmapStore = Pick<
  Store,
  | "mailboxes"
  | "blobs"
  | "emails"
  | "messages"
  | "vacation"
  | "quotas"
  | "search"
  | "identities"
  | "directory"
  | "submissions"
  | "pushSubscriptions"
  | "sieveScripts"
  /** EmailSubmission takes a canceled submission's entries back (undoStatus, RFC 8621 §7). */
  | "queue"
>;

/**
 * `sending` is how EmailSubmission reaches delivery, `push` how PushSubscription verifies and notifies;
 * without one, its type's methods are absent. `sieve` holds the script limits ManageSieve keeps too.
 */
export function jmapMethods(
  store: JmapStore,
  limits: JmapLimits,
  sending?: Omit<SubmissionDeps, "store">,
  push?: PushSender,
  sieve?: ScriptLimits,
): MethodRegistry {
  const { maxObjectsInGet, maxObjectsInSet } = limits;
  const pushMethods: Array<[string, Method]> = push
    ? [
        [
          "PushSubscription/get",
          pushSubscriptionGet({ store, sender: push, maxObjectsInGet, maxObjectsInSet }),
        ],
        [
          "PushSubscription/set",
          pushSubscriptionSet({ store, sender: push, maxObjectsInGet, maxObjectsInSet }),
        ],
      ]
    : [];
  const submission = sending && { store, ...sending };
  const submissionMethods: Array<[string, Method]> = submission
    ? [
        ["EmailSubmission/get", emailSubmissionGet(submission, limits.maxObjectsInGet)],
        ["EmailSubmission/changes", emailSubmissionChanges(submission)],
        ["EmailSubmission/query", emailSubmissionQuery(submission, limits.maxObjectsInGet)],
        ["EmailSubmission/queryChanges", emailSubmissionQueryChanges],
        ["EmailSubmission/set", emailSubmissionSet(submission, limits.maxObjectsInSet)],
      ]
    : [];
  const scripts = sieve && { store, scripts: new ScriptService(store, sieve) };
  const sieveMethods: Array<[string, Method]> = scripts
    ? [
        ["SieveScript/get", sieveScriptGet(scripts, maxObjectsInGet)],
        ["SieveScript/changes", sieveScriptChanges(scripts)],
        ["SieveScript/query", sieveScriptQuery(scripts)],
        ["SieveScript/set", sieveScriptSet(scripts, maxObjectsInSet)],
        ["SieveScript/validate", sieveScriptValidate(scripts)],
      ]
    : [];
  return new Map<string, Method>([
    ["Core/echo", coreEcho],
    ["Blob/copy", blobCopy(store, limits.maxObjectsInSet)],
    ["Mailbox/get", mailboxGet(store, limits.maxObjectsInGet)],
    ["Mailbox/query", mailboxQuery(store)],
    ["Mailbox/queryChanges", mailboxQueryChanges(store)],
    ["Mailbox/changes", mailboxChanges(store)],
    ["Mailbox/set", mailboxSet(store, limits.maxObjectsInSet)],
    ["Email/get", emailGet(store, limits.maxObjectsInGet)],
    ["Email/changes", emailChanges(store)],
    ["Email/query", emailQuery(store)],
    ["Email/queryChanges", emailQueryChanges(store)],
    ["Email/parse", emailParse(store, limits.maxObjectsInGet)],
    ["Email/set", emailSet(store, limits.maxObjectsInSet)],
    ["Email/copy", emailCopy(limits.maxObjectsInSet)],
    ["Email/import", emailImport(store, limits.maxObjectsInSet)],
    ["SearchSnippet/get", searchSnippetGet(store, limits.maxObjectsInGet)],
    ["Thread/get", threadGet(store, limits.maxObjectsInGet)],
    ["Thread/changes", threadChanges(store)],
    ["Identity/get", identityGet(store, limits.maxObjectsInGet)],
    ["Identity/changes", identityChanges(store)],
    ["Identity/set", identitySet(store, limits.maxObjectsInSet)],
    ["VacationResponse/get", vacationResponseGet(store, limits.maxObjectsInGet)],
    ["VacationResponse/set", vacationResponseSet(store, limits.maxObjectsInSet)],
    ["Quota/get", quotaGet(store, maxObjectsInGet)],
    ["Quota/changes", quotaChanges(store)],
    ["Quota/query", quotaQuery(store)],
    ["Quota/queryChanges", quotaQueryChanges(store)],
    ...submissionMethods,
    ...pushMethods,
    ...sieveMethods,
  ]);
}
