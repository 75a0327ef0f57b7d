/** SEARCH and UID SEARCH (RFC 9051 §6.4.4), ESEARCH results (RFC 4731) and SAVE (RFC 5182). */

import { MatchTexts, matchWords, requiredPatterns } from "../../mail/search-match.js";
import { headerBlockOf } from "../../store/header-capture.js";
import type { Store } from "../../store/types.js";
import { imapCaches } from "../caches.js";
import type { Command, PartialRange } from "../protocol/command.js";
import { formatOrdered, formatSequence, partialWindow } from "../protocol/sequence.js";
import { untagged } from "../responses.js";
import { evaluate, KeyCost, keyCost, keyReadsHeader } from "../search/evaluate.js";
import type { SearchContext, SearchData, SearchKey } from "../search/types.js";
import { type ImapContext, requireSelected } from "./context.js";
import { saveHeaderBlocksLater } from "./fetch.js";
import { resultOptions } from "./updates.js";

/** Messages decided per round: one header-block query per batch, and a bound on what is held at once. */
const BATCH = 500;
/** Bodies read concurrently, so the latency of one file read hides behind the others. */
const BODY_READS_IN_FLIGHT = 4;
/** A message's state in a batch once a round decides it; 0 while undecided. */
const NO_MATCH = 1;
const MATCH = 2;

export function usesModseq(key: SearchKey): boolean {
  if (key.type === "modseq") return true;
  if (key.type === "not") return usesModseq(key.key);
  if (key.type === "or") return usesModseq(key.left) || usesModseq(key.right);
  if (key.type === "and") return key.keys.some(usesModseq);
  return false;
}

export interface Candidate {
  data: SearchData;
  messageId: string;
}

export interface Hit {
  seq: number;
  uid: number;
  modseq: number;
}

/** Reads a body; a message expunged by another session meanwhile (its blob gone) is no match. */
export async function readBody(
  store: Pick<Store, "blobs" | "messages">,
  mailboxId: number,
  candidate: Candidate,
): Promise<Buffer | null> {
  try {
    return await store.blobs.readBlobBytes(candidate.messageId, candidate.data.size);
  } catch (error) {
    if ((await store.messages.getMessage(mailboxId, candidate.data.uid)) === null) return null;
    throw error;
  }
}

/** The BODY and TEXT values a message must match for `key` to hold: those under no OR or NOT. */
function requiredTexts(key: SearchKey): string[] {
  if (key.type === "body" || key.type === "text") return [key.value];
  if (key.type === "and") return key.keys.flatMap(requiredTexts);
  return [];
}

interface TextFilter {
  /** Bodies that cannot match `key`, told by the full-text index's kept words without reading them. */
  ruledOut: ReadonlySet<string>;
  /** Bodies whose words the index does not keep yet: this search works them out from what it reads. */
  unkept: ReadonlySet<string>;
}

/** What the full-text index tells about `key`'s BODY and TEXT keys; nothing when it requires none. */
async function textFilter(context: ImapContext, mailboxId: number, key: SearchKey): Promise<TextFilter> {
  const patterns = requiredTexts(key).flatMap(requiredPatterns);
  if (patterns.length === 0) return { ruledOut: new Set(), unkept: new Set() };
  const { ruledOut, unkept } = await context.store.search.cannotMatch(context.userId, mailboxId, patterns);
  return { ruledOut: new Set(ruledOut), unkept: new Set(unkept) };
}

/** Hands the store the match words of bodies a search read, after its answer, as header blocks are. */
function keepMatchWordsLater(context: ImapContext, words: ReadonlyMap<string, string | null>): void {
  if (words.size === 0) return;
  context.store.search.keepMatchWords(words).catch((error: unknown) => {
    context.logger?.debug({ err: error, count: words.size }, "could not keep match words of bodies read");
  });
}

/**
 * The messages of the selected mailbox matching `key`, in mailbox order. Each batch is decided in up to
 * three rounds: from the view alone (flags, size, dates), then from the stored header sections, then
 * from the whole messages, each round only for the messages the previous one left undecided.
 */
