// EmailSubmission (RFC 8621 §7): sending an Email the user has, through the same path as port 587 —
// the envelope's sender and recipients get the delivery agent's verdicts, then delivery/submit.ts checks
// From:/Sender:, DKIM-signs and commits to local mailboxes and the outbound queue. The record is kept by
// the store's submissions part; the relay writes each remote recipient's outcome into it, which is the
// deliveryStatus a client reads. undoStatus (§7) is "pending" while every recipient is remote and still
// waits in the queue (a remote that defers keeps it there), "final" once any recipient has it (local
// ones at once); an update to "canceled" takes every queue entry back at once, or, when one is being
// delivered or none is left, is refused with cannotUnsend (§7.5).
//
// Delayed send (§7, RFC 4865): envelope.mailFrom.parameters may carry HOLDFOR or HOLDUNTIL, checked as
// port 587 checks them. The message is then held in the queue for every recipient, local ones too, so
// the submission stays "pending" (and can be canceled) until its sendAt, the release time.

import { formatDateTime, holdRequest } from "../delivery/future-release.js";
import { ownsAddress } from "../delivery/route.js";
import { submitReceived } from "../delivery/submit.js";
import type { AcceptedRecipient, DeliveryAgent } from "../delivery/types.js";
import { parseAddresses } from "../mail/address-list.js";
import { headerFields, rfc5322Date, toCrlf } from "../mail/compose.js";
import { readHeaderBlock } from "../mail/headers.js";
import type {
  DeliveryStatus,
  Store,
  StoredSubmission,
  SubmissionAddress,
  SubmissionEnvelope,
} from "../store/types.js";
import { StoreError } from "../store/types.js";
import { SUBMISSION } from "./capabilities.js";
import { emailSet } from "./email-set.js";
import { invalidArguments, MethodError } from "./errors.js";
import { identitiesOf } from "./identity.js";
import { emailIdOf, parseEmailId, threadIdOf } from "./ids.js";
import { type ListedType, listedChanges, listedGet, stateString } from "./listed.js";
import { applyWindow, readWindow } from "./query-window.js";
import {
  attempt,
  checkState,
  invalidProperty,
  readSetArguments,
  refuse,
  resolveId,
  SetRefusal,
  SetResults,
} from "./set.js";
import type { Json, JsonObject, Method, MethodContext } from "./types.js";

export type SubmissionMethodStore = Pick<
  Store,
  | "submissions"
  | "identities"
  | "directory"
  | "emails"
  | "blobs"
  | "sieveScripts"
  | "messages"
  | "mailboxes"
  | "quotas"
  | "queue"
>;

/** What the recipients of a submission taken back from the queue are told (RFC 8621 §7 DeliveryStatus). */
const CANCELED: DeliveryStatus = {
  smtpReply: "554 5.7.0 canceled by the sender before delivery",
  delivered: "no",
  displayed: "unknown",
};

function undoStatusOf(submission: StoredSubmission): "pending" | "final" | "canceled" {
  if (submission.canceled) return "canceled";
  const statuses = Object.values(submission.deliveryStatus);
  return statuses.length > 0 && statuses.every((status) => status.delivered === "queued")
    ? "pending"
    : "final";
}

export interface SubmissionDeps {
  store: SubmissionMethodStore;
  /** The delivery agent port 587 uses, so both ways of sending obey the same rules. */
  agent: DeliveryAgent;
  /** Named in the Received field this server adds. */
  hostname: string;
  /**
   * Starts the relay. The agent is given no onQueued of its own: the relay is woken only once the
   * submission is recorded, so the outcome it reports has a record to land in.
   */
  wakeQueue?: () => void;
  /** Seconds: the longest hold HOLDFOR/HOLDUNTIL may ask for (the capability's maxDelayedSend); 0 or absent, none. */
  maxDelayedSend?: number;
}

const PROPERTIES = [
  "id",
  "identityId",
  "emailId",
  "threadId",
  "envelope",
  "sendAt",
  "undoStatus",
  "deliveryStatus",
  "dsnBlobIds",
  "mdnBlobIds",
] as const;

