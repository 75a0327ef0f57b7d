/** SORT, THREAD and their UID forms (RFC 5256): the SEARCH matches, ordered or threaded by header facts. */

import { headerBlockOf } from "../../store/header-capture.js";
import { encodeSortInputs, type SortInputs } from "../../store/sort-inputs.js";
import { imapCaches } from "../caches.js";
import type { Command, SortCriterion } from "../protocol/command.js";
import { untagged } from "../responses.js";
import type { SearchKey } from "../search/types.js";
import type { ViewMessage } from "../selected.js";
import { NO_INPUTS, type SortFacts, sortFacts, sortInputs } from "../sort/facts.js";
import { sortMessages } from "../sort/sort.js";
import { threadMessages } from "../sort/thread.js";
import { type ImapContext, requireSelected } from "./context.js";
import { saveHeaderBlocksLater } from "./fetch.js";
import { esearchResponse, findMatches, type Hit, readBody } from "./search.js";
import { resultOptions } from "./updates.js";

/** Messages whose sort inputs are asked of the store at once. */
const BATCH = 1000;

/**
 * The sort facts of every SEARCH match. What the header sections say (SortInputs) comes from the
 * process's cache, else the store's kept inputs, else is found from the stored header sections (a body
 * only where none is kept) and handed to both for next time.
 */
async function matchFacts(context: ImapContext, key: SearchKey, headersNeeded = true): Promise<SortFacts[]> {
  return factsOf(context, await matchedEntries(context, key), headersNeeded);
}

type Matched = { hit: Hit; known: ViewMessage };

/** The SEARCH matches of `key` with their view entries. */
async function matchedEntries(context: ImapContext, key: SearchKey): Promise<Matched[]> {
  const view = requireSelected(context);
  const hits = await findMatches(context, key);
  // The view entries are taken before anything else is awaited: the hits' sequence numbers index it.
  const matched: Matched[] = [];
  for (const hit of hits) {
    const known = view.messages[hit.seq - 1];
    if (known !== undefined) matched.push({ hit, known });
  }
  return matched;
}

async function factsOf(
  context: ImapContext,
  matched: readonly Matched[],
  headersNeeded = true,
): Promise<SortFacts[]> {
  const fact = (hit: Hit, known: ViewMessage, inputs: SortInputs) =>
    sortFacts(hit.seq, hit.uid, known.size, known.internalDate, inputs);
  if (!headersNeeded) return matched.map(({ hit, known }) => fact(hit, known, NO_INPUTS));
  const caches = imapCaches(context.store);
  const facts: SortFacts[] = [];
  let start = 0;
  // As long as the process's cache has them, nothing is awaited or batched.
  for (; start < matched.length; start++) {
    const { hit, known } = matched[start] as Matched;
    const kept = caches.sortInputs.get(known.messageId);
    if (kept === undefined) break;
    facts.push(fact(hit, known, kept));
  }
  for (; start < matched.length; start += BATCH) {
    const batch = matched.slice(start, start + BATCH);
    const ids = [...new Set(batch.map((b) => b.known.messageId))];
    const inputs = await caches.sortInputs.read(context.store, ids);
    const missing = ids.filter((id) => !inputs.has(id));
    if (missing.length > 0) await findInputs(context, batch, missing, inputs);
    for (const { hit, known } of batch)
      facts.push(fact(hit, known, inputs.get(known.messageId) ?? NO_INPUTS));
  }
  return facts;
}