export async function findMatches(
  context: ImapContext,
  key: SearchKey,
  /** Only these UIDs are considered (an updating search re-evaluating what changed, RFC 5267 §4.3). */
  only?: ReadonlySet<number>,
): Promise<Hit[]> {
  const view = requireSelected(context);
  const store = context.store;
  // SEARCH must see the flags as they are, not as this client was last told (another session's STORE
  // may be pending report). Only the messages named by pending flag events can differ from the view, so
  // only those are read from the store; the view itself is left alone so the next sync still reports the
  // change as FETCH FLAGS. Messages another session expunged (reported later, never during SEARCH, RFC
  // 9051 §7.5.1) are left out, as the store no longer has them.
  const changed = await view.unreportedFlagChanges(store);
  const expunged = view.unreportedExpunges;
  const searchContext: SearchContext = {
    maxSeq: view.exists,
    maxUid: view.maxUid,
    savedUids: context.savedUids,
  };
  const cost = keyCost(key);
  const tryHeaders = keyReadsHeader(key);
  const { ruledOut, unkept } = await textFilter(context, view.mailbox.id, key);
  const hits: Hit[] = [];
  // Most messages are decided from the view alone (a flag, size or date search decides them all): they
  // are evaluated in one reused object, and only an undecided one gets its own copy for the later rounds.
  const scratch: SearchData = {
    seq: 0,
    uid: 0,
    flags: [],
    internalDate: new Date(0),
    savedDate: new Date(0),
    size: 0,
    modseq: 0,
  };
  for (let start = 0; start < view.messages.length; start += BATCH) {
    const end = Math.min(start + BATCH, view.messages.length);
    // Per message of the batch, zero-filled: undecided.
    const decided = new Uint8Array(end - start);
    let undecided: Candidate[] = [];
    for (let i = start; i < end; i++) {
      const known = view.messages[i];
      if (known === undefined || expunged.has(known.uid) || (only !== undefined && !only.has(known.uid)))
        continue;
      const current = changed.get(known.uid);
      if (current === null) continue;
      scratch.seq = i + 1;
      scratch.uid = known.uid;
      scratch.flags = view.shownFlags(known.uid, current?.flags ?? known.flags);
      scratch.internalDate = known.internalDate;
      scratch.savedDate = known.savedDate;
      scratch.size = known.size;
      scratch.modseq = current?.modseq ?? known.modseq;
      const result = evaluate(key, scratch, searchContext);
      if (result === undefined) undecided.push({ data: { ...scratch }, messageId: known.messageId });
      else decided[i - start] = result ? MATCH : NO_MATCH;
    }
    if (undecided.length > 0 && tryHeaders) {
      const headers = await imapCaches(store).headers.read(store, [
        ...new Set(undecided.map((c) => c.messageId)),
      ]);
      const left: Candidate[] = [];
      for (const candidate of undecided) {
        const header = headers.get(candidate.messageId)?.block;
        // Without a stored header section the whole message is read in the next round.
        candidate.data.header = header;
        const result = header === undefined ? undefined : evaluate(key, candidate.data, searchContext);
        if (result === undefined) left.push(candidate);
        else decided[candidate.data.seq - 1 - start] = result ? MATCH : NO_MATCH;
      }
      undecided = left;
    }
    if (ruledOut.size > 0) {
      undecided = undecided.filter((candidate) => {
        if (!ruledOut.has(candidate.messageId)) return true;
        decided[candidate.data.seq - 1 - start] = NO_MATCH;
        return false;
      });
    }
    if (undecided.length > 0 && cost !== KeyCost.Metadata) {
      // Header blocks found in the bodies read here, for the store to keep (see saveHeaderBlocksLater).
      const backfill = new Map<string, Buffer>();
      const words = new Map<string, string | null>();
      let next = 0;
      const worker = async () => {
        while (next < undecided.length) {
          const candidate = undecided[next++] as Candidate;
          const message = await readBody(store, view.mailbox.id, candidate);
          if (tryHeaders && message !== null) {
            const block = headerBlockOf(message);
            if (block !== null) backfill.set(candidate.messageId, block);
          }
          // A body whose words the index lacks is parsed once, for the evaluation and its words alike.
          const texts =
            message !== null && unkept.has(candidate.messageId) ? new MatchTexts(message) : undefined;
          const result =
            message === null
              ? false
              : evaluate(key, { ...candidate.data, message, ...(texts ? { texts } : {}) }, searchContext);
          if (texts !== undefined) words.set(candidate.messageId, matchWords(texts));
          decided[candidate.data.seq - 1 - start] = result === true ? MATCH : NO_MATCH;
        }
      };
      try {
        await Promise.all(Array.from({ length: Math.min(BODY_READS_IN_FLIGHT, undecided.length) }, worker));
      } finally {
        saveHeaderBlocksLater(context, backfill);
        keepMatchWordsLater(context, words);
      }
    }
    for (let i = start; i < end; i++) {
      if (decided[i - start] !== MATCH) continue;
      const known = view.messages[i] as (typeof view.messages)[number];
      hits.push({ seq: i + 1, uid: known.uid, modseq: changed.get(known.uid)?.modseq ?? known.modseq });
    }
  }
  return hits;
}

/** The matches MIN and MAX name (the first and the last: hits are in ascending order). */
function minAndMax(found: readonly Hit[], options: readonly string[]): Hit[] {
  const first = found[0];
  const last = found.at(-1);
  if (first === undefined || last === undefined) return [];
  if (options.includes("MIN") && options.includes("MAX")) return first === last ? [first] : [first, last];
  if (options.includes("MIN")) return [first];
  return options.includes("MAX") ? [last] : [];
}