const TYPE: ListedType = {
  name: "EmailSubmission",
  capability: SUBMISSION,
  properties: PROPERTIES,
  stateLetter: "u",
  idOf: (id) => `U${id}`,
};
const idOf = TYPE.idOf;
const storedIdOf = (id: string | null) =>
  id !== null && /^U[1-9][0-9]{0,15}$/.test(id) ? Number(id.slice(1)) : null;

function toObject(submission: StoredSubmission): Record<(typeof PROPERTIES)[number], Json> {
  return {
    id: idOf(submission.id),
    identityId: submission.identityId,
    emailId: submission.emailId,
    threadId: submission.threadId,
    envelope: submission.envelope as unknown as JsonObject,
    sendAt: submission.sendAt.toISOString().replace(/\.\d{3}Z$/, "Z"),
    undoStatus: undoStatusOf(submission),
    deliveryStatus: submission.deliveryStatus as unknown as JsonObject,
    // No DSNs or MDNs are matched to submissions yet.
    dsnBlobIds: [],
    mdnBlobIds: [],
  };
}

async function submissionsOf(store: SubmissionMethodStore, userId: number) {
  const { state, submissions } = await store.submissions.list(userId);
  return { state: stateString(TYPE, state), list: submissions.map(toObject) };
}

export function emailSubmissionGet(deps: SubmissionDeps, maxObjects: number): Method {
  return listedGet(TYPE, maxObjects, (userId) => submissionsOf(deps.store, userId));
}

export function emailSubmissionChanges(deps: SubmissionDeps): Method {
  return listedChanges(TYPE, (userId, since) => deps.store.submissions.changes(userId, since));
}

const FILTERS = ["identityIds", "emailIds", "threadIds", "undoStatus", "before", "after"];
const SORTS = ["emailId", "threadId", "sentAt"];

/** The §7.3 FilterCondition as a predicate; operators are not offered (RFC 8620 §5.5 allows that). */
function readFilter(filter: Json | undefined): (submission: JsonObject) => boolean {
  if (filter === undefined || filter === null) return () => true;
  if (typeof filter !== "object" || Array.isArray(filter))
    throw invalidArguments('"filter" must be an object');
  const unknown = Object.keys(filter).filter((key) => !FILTERS.includes(key));
  if (unknown.length > 0) {
    throw new MethodError(
      "unsupportedFilter",
      `EmailSubmission/query cannot filter by ${unknown.join(", ")}`,
    );
  }
  const tests: Array<(submission: JsonObject) => boolean> = [];
  for (const [key, property] of [
    ["identityIds", "identityId"],
    ["emailIds", "emailId"],
    ["threadIds", "threadId"],
  ] as const) {
    const ids = filter[key];
    if (ids === undefined) continue;
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== "string"))
      throw invalidArguments(`"${key}" must be a list of ids`);
    tests.push((submission) => ids.includes(submission[property] as string));
  }
  if (filter.undoStatus !== undefined)
    tests.push((submission) => submission.undoStatus === filter.undoStatus);
  for (const key of ["before", "after"] as const) {
    const value = filter[key];
    if (value === undefined) continue;
    if (typeof value !== "string" || Number.isNaN(Date.parse(value)))
      throw invalidArguments(`"${key}" must be a UTCDate`);
    const at = Date.parse(value);
    tests.push((submission) =>
      key === "before"
        ? Date.parse(submission.sendAt as string) < at
        : Date.parse(submission.sendAt as string) >= at,
    );
  }
  return (submission) => tests.every((test) => test(submission));
}

function readSort(sort: Json | undefined): (a: JsonObject, b: JsonObject) => number {
  if (sort === undefined || sort === null) return () => 0;
  if (!Array.isArray(sort)) throw invalidArguments('"sort" must be a list of comparators');
  const comparators = sort.map((comparator) => {
    if (comparator === null || typeof comparator !== "object" || Array.isArray(comparator))
      throw invalidArguments("a comparator must be an object");
    const { property, isAscending } = comparator;
    if (typeof property !== "string" || !SORTS.includes(property))
      throw new MethodError("unsupportedSort", `EmailSubmission/query sorts by ${SORTS.join(", ")}`);
    const key = property === "sentAt" ? "sendAt" : property;
    const sign = isAscending === false ? -1 : 1;
    return (a: JsonObject, b: JsonObject) => {
      const [x, y] = [String(a[key]), String(b[key])];
      // Ids sort by their number, so E10 comes after E9.
      const order =
        key === "sendAt" ? x.localeCompare(y) : Number(x.slice(1)) - Number(y.slice(1)) || x.localeCompare(y);
      return sign * order;
    };
  });
  return (a, b) => {
    for (const compare of comparators) {
      const order = compare(a, b);
      if (order !== 0) return order;
    }
    return 0;
  };
}

