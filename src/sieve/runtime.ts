/** The state of one evaluation that commands and tests read and change. */
import type { ActionList, SieveAction } from "./actions.js";
import type { CompiledTest } from "./definition.js";
import { type Position, SieveError } from "./errors.js";
import type { SieveLimits } from "./limits.js";
import type { MessageView } from "./message.js";
import { expandVariables } from "./variables.js";

export interface Envelope {
  /** The reverse path without angle brackets; "" for the null sender "<>". */
  from: string;
  /** The recipient this delivery is for. */
  to: string;
  /** The authenticated user who submitted the message, if any. */
  auth?: string | null;
}

export type IncludeLocation = "personal" | "global";

export interface SieveEnvironment {
  /** The current time, for currentdate and vacation (RFC 5260 §5). */
  now?: Date;
  /** The local zone as "+hhmm"/"-hhmm", for date tests without :zone; defaults to the process's zone at `now`. */
  zone?: string;
  /** The user's mailboxes, for mailboxexists (RFC 5490 §3.1). */
  mailboxes?: readonly string[];
  /** The spam score on the RFC 5235 §3.1 scale 0–10 (0 not tested); `percent` for :percent (0–100). */
  spam?: { value: number; percent?: number };
  /** The virus verdict 0–5 of RFC 5235 §3.3 (0 not tested). */
  virus?: number;
  /** The source of a script "include" names (RFC 6609), or null when there is none. */
  include?: (location: IncludeLocation, name: string) => string | null;
  /** The range vacation's period is clamped into, and its default, in seconds. */
  vacationPeriod?: { min: number; max: number; default: number };
}

export interface Scope {
  /** The script's name in errors, null for the main script. */
  name: string | null;
  capabilities: ReadonlySet<string>;
  variables: Map<string, string>;
  /** Names this script declared "global" (RFC 6609 §3.3). */
  globals: Set<string>;
}

const DAY = 86_400;

export class Runtime {
  readonly now: Date;
  readonly vacationPeriod: { min: number; max: number; default: number };
  /** The imap4flags internal variable (RFC 5232 §3). */
  flags: string[] = [];
  readonly globals = new Map<string, string>();
  private matchVariables: string[] = [];
  private steps = 0;
  scope: Scope;

  constructor(
    readonly message: MessageView,
    readonly envelope: Envelope,
    readonly env: SieveEnvironment,
    readonly limits: SieveLimits,
    readonly actions: ActionList,
    main: Scope,
  ) {
    this.now = env.now ?? new Date();
    this.vacationPeriod = env.vacationPeriod ?? { min: DAY, max: 60 * DAY, default: 7 * DAY };
    this.scope = main;
  }

  has(capability: string): boolean {
    return this.scope.capabilities.has(capability);
  }

  fail(reason: string, pos: Position | null, kind: "runtime" | "limit" = "runtime"): never {
    throw new SieveError(kind, reason, pos, this.scope.name);
  }

  step(pos: Position | null = null): void {
    if (++this.steps > this.limits.maxSteps)
      this.fail(`more than ${this.limits.maxSteps} steps`, pos, "limit");
  }

  add(action: SieveAction, pos: Position, cancelsKeep: boolean): void {
    try {
      this.actions.add(action, pos, cancelsKeep);
    } catch (e) {
      if (e instanceof SieveError) this.fail(e.reason, pos, e.kind === "limit" ? "limit" : "runtime");
      throw e;
    }
  }

  setMatchVariables(values: readonly string[]): void {
    this.matchVariables = [...values];
  }

  /** A variable's value: "" when unset (RFC 5229 §3); undefined for a namespace this engine lacks. */
  variable(name: string): string | undefined {
    if (/^[0-9]+$/.test(name)) return this.matchVariables[Number(name)] ?? "";
    const dot = name.indexOf(".");
    if (dot >= 0)
      return name.slice(0, dot) === "global" && this.has("include")
        ? (this.globals.get(name.slice(dot + 1)) ?? "")
        : undefined;
    if (this.scope.globals.has(name)) return this.globals.get(name) ?? "";
    return this.scope.variables.get(name) ?? "";
  }

  setVariable(name: string, value: string): void {
    const key = name.toLowerCase();
    const bounded =
      value.length > this.limits.maxVariableSize ? value.slice(0, this.limits.maxVariableSize) : value;
    if (key.startsWith("global.")) this.globals.set(key.slice(7), bounded);
    else if (this.scope.globals.has(key)) this.globals.set(key, bounded);
    else this.scope.variables.set(key, bounded);
  }

  /** A string argument with ${…} expanded, when the script uses variables (RFC 5229 §3). */
  expand(text: string): string {
    return this.has("variables") ? expandVariables(text, (name) => this.variable(name)) : text;
  }

  test(node: CompiledTest): boolean {
    this.step(node.pos);
    return node.def.evaluate(this, node);
  }

  expandList(list: readonly string[]): string[] {
    return list.map((text) => this.expand(text));
  }
}