/**
 * The ESEARCH response (RFC 4731 §3.1) to SEARCH or, for ESORT (RFC 5267 §3.2), to SORT: `numbers` in
 * result order, so MIN and MAX are the first and the last of it; `ordered` keeps ALL and PARTIAL sets in
 * that order (a sort order) instead of ascending. `suffix` goes at the end (MODSEQ).
 */
export function esearchResponse(
  tag: string,
  uid: boolean,
  numbers: readonly number[],
  options: readonly string[],
  partial: PartialRange | null,
  ordered: boolean,
  suffix = "",
): Buffer {
  const format = ordered ? formatOrdered : formatSequence;
  let text = `ESEARCH (TAG "${tag.replace(/[\\"]/g, "\\$&")}")${uid ? " UID" : ""}`;
  const first = numbers[0];
  const last = numbers.at(-1);
  if (options.includes("MIN") && first !== undefined) text += ` MIN ${first}`;
  if (options.includes("MAX") && last !== undefined) text += ` MAX ${last}`;
  if (options.includes("COUNT")) text += ` COUNT ${numbers.length}`;
  if (options.includes("ALL") && numbers.length > 0) text += ` ALL ${format(numbers)}`;
  if (partial !== null) {
    // RFC 9394 §3.1: the range as asked, then the numbers in it, or NIL when it holds none.
    const sign = partial.fromEnd ? "-" : "";
    const window = partialWindow(numbers, partial);
    text += ` PARTIAL (${sign}${partial.first}:${sign}${partial.last} ${window.length === 0 ? "NIL" : format(window)})`;
  }
  return untagged(text + suffix);
}

/**
 * RFC 5182 §2.4: SAVE with MIN and/or MAX and no other option saves just those; with PARTIAL, the
 * window (RFC 9394 §3.1); otherwise every match.
 */
function savedResult(
  found: readonly Hit[],
  options: readonly string[],
  partial: PartialRange | null,
): readonly Hit[] {
  if (partial !== null) return partialWindow(found, partial);
  const others = options.filter((o) => o !== "SAVE");
  const minMaxOnly = others.length > 0 && others.every((o) => o === "MIN" || o === "MAX");
  return minMaxOnly ? minAndMax(found, others) : found;
}

function highestModseq(hits: readonly Hit[]): number {
  return hits.reduce((max, h) => Math.max(max, h.modseq), 0);
}

export async function search(
  context: ImapContext,
  tag: string,
  command: Extract<Command, { name: "SEARCH" }>,
): Promise<Buffer[]> {
  context.updates.checkTag(tag, command.returns);
  const modseqSearch = usesModseq(command.key);
  // Hits are in mailbox order, which is ascending in both sequence numbers and UIDs.
  const found = await findMatches(context, command.key);
  const numbers = found.map((f) => (command.uid ? f.uid : f.seq));
  // RFC 9051 §6.4.4 and §7.3.4: IMAP4rev2 answers every SEARCH with ESEARCH, as if RETURN (ALL).
  const returns = command.returns ?? (context.rev2 ? ["ALL"] : null);
  if (returns === null) {
    // RFC 7162 §3.1.5: with the MODSEQ criterion, the highest MODSEQ of the messages returned; none
    // when nothing matched.
    const suffix = modseqSearch && found.length > 0 ? ` (MODSEQ ${highestModseq(found)})` : "";
    return [untagged(`SEARCH${numbers.map((n) => ` ${n}`).join("")}${suffix}`)];
  }
  const options = resultOptions(returns);
  const hits = found.map((f) => f.uid);
  const updates = context.updates.start(context, tag, { ...command, options }, null, hits);
  if (options.includes("SAVE")) {
    context.savedUids = new Set(savedResult(found, options, command.partial).map((f) => f.uid));
    // RFC 5182 §2.4: SAVE alone produces no ESEARCH response.
    if (options.every((o) => o === "SAVE" || o === "UPDATE" || o === "CONTEXT")) return updates;
  }
  let suffix = "";
  if (modseqSearch && found.length > 0) {
    // RFC 7162 §3.1.5 with RFC 4731 §3.2: the highest MODSEQ of the messages being returned — with only
    // MIN, MAX and/or PARTIAL requested, of those messages; with ALL or COUNT, of every match.
    const returned =
      options.includes("ALL") || options.includes("COUNT")
        ? found
        : [
            ...minAndMax(found, options),
            ...(command.partial === null ? [] : partialWindow(found, command.partial)),
          ];
    if (returned.length > 0) suffix = ` MODSEQ ${highestModseq(returned)}`;
  }
  return [esearchResponse(tag, command.uid, numbers, options, command.partial, false, suffix), ...updates];
}
