/**
 * Updating searches (RFC 5267 §4.3, CONTEXT=SEARCH and CONTEXT=SORT): a SEARCH or SORT with RETURN
 * (UPDATE) keeps its result, and the session tells the client how that result changes — ESEARCH ADDTO
 * and REMOVEFROM, correlated by the command's tag — as messages arrive, change flags or are expunged,
 * until CANCELUPDATE or until the mailbox is no longer selected.
 */

import type { SortCriterion } from "../protocol/command.js";
import { formatOrdered, formatSequence } from "../protocol/sequence.js";
import { untagged } from "../responses.js";
import type { SearchKey, SequenceRange, SequenceSet } from "../search/types.js";
import type { SelectedMailbox } from "../selected.js";
import { CommandRefused, type ImapContext, requireSelected } from "./context.js";

/** RFC 5267 §4.3.1: at least one per client; a few more cost little (see UpdateContexts.refresh). */
export const DEFAULT_MAX_UPDATE_CONTEXTS = 5;

interface UpdateContext {
  tag: string;
  uid: boolean;
  /** The search program with its sequence numbers, "$" and "*" resolved when the command ran. */
  key: SearchKey;
  /** null: a SEARCH, whose result is in mailbox order; otherwise the SORT's order. */
  criteria: SortCriterion[] | null;
  /** The result as the client now has it: UIDs in the requested order. */
  results: number[];
}

/** The current result of a context, in its order: what the SEARCH or SORT would answer now. */
export type Evaluate = (
  key: SearchKey,
  criteria: SortCriterion[] | null,
  only: ReadonlySet<number> | undefined,
) => Promise<number[]>;

function quote(tag: string): string {
  return `"${tag.replace(/[\\"]/g, "\\$&")}"`;
}

/** RFC 4731 §3.1: RETURN () is RETURN (ALL). UPDATE and CONTEXT return nothing themselves, so asked
 * alone they too get ALL: the client needs the result that its updates change. */
export function resultOptions(returns: readonly string[]): string[] {
  return returns.some((o) => o !== "UPDATE" && o !== "CONTEXT") ? [...returns] : [...returns, "ALL"];
}