export function emailSubmissionQuery(deps: SubmissionDeps, maxObjects: number): Method {
  return {
    capability: SUBMISSION,
    needsAccount: true,
    writes: false,
    async run(args, context) {
      const matches = readFilter(args.filter);
      const compare = readSort(args.sort);
      const window = readWindow(args);
      const { state, list } = await submissionsOf(deps.store, context.account.userId);
      // Oldest first, then the requested order (a stable sort keeps ties in creation order).
      const ids = list
        .filter(matches)
        .sort(compare)
        .map((submission) => submission.id as string);
      return {
        accountId: context.account.accountId,
        queryState: state,
        canCalculateChanges: false,
        ...applyWindow(ids, window, maxObjects),
      };
    },
  };
}

export const emailSubmissionQueryChanges: Method = {
  capability: SUBMISSION,
  needsAccount: true,
  writes: false,
  async run() {
    throw new MethodError(
      "cannotCalculateChanges",
      "this server does not keep query results; run EmailSubmission/query again",
    );
  },
};

/** The MAIL FROM parameters submissionExtensions offers (RFC 4865's), when delayed send is on. */
const MAIL_FROM_PARAMETERS = ["HOLDFOR", "HOLDUNTIL"];

/**
 * An envelope Address (§7). Parameters are taken only on mailFrom and only those submissionExtensions
 * offers (FUTURERELEASE's, when maxDelayedSend is above 0); anything else is refused rather than
 * silently dropped. Their names are kept upper-cased, as SMTP compares them case-insensitively.
 */
function readAddress(value: Json | undefined, allowed: readonly string[]): SubmissionAddress {
  if (value === null || typeof value !== "object" || Array.isArray(value) || typeof value.email !== "string")
    invalidProperty("envelope", "an envelope address is an object with an email");
  const given = value.parameters;
  if (given === undefined || given === null) return { email: value.email, parameters: null };
  if (typeof given !== "object" || Array.isArray(given))
    invalidProperty("envelope", "parameters is null or an object of SMTP parameters");
  const parameters: Record<string, string | null> = {};
  for (const [name, parameter] of Object.entries(given)) {
    const keyword = name.toUpperCase();
    if (!allowed.includes(keyword)) {
      invalidProperty(
        "envelope",
        allowed.length === 0
          ? "this server offers no SMTP parameters here"
          : `only ${allowed.join(" and ")} can be given here, not ${name}`,
      );
    }
    if (parameter !== null && typeof parameter !== "string")
      invalidProperty("envelope", `the value of ${name} is a string or null`);
    parameters[keyword] = parameter;
  }
  return { email: value.email, parameters };
}

function readEnvelope(value: Json | undefined, maxDelayedSend: number): SubmissionEnvelope | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "object" || Array.isArray(value) || !Array.isArray(value.rcptTo))
    invalidProperty("envelope", "envelope must be null or {mailFrom, rcptTo}");
  return {
    mailFrom: readAddress(value.mailFrom, maxDelayedSend > 0 ? MAIL_FROM_PARAMETERS : []),
    rcptTo: value.rcptTo.map((address) => readAddress(address, [])),
  };
}

/** The release time the envelope's HOLDFOR/HOLDUNTIL ask for, checked as port 587 checks them; null: none. */
function releaseTime(envelope: SubmissionEnvelope, maxDelayedSend: number, now: Date): Date | null {
  const parameters = envelope.mailFrom.parameters;
  if (parameters === null) return null;
  const held = holdRequest(parameters.HOLDFOR, parameters.HOLDUNTIL, { maxSeconds: maxDelayedSend, now });
  if (!held.ok) invalidProperty("envelope", held.text);
  return held.until;
}

/**
 * RFC 8621 §7: without an envelope, MAIL FROM is the Sender: address, else the From: address, and the
 * recipients are those of To:, Cc: and Bcc:, without repeats.
 */
