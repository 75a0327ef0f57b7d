/**
 * The Sieve engine (RFC 5228 and extensions), sans IO: `check` a script as ManageSieve CHECKSCRIPT
 * would, `compile` it once, `evaluate` it per message into the actions the caller carries out.
 */
import { SieveError } from "./errors.js";
import { compileScript } from "./interpreter.js";
import { DEFAULT_LIMITS, type SieveLimits } from "./limits.js";
import { parse } from "./parser.js";
import { type CompiledScript, validate } from "./validator.js";

export type { SieveAction, VacationAction } from "./actions.js";
export type { ScriptNode } from "./ast.js";
export { type Position, SieveError, type SieveErrorKind } from "./errors.js";
export { type EvaluateInput, type EvaluateResult, evaluate } from "./interpreter.js";
export { DEFAULT_LIMITS, type SieveLimits } from "./limits.js";
export { CAPABILITIES } from "./registry.js";
export type { Envelope, IncludeLocation, SieveEnvironment } from "./runtime.js";
export type { CompiledScript } from "./validator.js";
export { parse };

/** Every error of `source`, in order; empty when the script is valid. */
export function check(source: string, limits: Partial<SieveLimits> = {}): SieveError[] {
  try {
    return validate(parse(source, { ...DEFAULT_LIMITS, ...limits })).errors;
  } catch (e) {
    if (e instanceof SieveError) return [e];
    throw e;
  }
}

/** A runnable script; throws the first SieveError of an invalid one. */
export function compile(source: string, limits: Partial<SieveLimits> = {}): CompiledScript {
  return compileScript(source, { ...DEFAULT_LIMITS, ...limits });
}