/** Finds the inputs of the `missing` messages of `batch` from their header sections, into `inputs`. */
async function findInputs(
  context: ImapContext,
  batch: readonly Matched[],
  missing: readonly string[],
  inputs: Map<string, SortInputs>,
): Promise<void> {
  const view = requireSelected(context);
  const caches = imapCaches(context.store);
  const headers = await caches.headers.read(context.store, missing);
  const wanted = new Set(missing);
  const backfill = new Map<string, Buffer>();
  const computed = new Map<string, string>();
  for (const { hit, known } of batch) {
    if (!wanted.has(known.messageId)) continue;
    wanted.delete(known.messageId);
    let header: Buffer | null = headers.get(known.messageId)?.block ?? null;
    if (header === null) {
      const data = {
        seq: hit.seq,
        uid: hit.uid,
        flags: known.flags,
        internalDate: known.internalDate,
        savedDate: known.savedDate,
        size: known.size,
        modseq: hit.modseq,
      };
      const body = await readBody(context.store, view.mailbox.id, { data, messageId: known.messageId });
      // A message whose body is gone meanwhile sorts as if it had no header section this time, and
      // nothing is kept for it; one whose header section has no end the store would keep has none.
      if (body === null) continue;
      header = headerBlockOf(body);
      if (header !== null) backfill.set(known.messageId, header);
    }
    const found = sortInputs(header);
    inputs.set(known.messageId, found);
    caches.sortInputs.keep(known.messageId, found);
    computed.set(known.messageId, encodeSortInputs(found));
  }
  saveHeaderBlocksLater(context, backfill);
  saveSortInputsLater(context, computed);
}

/** Like saveHeaderBlocksLater, for the sort inputs found from header sections by this command. */
function saveSortInputsLater(context: ImapContext, inputs: ReadonlyMap<string, string>): void {
  if (inputs.size === 0) return;
  context.store.blobs.saveSortInputs(inputs).catch((error: unknown) => {
    context.logger?.debug({ err: error, count: inputs.size }, "could not keep sort inputs");
  });
}

/** The SEARCH matches of `key` in the order of `criteria`. */
export async function sortedMatches(
  context: ImapContext,
  key: SearchKey,
  criteria: readonly SortCriterion[],
): Promise<SortFacts[]> {
  // ARRIVAL and SIZE are in the view: no header section is read for them.
  const headersNeeded = criteria.some((c) => c.key !== "ARRIVAL" && c.key !== "SIZE");
  return sortMessages(await matchFacts(context, key, headersNeeded), criteria);
}

export async function sort(
  context: ImapContext,
  tag: string,
  command: Extract<Command, { name: "SORT" }>,
): Promise<Buffer[]> {
  context.updates.checkTag(tag, command.returns);
  const sorted = await sortedMatches(context, command.key, command.criteria);
  const numbers = sorted.map((m) => (command.uid ? m.uid : m.seq));
  if (command.returns === null) return [untagged(`SORT${numbers.map((n) => ` ${n}`).join("")}`)];
  // RFC 5267 §3.2: ESORT answers with ESEARCH, MIN and MAX the first and last in sort order, ALL in it.
  const options = resultOptions(command.returns);
  const uids = sorted.map((m) => m.uid);
  const updates = context.updates.start(context, tag, { ...command, options }, command.criteria, uids);
  return [esearchResponse(tag, command.uid, numbers, options, command.partial, true), ...updates];
}

export async function thread(
  context: ImapContext,
  command: Extract<Command, { name: "THREAD" }>,
): Promise<Buffer[]> {
  const { mailbox } = requireSelected(context);
  const matched = await matchedEntries(context, command.key);
  // Within one UIDVALIDITY a UID names one entry for good, with its body and internal date, so the
  // same matches at the same sequence numbers have the same answer (see ThreadAnswers).
  const numbers = new Uint32Array(matched.length * 2);
  for (let i = 0; i < matched.length; i++) {
    const { hit } = matched[i] as Matched;
    numbers[2 * i] = hit.seq;
    numbers[2 * i + 1] = hit.uid;
  }
  const answers = imapCaches(context.store).threads;
  const key = `${mailbox.id}/${mailbox.uidValidity}/${command.algorithm}/${command.uid ? "UID" : "seq"}`;
  let lists = answers.get(key, numbers);
  if (lists === undefined) {
    const facts = await factsOf(context, matched);
    lists = threadMessages(facts, command.algorithm, (m) => (command.uid ? m.uid : m.seq));
    // NO_INPUTS stands in for a body gone meanwhile: an answer for this moment only.
    if (!facts.some((f) => f.inputs === NO_INPUTS)) answers.keep(key, numbers, lists);
  }
  return [untagged(lists === "" ? "THREAD" : `THREAD ${lists}`)];
}