function envelopeFromHeader(header: Buffer, identityEmail: string): SubmissionEnvelope {
  const fields = headerFields(toCrlf(header).toString("utf8"));
  const addressesOf = (names: string[]) =>
    fields
      .filter(([name]) => names.includes(name.toLowerCase()))
      .flatMap(([, value]) => parseAddresses(value));
  const [from] = [...addressesOf(["sender"]), ...addressesOf(["from"]), identityEmail];
  const seen = new Set<string>();
  const rcptTo: SubmissionAddress[] = [];
  for (const email of addressesOf(["to", "cc", "bcc"])) {
    if (seen.has(email.toLowerCase())) continue;
    seen.add(email.toLowerCase());
    rcptTo.push({ email, parameters: null });
  }
  return { mailFrom: { email: from as string, parameters: null }, rcptTo };
}

/**
 * The header block with every Bcc field (and its folded lines) taken out. A draft keeps its Bcc so the
 * writer can see it; the sent message must not show it to the other recipients (RFC 5322 §3.6.3: the
 * usual way is to remove the field from the copy that is sent), and the envelope already names them.
 */
export function withoutBcc(header: Buffer): Buffer {
  const lines = header.toString("latin1").split(/(?<=\n)/);
  let dropping = false;
  const kept = lines.filter((line) => {
    if (line.startsWith(" ") || line.startsWith("\t")) return !dropping;
    dropping = /^bcc[ \t]*:/i.test(line);
    return !dropping;
  });
  return kept.length === lines.length ? header : Buffer.from(kept.join(""), "latin1");
}

