/**
 * The shape of a command's or test's arguments (RFC 5228 §2.6: tagged arguments first, then positional
 * ones), and binding a parsed argument list to it.
 */
import type { Argument, StringNode } from "./ast.js";
import type { Position } from "./errors.js";

export type ArgType = "string" | "string-list" | "number";

export interface TagSpec {
  /** The type of the argument that follows the tag, if it takes one. */
  arg?: ArgType;
  /** Tags of one group exclude each other (":is" and ":contains", ":over" and ":under"). */
  group?: string;
  /** The capability a script must require to use the tag. */
  requires?: string;
}

export interface PositionalSpec {
  name: string;
  type: ArgType;
  /** Filled only when the command is given all its positional arguments. */
  optional?: boolean;
}

export interface Signature {
  tags?: Record<string, TagSpec>;
  positional?: PositionalSpec[];
  /** A group of which one tag must be given (":over"/":under" of size). */
  requiredGroup?: string;
  tests?: "none" | "one" | "list";
  block?: boolean;
}

export type Value = string | string[] | number | true;

export interface Bound<T extends Value = Value> {
  value: T;
  pos: Position;
}

export interface BoundArgs {
  tags: Map<string, Bound>;
  positional: Array<Bound | undefined>;
}

export type ErrorSink = (reason: string, pos: Position) => void;

function typeName(arg: Argument): string {
  return arg.kind === "list" ? "string list" : arg.kind;
}

function argumentValue(arg: Argument, type: ArgType): Value | null {
  if (type === "number") return arg.kind === "number" ? arg.value : null;
  if (type === "string") return arg.kind === "string" ? arg.value : null;
  if (arg.kind === "string") return [arg.value];
  if (arg.kind === "list") return arg.items.map((item: StringNode) => item.value);
  return null;
}

const TYPE_NAMES: Record<ArgType, string> = {
  string: "a string",
  "string-list": "a string list",
  number: "a number",
};

/** Binds `args` to `signature`, reporting every mismatch; `name` is the command or test, for messages. */
export function bind(
  name: string,
  signature: Signature,
  args: readonly Argument[],
  pos: Position,
  error: ErrorSink,
): BoundArgs {
  const tags = new Map<string, Bound>();
  const groups = new Map<string, string>();
  const positionalArgs: Argument[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg.kind !== "tag") {
      positionalArgs.push(arg);
      continue;
    }
    const spec = signature.tags?.[arg.name];
    if (spec === undefined) {
      error(`${name}: unknown tag ":${arg.name}"`, arg.pos);
      continue;
    }
    if (positionalArgs.length > 0)
      error(`${name}: tag ":${arg.name}" must come before positional arguments`, arg.pos);
    if (tags.has(arg.name)) error(`${name}: tag ":${arg.name}" given twice`, arg.pos);
    if (spec.group !== undefined) {
      const other = groups.get(spec.group);
      if (other !== undefined && other !== arg.name)
        error(`${name}: ":${arg.name}" cannot be combined with ":${other}"`, arg.pos);
      groups.set(spec.group, arg.name);
    }
    let value: Value = true;
    if (spec.arg !== undefined) {
      const next = args[i + 1];
      const bound = next === undefined ? null : argumentValue(next, spec.arg);
      if (bound === null) {
        error(`${name}: ":${arg.name}" needs ${TYPE_NAMES[spec.arg]}`, next?.pos ?? arg.pos);
      } else {
        value = bound;
        i++;
      }
    }
    tags.set(arg.name, { value, pos: arg.pos });
  }
  if (signature.requiredGroup !== undefined && !groups.has(signature.requiredGroup)) {
    const names = Object.entries(signature.tags ?? {})
      .filter(([, spec]) => spec.group === signature.requiredGroup)
      .map(([tag]) => `:${tag}`);
    error(`${name}: needs one of ${names.join(", ")}`, pos);
  }
  return { tags, positional: bindPositional(name, signature.positional ?? [], positionalArgs, pos, error) };
}

function bindPositional(
  name: string,
  specs: readonly PositionalSpec[],
  args: readonly Argument[],
  pos: Position,
  error: ErrorSink,
): Array<Bound | undefined> {
  const required = specs.filter((spec) => !spec.optional).length;
  if (args.length < required || args.length > specs.length) {
    const expected = required === specs.length ? `${required}` : `${required} to ${specs.length}`;
    error(
      `${name}: expected ${expected} positional argument(s), found ${args.length}`,
      args[specs.length]?.pos ?? pos,
    );
    return [];
  }
  const fillOptional = args.length === specs.length;
  const out: Array<Bound | undefined> = [];
  let next = 0;
  for (const spec of specs) {
    if (spec.optional && !fillOptional) {
      out.push(undefined);
      continue;
    }
    const arg = args[next++]!;
    const value = argumentValue(arg, spec.type);
    if (value === null)
      error(`${name}: ${spec.name} must be ${TYPE_NAMES[spec.type]}, found ${typeName(arg)}`, arg.pos);
    out.push(value === null ? undefined : { value, pos: arg.pos });
  }
  return out;
}
