/** SORT, THREAD and their UID forms (RFC 5256): the SEARCH matches, ordered or threaded by header facts. */

import { headerBlockOf } from "../../store/header-capture.js";
import { imapCaches, type KeptHeader } from "../caches.js";
import type { Command, SortCriterion } from "../protocol/command.js";
import { untagged } from "../responses.js";
import type { SearchKey } from "../search/types.js";
import { type SortFacts, sortFacts } from "../sort/facts.js";
import { sortMessages } from "../sort/sort.js";
import { threadMessages } from "../sort/thread.js";
import { type ImapContext, requireSelected } from "./context.js";
import { saveHeaderBlocksLater } from "./fetch.js";
import { esearchResponse, findMatches, readBody } from "./search.js";
import { resultOptions } from "./updates.js";

/** Header sections asked of the store at once. */
const BATCH = 1000;

/** The sort facts of every SEARCH match, from the stored header sections (a body only where none is kept). */
async function matchFacts(context: ImapContext, key: SearchKey, headersNeeded = true): Promise<SortFacts[]> {
  const view = requireSelected(context);
  const hits = await findMatches(context, key);
  // The view entries are taken before anything else is awaited: the hits' sequence numbers index it.
  const matched = hits.flatMap((hit) => {
    const known = view.messages[hit.seq - 1];
    return known === undefined ? [] : [{ hit, known }];
  });
  const facts: SortFacts[] = [];
  for (let start = 0; start < matched.length; start += BATCH) {
    const batch = matched.slice(start, start + BATCH);
    const headers = headersNeeded
      ? await imapCaches(context.store).headers.read(context.store, [
          ...new Set(batch.map((b) => b.known.messageId)),
        ])
      : new Map<string, KeptHeader>();
    const backfill = new Map<string, Buffer>();
    for (const { hit, known } of batch) {
      let header = headers.get(known.messageId)?.block ?? null;
      if (header === null && headersNeeded) {
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
        header = body === null ? null : headerBlockOf(body);
        if (header !== null) backfill.set(known.messageId, header);
      }
      facts.push(
        sortFacts({ seq: hit.seq, uid: hit.uid, size: known.size, internalDate: known.internalDate }, header),
      );
    }
    saveHeaderBlocksLater(context, backfill);
  }
  return facts;
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
  const lists = threadMessages(await matchFacts(context, command.key), command.algorithm, (m) =>
    command.uid ? m.uid : m.seq,
  );
  return [untagged(lists === "" ? "THREAD" : `THREAD ${lists}`)];
}