async function createSubmission(
  deps: SubmissionDeps,
  context: MethodContext,
  object: JsonObject,
): Promise<StoredSubmission> {
  const { store, agent } = deps;
  const { account } = context;
  for (const key of Object.keys(object)) {
    if (!["identityId", "emailId", "envelope"].includes(key))
      invalidProperty(key, `${key} cannot be set when creating an EmailSubmission`);
  }
  const identityId = resolveId(String(object.identityId ?? ""), context.createdIds);
  const identity = (await identitiesOf(store, account)).list.find((each) => each.id === identityId);
  if (identity === undefined) invalidProperty("identityId", "no such identity");
  const emailNumber = parseEmailId(resolveId(String(object.emailId ?? ""), context.createdIds) ?? "");
  const [email] = emailNumber === null ? [] : await store.emails.getEmails(account.userId, [emailNumber]);
  if (email === undefined) invalidProperty("emailId", "no such email");
  // The identity's address may have been an alias since removed: it is checked again as port 587 would.
  if (!(await ownsAddress(store, identity.email as string, account)))
    refuse("forbiddenFrom", `${account.address} may no longer send as ${identity.email}`);

  const header = await readHeaderBlock(store.blobs.readBlob(email.messageId));
  const maxDelayedSend = deps.maxDelayedSend ?? 0;
  const envelope =
    readEnvelope(object.envelope, maxDelayedSend) ?? envelopeFromHeader(header, identity.email as string);
  // The trace fields' time, and the moment the hold is counted from.
  const receivedAt = new Date();
  const holdUntil = releaseTime(envelope, maxDelayedSend, receivedAt);
  if (envelope.rcptTo.length === 0) refuse("noRecipients", "the envelope has no recipients");
  const user = { userId: account.userId, address: account.address };
  const recipientContext = { authenticated: user, remoteAddress: "jmap" };
  const sender = await agent.checkSender?.(envelope.mailFrom.email, recipientContext);
  if (sender?.kind === "reject") refuse("forbiddenMailFrom", sender.text);

  const deliveryStatus: Record<string, DeliveryStatus> = {};
  const invalid: string[] = [];
  let anyLocal = false;
  for (const { email: address } of envelope.rcptTo) {
    const verdict = await agent.checkRecipient(address, recipientContext);
    if (verdict.kind === "reject") {
      invalid.push(address);
      continue;
    }
    anyLocal ||= verdict.kind === "local";
    deliveryStatus[address.toLowerCase()] =
      holdUntil !== null
        ? // Held: no recipient has it yet, local or not, until the release.
          {
            smtpReply: `250 2.0.0 held until ${formatDateTime(holdUntil)}`,
            delivered: "queued",
            displayed: "unknown",
          }
        : verdict.kind === "local"
          ? {
              smtpReply: "250 2.0.0 delivered to the recipient's mailbox",
              delivered: "yes",
              displayed: "unknown",
            }
          : { smtpReply: "250 2.0.0 queued for relay", delivered: "queued", displayed: "unknown" };
  }
  if (invalid.length > 0) {
    // A SetError with a property of its own (§7.5), landing in notCreated like any other.
    throw new SetRefusal({
      type: "invalidRecipients",
      description: `these recipients are refused: ${invalid.join(", ")}`,
      invalidRecipients: invalid,
    });
  }

  // The trace fields a submission server adds (RFC 5321 §4.4), as port 587 writes them before the body.
  const returnPath = anyLocal ? `Return-Path: <${envelope.mailFrom.email}>\r\n` : "";
  const traceFor = (id: string) =>
    Buffer.from(
      `${returnPath}Received: by ${deps.hostname} (mailroom) with HTTP (JMAP EmailSubmission)\r\n\tid ${id}` +
        ` for ${account.address}; ${rfc5322Date(receivedAt)}\r\n`,
      "utf8",
    );
  const writer = await agent.createBlobWriter();
  let outcome: Awaited<ReturnType<typeof submitReceived>>;
  try {
    const trace = traceFor(writer.id);
    await writer.write(trace);
    // The header block read above ends at its blank line, unless it was cut at the reader's limit:
    // either way the bytes after it are the rest of the message, copied as they are.
    await writer.write(withoutBcc(header));
    let skip = header.length;
    for await (const chunk of store.blobs.readBlob(email.messageId)) {
      const bytes = chunk as Buffer;
      if (skip >= bytes.length) {
        skip -= bytes.length;
        continue;
      }
      await writer.write(skip > 0 ? bytes.subarray(skip) : bytes);
      skip = 0;
    }
    const blob = await writer.finish();
    outcome = await submitReceived(
      agent,
      writer,
      {
        blob,
        sender: envelope.mailFrom.email,
        recipients: envelope.rcptTo
          .filter(({ email: address }) => deliveryStatus[address.toLowerCase()] !== undefined)
          .map(({ email: address }): AcceptedRecipient => ({ address })),
        receivedAt,
        ...(holdUntil !== null ? { holdUntil } : {}),
        // The HTTP peer's address is not known down here; the account is what the trace needs.
        origin: { protocol: "jmap", client: "", user: account.address },
      },
      { authenticated: user, remoteAddress: "jmap", traceLength: trace.length, traceFor },
    );
  } catch (error) {
    await writer.abort().catch(() => undefined);
    throw error;
  }
  if (outcome.kind === "refused") refuse("forbiddenFrom", outcome.text);
  const { submission } = await store.submissions.create(account.userId, {
    identityId: identity.id as string,
    emailId: emailIdOf(email.emailId),
    threadId: threadIdOf(email.threadId),
    envelope,
    // §7: with FUTURERELEASE used, the time the server will release the email.
    sendAt: holdUntil ?? receivedAt,
    messageId: outcome.result.messageId,
    deliveryStatus,
  });
  if (Object.values(deliveryStatus).some((status) => status.delivered === "queued")) deps.wakeQueue?.();
  return submission;
}

