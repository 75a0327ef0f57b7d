/**
 * Runs a compiled script over one message: control flow (RFC 5228 §3), include/return (RFC 6609) and
 * the final action list with its implicit keep (§2.10.2). A runtime error yields an error result; the
 * caller then keeps the message in INBOX and tells the user (§2.10.6).
 */
import { ActionList, type SieveAction } from "./actions.js";
import { arg, type CompiledCommand } from "./definition.js";
import { SieveError } from "./errors.js";
import { DEFAULT_LIMITS, type SieveLimits } from "./limits.js";
import { MessageView } from "./message.js";
import { parse } from "./parser.js";
import { type Envelope, type IncludeLocation, Runtime, type SieveEnvironment } from "./runtime.js";
import { type CompiledScript, validate } from "./validator.js";

export interface EvaluateInput {
  /** The message as received (RFC 5322). */
  message: Buffer;
  envelope: Envelope;
  environment?: SieveEnvironment;
  limits?: Partial<SieveLimits>;
}

export type EvaluateResult =
  | { status: "ok"; actions: SieveAction[]; message: Buffer }
  /** `actions` is then the implicit keep alone and `message` the unedited message. */
  | { status: "error"; error: SieveError; actions: SieveAction[]; message: Buffer };

class Stop {}
class Return {}

class Interpreter {
  private readonly included = new Set<string>();
  private readonly active: string[] = [];
  private includes = 0;
  private readonly cache = new Map<string, CompiledScript>();

  constructor(readonly rt: Runtime) {}

  block(commands: readonly CompiledCommand[]): void {
    for (let i = 0; i < commands.length; i++) {
      const command = commands[i]!;
      this.rt.step(command.pos);
      if (command.name === "if") i = this.conditional(commands, i);
      else this.command(command);
    }
  }

  /** Runs an if/elsif/else chain starting at `start`; returns the index of its last member. */
  private conditional(commands: readonly CompiledCommand[], start: number): number {
    let end = start;
    while (commands[end + 1]?.name === "elsif" || commands[end + 1]?.name === "else") {
      end++;
      if (commands[end]!.name === "else") break;
    }
    for (let i = start; i <= end; i++) {
      const branch = commands[i]!;
      if (branch.name === "else" || this.rt.test(branch.tests[0]!)) {
        this.block(branch.block ?? []);
        break;
      }
    }
    return end;
  }

  private command(command: CompiledCommand): void {
    switch (command.name) {
      case "require":
        return;
      case "stop":
        throw new Stop();
      case "return":
        throw new Return();
      case "global":
        for (const name of arg<string[]>(command.args, 0)) this.rt.scope.globals.add(name.toLowerCase());
        return;
      case "include":
        this.include(command);
        return;
      default:
        command.def.execute!(this.rt, command);
    }
  }

  /** RFC 6609 §3.2: scripts are looked up through the environment; loops and depth are errors. */
  private include(command: CompiledCommand): void {
    const { rt } = this;
    const name = arg<string>(command.args, 0);
    const location: IncludeLocation = command.args.tags.has("global") ? "global" : "personal";
    const key = `${location}:${name}`;
    if (command.args.tags.has("once") && this.included.has(key)) return;
    if (this.active.includes(key)) rt.fail(`include: "${name}" includes itself (RFC 6609 §3.2)`, command.pos);
    if (this.active.length >= rt.limits.maxIncludeDepth)
      rt.fail(`include: nested deeper than ${rt.limits.maxIncludeDepth}`, command.pos, "limit");
    if (++this.includes > rt.limits.maxIncludes)
      rt.fail(`more than ${rt.limits.maxIncludes} includes`, command.pos, "limit");
    const script = this.load(location, name, command);
    if (script === null) return;
    this.included.add(key);
    this.active.push(key);
    const outer = rt.scope;
    rt.scope = {
      name: `${location} script "${name}"`,
      capabilities: script.capabilities,
      variables: new Map(),
      globals: new Set(),
    };
    try {
      this.block(script.commands);
    } catch (e) {
      if (!(e instanceof Return)) throw e;
    } finally {
      rt.scope = outer;
      this.active.pop();
    }
  }

  private load(location: IncludeLocation, name: string, command: CompiledCommand): CompiledScript | null {
    const key = `${location}:${name}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const source = this.rt.env.include?.(location, name) ?? null;
    if (source === null) {
      if (command.args.tags.has("optional")) return null;
      return this.rt.fail(`include: no ${location} script "${name}"`, command.pos);
    }
    try {
      const script = compileScript(source, this.rt.limits);
      this.cache.set(key, script);
      return script;
    } catch (e) {
      if (!(e instanceof SieveError)) throw e;
      return this.rt.fail(`include: ${location} script "${name}": ${e.message}`, command.pos);
    }
  }
}

/** Parses and validates; throws the first error. */
export function compileScript(source: string, limits: SieveLimits = DEFAULT_LIMITS): CompiledScript {
  const { script, errors } = validate(parse(source, limits));
  if (errors.length > 0) throw errors[0];
  return script;
}

export function evaluate(script: CompiledScript, input: EvaluateInput): EvaluateResult {
  const limits = { ...DEFAULT_LIMITS, ...input.limits };
  const message = new MessageView(input.message);
  const actions = new ActionList(limits);
  const main = {
    name: null,
    capabilities: script.capabilities,
    variables: new Map(),
    globals: new Set<string>(),
  };
  const rt = new Runtime(message, input.envelope, input.environment ?? {}, limits, actions, main);
  try {
    new Interpreter(rt).block(script.commands);
  } catch (e) {
    if (e instanceof SieveError) {
      const keep: SieveAction = { type: "keep", flags: [], implicit: true };
      return { status: "error", error: e, actions: [keep], message: input.message };
    }
    if (!(e instanceof Stop)) throw e;
  }
  return { status: "ok", actions: actions.final(rt.flags), message: message.toBuffer() };
}
