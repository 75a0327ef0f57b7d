// Result references (RFC 8620 §3.7): an argument "#name" whose value is {resultOf, name, path} takes
// its value from an earlier response of the same request.

import { MethodError } from "./errors.js";
import { evaluatePointer, PointerError } from "./pointer.js";
import type { Invocation, Json, JsonObject } from "./types.js";

/** The arguments with every "#name" replaced by what it refers to; throws MethodError otherwise. */
export function resolveReferences(args: JsonObject, earlier: readonly Invocation[]): JsonObject {
  const resolved: JsonObject = {};
  for (const [key, value] of Object.entries(args)) {
    if (!key.startsWith("#")) {
      resolved[key] = value;
      continue;
    }
    const name = key.slice(1);
    if (Object.hasOwn(args, name)) {
      throw new MethodError("invalidArguments", `both "${name}" and "${key}" are given; send one of them`);
    }
    resolved[name] = resolveOne(key, value, earlier);
  }
  return resolved;
}

function resolveOne(key: string, reference: Json, earlier: readonly Invocation[]): Json {
  if (
    reference === null ||
    typeof reference !== "object" ||
    Array.isArray(reference) ||
    typeof reference.resultOf !== "string" ||
    typeof reference.name !== "string" ||
    typeof reference.path !== "string"
  ) {
    throw new MethodError(
      "invalidResultReference",
      `${key} must be a ResultReference: an object with string resultOf, name and path`,
    );
  }
  const { resultOf, name, path } = reference;
  const response = earlier.find(([, , callId]) => callId === resultOf);
  if (response === undefined) {
    throw new MethodError(
      "invalidResultReference",
      `${key}: no earlier method call has the id "${resultOf}"`,
    );
  }
  if (response[0] !== name) {
    throw new MethodError(
      "invalidResultReference",
      `${key}: the response to "${resultOf}" is ${response[0]}, not ${name}`,
    );
  }
  try {
    return evaluatePointer(response[1], path);
  } catch (error) {
    if (error instanceof PointerError) {
      throw new MethodError("invalidResultReference", `${key}: ${error.message}`);
    }
    throw error;
  }
}