/** The first index of the view whose UID is at least `uid`. */
function firstAtLeast(view: SelectedMailbox, uid: number): number {
  let lo = 0;
  let hi = view.messages.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((view.messages[mid]?.uid ?? 0) < uid) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The messages `set` names now, as UID ranges: each run of adjacent view entries becomes one range,
 * which no later message can fall in, since new messages get higher UIDs.
 */
function frozenSet(
  view: SelectedMailbox,
  set: SequenceSet,
  byUid: boolean,
  saved: ReadonlySet<number>,
): SequenceSet {
  const spans: Array<[number, number]> = [];
  if (set.kind === "saved") {
    for (const uid of saved) {
      const index = view.indexOf(uid);
      if (index >= 0) spans.push([index, index]);
    }
  }
  for (const range of set.kind === "ranges" ? set.ranges : []) {
    const max = byUid ? view.maxUid : view.exists;
    const a = range.start === "*" ? max : range.start;
    const b = range.end === "*" ? max : range.end;
    const [lo, hi] = [Math.min(a, b), Math.max(a, b)];
    const from = byUid ? firstAtLeast(view, lo) : Math.max(1, lo) - 1;
    const to = byUid ? firstAtLeast(view, hi + 1) - 1 : Math.min(view.exists, hi) - 1;
    if (from <= to) spans.push([from, to]);
  }
  spans.sort((x, y) => x[0] - y[0]);
  const ranges: SequenceRange[] = [];
  let current: [number, number] | null = null;
  const close = () => {
    if (current === null) return;
    const [from, to] = current;
    ranges.push({ start: view.messages[from]?.uid ?? 0, end: view.messages[to]?.uid ?? 0 });
  };
  for (const span of spans) {
    if (current !== null && span[0] <= current[1] + 1) current[1] = Math.max(current[1], span[1]);
    else {
      close();
      current = [span[0], span[1]];
    }
  }
  close();
  return { kind: "ranges", ranges };
}

/**
 * RFC 5267 §4.3: message numbers in the search program are evaluated when the command is received, so
 * they, "$" (RFC 5182) and "*" become the UIDs they named then; later messages never match them.
 */
export function freezeKey(key: SearchKey, view: SelectedMailbox, saved: ReadonlySet<number>): SearchKey {
  switch (key.type) {
    case "not":
      return { type: "not", key: freezeKey(key.key, view, saved) };
    case "or":
      return { type: "or", left: freezeKey(key.left, view, saved), right: freezeKey(key.right, view, saved) };
    case "and":
      return { type: "and", keys: key.keys.map((k) => freezeKey(k, view, saved)) };
    case "sequence":
    case "uid":
      return { type: "uid", set: frozenSet(view, key.set, key.type === "uid", saved) };
    default:
      return key;
  }
}

/** One ADDTO or REMOVEFROM payload: (position, numbers) pairs, each run of adjacent changes one pair. */
type Runs = Array<[number, number[]]>;

/**
 * The runs of adjacent entries of `list` that `picked` chooses, each with the position `position` gives
 * its first entry from that entry's index and the number of entries not picked before it.
 */
function runsOf(
  list: readonly number[],
  picked: (uid: number) => boolean,
  position: (index: number, unpicked: number) => number,
): Runs {
  const runs: Runs = [];
  let run: number[] | null = null;
  let unpicked = 0;
  list.forEach((uid, index) => {
    if (!picked(uid)) {
      unpicked++;
      run = null;
      return;
    }
    if (run === null) {
      run = [];
      runs.push([position(index, unpicked), run]);
    }
    run.push(uid);
  });
  return runs;
}

export class UpdateContexts {
  private readonly contexts = new Map<string, UpdateContext>();
  /** UIDs of the selected mailbox that changed since the contexts were last brought up to date. */
  private touched = new Set<number>();

  constructor(readonly limit: number = DEFAULT_MAX_UPDATE_CONTEXTS) {}

  get size(): number {
    return this.contexts.size;
  }

  /** True when a refresh may have something to report. */
  get stale(): boolean {
    return this.contexts.size > 0 && this.touched.size > 0;
  }

  /** RFC 5267 §4.3: UPDATE under a tag an updating search already uses is BAD. */
  checkTag(tag: string, returns: readonly string[] | null): void {
    if (returns?.includes("UPDATE") && this.contexts.has(tag)) {
      throw new CommandRefused(
        `tag ${tag} already names an updating search; use a new tag, or CANCELUPDATE "${tag}" first`,
      );
    }
  }

  /**
   * Starts updates for a SEARCH or SORT that asked for them (RETURN UPDATE among `options`); `results` are the UIDs it returned, in its
   * order. At the limit, RFC 5267 §4.3.1's untagged NO [NOUPDATE] instead: the results stand, no updates.
   */
  start(
    context: ImapContext,
    tag: string,
    command: { uid: boolean; key: SearchKey; options: readonly string[] },
    criteria: SortCriterion[] | null,
    results: number[],
  ): Buffer[] {
    if (!command.options.includes("UPDATE")) return [];
    if (this.contexts.size >= this.limit) {
      return [
        untagged(
          `NO [NOUPDATE ${quote(tag)}] at most ${this.limit} searches may be updated at once; CANCELUPDATE one first`,
        ),
      ];
    }
    const view = requireSelected(context);
    const key = freezeKey(command.key, view, context.savedUids);
    this.contexts.set(tag, { tag, uid: command.uid, key, criteria, results });
    return [];
  }

  /** CANCELUPDATE: every tag must name an updating search, else nothing is cancelled. */
  cancel(tags: readonly string[]): void {
    const unknown = tags.find((tag) => !this.contexts.has(tag));
    if (unknown !== undefined) {
      throw new CommandRefused(`no updating search has the tag ${quote(unknown)}; nothing was cancelled`);
    }
    for (const tag of tags) this.contexts.delete(tag);
  }

  /** The mailbox is no longer selected: updates cease (RFC 5267 §4.3). */
  clear(): void {
    this.contexts.clear();
    this.touched.clear();
  }

  /** A change to these messages of the selected mailbox was seen. */
  observe(uids: readonly number[]): void {
    if (this.contexts.size === 0) return;
    for (const uid of uids) this.touched.add(uid);
  }

  /**
   * Messages leave the view (EXPUNGE or VANISHED follows): their REMOVEFROM, sent first so that the
   * sequence numbers in it still hold (RFC 5267 §4.3.4).
   */
  removed(view: SelectedMailbox, uids: readonly number[]): Buffer[] {
    const gone = new Set(uids);
    const out: Buffer[] = [];
    for (const context of this.contexts.values()) {
      const response = this.report(
        view,
        context,
        context.results.filter((uid) => !gone.has(uid)),
      );
      if (response !== null) out.push(response);
    }
    return out;
  }

  /**
   * After the view's own updates (EXISTS first, RFC 5267 §4.3.3): the ADDTO and REMOVEFROM of every
   * context the changed messages affect. A SEARCH context re-evaluates only the changed messages; a
   * SORT context is sorted again, since a message's place depends on the others.
   */
  async refresh(view: SelectedMailbox, evaluate: Evaluate): Promise<Buffer[]> {
    if (!this.stale) return [];
    const batch = this.touched;
    this.touched = new Set();
    const changed = new Set<number>();
    for (const uid of batch) {
      if (uid <= view.highestKnownUid) changed.add(uid);
      // Announced by an event, not yet in the view: its EXISTS (then its ADDTO) comes with the next sync.
      else if (view.hasPending) this.touched.add(uid);
    }
    if (changed.size === 0) return [];
    const out: Buffer[] = [];
    for (const context of [...this.contexts.values()]) {
      let next: number[];
      if (context.criteria === null) {
        const matching = new Set(await evaluate(context.key, null, changed));
        next = context.results.filter((uid) => !changed.has(uid) || matching.has(uid));
        const have = new Set(next);
        for (const uid of matching) if (!have.has(uid)) next.push(uid);
        next.sort((a, b) => a - b);
      } else {
        next = await evaluate(context.key, context.criteria, undefined);
      }
      // CANCELUPDATE cannot run while this is awaited, but the view may have been left meanwhile.
      if (this.contexts.get(context.tag) !== context) continue;
      const response = this.report(view, context, next);
      if (response !== null) out.push(response);
    }
    return out;
  }

  /** Moves `context` to the result `next`, returning the ESEARCH that tells the client, or null. */
  private report(view: SelectedMailbox, context: UpdateContext, next: number[]): Buffer | null {
    const before = new Set(context.results);
    const after = new Set(next);
    // RFC 5267 §4.3.4: each REMOVEFROM position counts in the list as the earlier removals left it;
    // §4.3.3: an ADDTO position is where its first message stands once inserted.
    const removals = runsOf(
      context.results,
      (uid) => !after.has(uid),
      (_index, kept) => kept + 1,
    );
    const additions = runsOf(
      next,
      (uid) => !before.has(uid),
      (index) => index + 1,
    );
    context.results = next;
    if (removals.length === 0 && additions.length === 0) return null;
    const number = (uid: number) => (context.uid ? uid : view.seqOf(uid));
    const payload = (runs: Runs): string => {
      // A SEARCH's result is in mailbox order: one pair at position 0, the numbers as a set (§4.3.3).
      if (context.criteria === null)
        return `0 ${formatSequence(runs.flatMap(([, uids]) => uids).map(number))}`;
      return runs.map(([position, uids]) => `${position} ${formatOrdered(uids.map(number))}`).join(" ");
    };
    let text = `ESEARCH (TAG ${quote(context.tag)})${context.uid ? " UID" : ""}`;
    if (removals.length > 0) text += ` REMOVEFROM (${payload(removals)})`;
    if (additions.length > 0) text += ` ADDTO (${payload(additions)})`;
    return untagged(text);
  }
}
