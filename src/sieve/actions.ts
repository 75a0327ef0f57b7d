/**
 * The actions a script leaves for the caller, and the rules that combine them: duplicates merge
 * (RFC 5228 §2.10.3), actions cancel the implicit keep (§2.10.2), reject excludes delivery and
 * vacation (RFC 5429 §2.1), and the count and redirect limits.
 */
import { type Position, SieveError } from "./errors.js";
import type { SieveLimits } from "./limits.js";

export interface VacationAction {
  type: "vacation";
  /** The reply's body text, or with :mime a MIME entity (headers and body). */
  reason: string;
  mime: boolean;
  /** RFC 5230 §4.1: the minimum time between two replies to one sender, already clamped to the site's range. */
  seconds: number;
  subject: string | null;
  from: string | null;
  /** The user's other addresses (RFC 5230 §4.5), for the caller's "is the user a recipient" check. */
  addresses: string[];
  /** RFC 5230 §4.2: replies with one handle share one memory of whom was answered. */
  handle: string;
}

export type SieveAction =
  | { type: "keep"; flags: string[]; implicit: boolean }
  | { type: "fileinto"; mailbox: string; flags: string[]; create: boolean; copy: boolean }
  | { type: "redirect"; address: string; copy: boolean }
  | { type: "discard" }
  | { type: "reject"; reason: string; extended: boolean }
  | VacationAction
  | { type: "addheader"; name: string; value: string; last: boolean }
  | { type: "deleteheader"; name: string; removed: number };

const DELIVERS = new Set(["keep", "fileinto", "redirect"]);

function isInbox(mailbox: string): boolean {
  return mailbox.toUpperCase() === "INBOX";
}

/** The key under which two actions are the same one (RFC 5228 §2.10.3): keep is fileinto "INBOX". */
function identity(action: SieveAction): string | null {
  switch (action.type) {
    case "keep":
      return "store:INBOX";
    case "fileinto":
      return isInbox(action.mailbox) ? "store:INBOX" : `store:${action.mailbox}`;
    case "redirect":
      return `redirect:${action.address.toLowerCase()}`;
    case "discard":
      return "discard";
    default:
      return null;
  }
}

/** One action from two twins: the later one's flags win, a :copy-less twin makes it a move (as Pigeonhole). */
function merge(prev: SieveAction, next: SieveAction): SieveAction {
  if (prev.type === "redirect" && next.type === "redirect") return { ...prev, copy: prev.copy && next.copy };
  if (prev.type === "keep" && "flags" in next) return { ...prev, flags: next.flags };
  if (prev.type === "fileinto" && next.type === "fileinto")
    return { ...prev, flags: next.flags, copy: prev.copy && next.copy, create: prev.create || next.create };
  if (prev.type === "fileinto" && next.type === "keep") return { ...prev, flags: next.flags, copy: false };
  return prev;
}

export class ActionList {
  readonly actions: SieveAction[] = [];
  /** Cleared by every action that files, forwards or refuses the message without :copy. */
  implicitKeep = true;
  private redirects = 0;

  constructor(private readonly limits: SieveLimits) {}

  add(action: SieveAction, pos: Position, cancelsKeep: boolean): void {
    this.checkConflicts(action, pos);
    if (cancelsKeep) this.implicitKeep = false;
    const key = identity(action);
    const twin = key === null ? -1 : this.actions.findIndex((a) => identity(a) === key);
    if (twin >= 0) {
      this.actions[twin] = merge(this.actions[twin]!, action);
      return;
    }
    if (action.type === "redirect" && ++this.redirects > this.limits.maxRedirects)
      throw new SieveError("limit", `more than ${this.limits.maxRedirects} redirects`, pos);
    if (this.actions.length >= this.limits.maxActions)
      throw new SieveError("limit", `more than ${this.limits.maxActions} actions`, pos);
    this.actions.push(action);
  }

  private checkConflicts(action: SieveAction, pos: Position): void {
    const has = (type: string) => this.actions.some((a) => a.type === type);
    const conflict = (reason: string) => {
      throw new SieveError("runtime", reason, pos);
    };
    if (action.type === "reject") {
      if (has("reject")) conflict("reject/ereject used twice");
      if (this.actions.some((a) => DELIVERS.has(a.type)))
        conflict("reject cannot be combined with keep, fileinto or redirect (RFC 5429 §2.1)");
      if (has("vacation")) conflict("reject cannot be combined with vacation (RFC 5429 §2.1)");
    } else if (has("reject") && (DELIVERS.has(action.type) || action.type === "vacation")) {
      conflict(`${action.type} cannot follow reject (RFC 5429 §2.1)`);
    }
    if (action.type === "vacation" && has("vacation")) conflict("vacation used twice (RFC 5230 §4.7)");
  }

  /** The final list: the actions, then the implicit keep when nothing cancelled it. */
  final(flags: readonly string[]): SieveAction[] {
    if (!this.implicitKeep) return [...this.actions];
    const explicit = this.actions.findIndex((a) => identity(a) === "store:INBOX");
    if (explicit >= 0) return [...this.actions];
    return [...this.actions, { type: "keep", flags: [...flags], implicit: true }];
  }
}