export function emailSubmissionSet(deps: SubmissionDeps, maxObjectsInSet: number): Method {
  const emails = emailSet(deps.store, maxObjectsInSet);
  return {
    capability: SUBMISSION,
    needsAccount: true,
    writes: true,
    async run(args, context) {
      const { ifInState, create, update, destroy } = readSetArguments(
        args,
        maxObjectsInSet,
        "EmailSubmission/set",
      );
      const { account } = context;
      const { store } = deps;
      const oldState = (await submissionsOf(store, account.userId)).state;
      checkState(ifInState, oldState);
      const onSuccessUpdate = readOnSuccess(args.onSuccessUpdateEmail, "onSuccessUpdateEmail");
      const onSuccessDestroy = args.onSuccessDestroyEmail ?? null;
      if (
        onSuccessDestroy !== null &&
        (!Array.isArray(onSuccessDestroy) || onSuccessDestroy.some((id) => typeof id !== "string"))
      ) {
        throw invalidArguments('"onSuccessDestroyEmail" must be null or a list of ids');
      }
      const results = new SetResults();
      /** EmailSubmission id (and "#creationId") → the email it sent, for the implicit Email/set. */
      const sent = new Map<string, string>();

      for (const [creationId, object] of create) {
        await attempt(results.notCreated, creationId, async () => {
          const submission = await createSubmission(deps, context, object);
          const id = idOf(submission.id);
          context.createdIds.set(creationId, id);
          sent.set(`#${creationId}`, submission.emailId);
          sent.set(id, submission.emailId);
          const created = toObject(submission);
          results.created[creationId] = { id, undoStatus: created.undoStatus, sendAt: created.sendAt };
        });
      }
      const live = new Map(
        (await store.submissions.list(account.userId)).submissions.map((s) => [idOf(s.id), s]),
      );
      for (const [id, patch] of update) {
        await attempt(results.notUpdated, id, async () => {
          const submission = live.get(resolveId(id, context.createdIds) ?? "");
          if (submission === undefined) refuse("notFound", `there is no EmailSubmission ${id}`);
          const keys = Object.keys(patch);
          if (keys.some((key) => key !== "undoStatus"))
            invalidProperty(keys.find((key) => key !== "undoStatus") as string, "only undoStatus can change");
          const current = undoStatusOf(submission);
          if (patch.undoStatus === current) {
            results.updated[id] = null;
            return;
          }
          if (patch.undoStatus !== "canceled")
            invalidProperty("undoStatus", 'undoStatus may only become "canceled"');
          const taken =
            current === "pending" ? await store.queue.cancelMessage(submission.messageId) : "none";
          if (taken !== "canceled") {
            refuse(
              "cannotUnsend",
              taken === "in-flight"
                ? "the message is being delivered right now and can no longer be recalled"
                : "the message has reached a recipient and can no longer be recalled",
            );
          }
          const statuses = Object.fromEntries(
            Object.keys(submission.deliveryStatus).map((address) => [address, CANCELED]),
          );
          await store.submissions.markCanceled(account.userId, submission.id, statuses);
          results.updated[id] = null;
        });
      }
      for (const id of destroy) {
        await attempt(results.notDestroyed, id, async () => {
          const storedId = storedIdOf(resolveId(id, context.createdIds));
          if (storedId === null) refuse("notFound", `there is no EmailSubmission ${id}`);
          await store.submissions.destroy(account.userId, storedId).catch((error: unknown) => {
            if (error instanceof StoreError && error.code === "not-found")
              refuse("notFound", `there is no EmailSubmission ${id}`);
            throw error;
          });
          results.destroyed.push(id);
          // §7.5: onSuccess… applies to a destroy that succeeded too, naming the email it had sent.
          const gone = live.get(idOf(storedId));
          if (gone !== undefined) sent.set(id, gone.emailId);
        });
      }
      const newState = (await submissionsOf(store, account.userId)).state;
      const response = results.response(account.accountId, oldState, newState);

      // §7.5: for each submission created successfully above, the implicit Email/set, answered right after.
      const emailUpdate: JsonObject = {};
      for (const [id, patch] of onSuccessUpdate) {
        const emailId = sent.get(id) ?? sent.get(resolveId(id, context.createdIds) ?? "");
        if (emailId !== undefined) emailUpdate[emailId] = patch;
      }
      const emailDestroy = ((onSuccessDestroy ?? []) as string[])
        .map((id) => sent.get(id) ?? sent.get(resolveId(id, context.createdIds) ?? ""))
        .filter((emailId): emailId is string => emailId !== undefined);
      if (Object.keys(emailUpdate).length > 0 || emailDestroy.length > 0) {
        const implicit = await emails.run(
          { accountId: account.accountId, update: emailUpdate, destroy: emailDestroy },
          context,
        );
        context.followUps?.push(["Email/set", implicit]);
      }
      return response;
    },
  };
}

function readOnSuccess(value: Json | undefined, name: string): Map<string, JsonObject> {
  if (value === undefined || value === null) return new Map();
  if (typeof value !== "object" || Array.isArray(value))
    throw invalidArguments(`"${name}" must be null or an object`);
  for (const patch of Object.values(value)) {
    if (patch === null || typeof patch !== "object" || Array.isArray(patch))
      throw invalidArguments(`"${name}" maps EmailSubmission ids to Email patches`);
  }
  return new Map(Object.entries(value as Record<string, JsonObject>));
}
