/** What a command or test is: its signature, its compile-time checks and what it does at run time. */
import type { Position } from "./errors.js";
import type { Runtime } from "./runtime.js";
import type { BoundArgs, ErrorSink, Signature, Value } from "./signature.js";

export interface CheckContext {
  error: ErrorSink;
  /** Whether the script required the capability. */
  has(capability: string): boolean;
}

export interface CompiledTest {
  name: string;
  def: TestDef;
  args: BoundArgs;
  tests: CompiledTest[];
  pos: Position;
}

export interface CompiledCommand {
  name: string;
  def: CommandDef;
  args: BoundArgs;
  tests: CompiledTest[];
  block: CompiledCommand[] | null;
  pos: Position;
}

interface Definition {
  name: string;
  /** The capability "require" must name before the script may use it; none for core ones. */
  extension?: string;
  signature: Signature;
  check?(args: BoundArgs, ctx: CheckContext, pos: Position): void;
}

export interface TestDef extends Definition {
  kind: "test";
  evaluate(rt: Runtime, node: CompiledTest): boolean;
}

export interface CommandDef extends Definition {
  kind: "command";
  /** Control commands (if, require, stop…) have no execute: the interpreter runs them itself. */
  execute?(rt: Runtime, node: CompiledCommand): void;
}

export function tag<T extends Value>(args: BoundArgs, name: string): T | undefined {
  return args.tags.get(name)?.value as T | undefined;
}

export function arg<T extends Value>(args: BoundArgs, index: number): T {
  return args.positional[index]?.value as T;
}

/** The value of an optional positional argument, undefined when it was not given. */
export function optionalArg<T extends Value>(args: BoundArgs, index: number): T | undefined {
  return args.positional[index]?.value as T | undefined;
}
