// The "ids" argument of a /get (RFC 8620 §5.1): null for all, or a list of ids, at most maxObjectsInGet.

import { invalidArguments, MethodError } from "./errors.js";
import type { JsonObject } from "./types.js";

/** The distinct ids asked for, or null for "all"; refuses a wrong shape and a list over the limit. */
export function readIds(args: JsonObject, maxObjects: number, method: string): string[] | null {
  const { ids } = args;
  if (ids === null || ids === undefined) return null;
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== "string")) {
    throw invalidArguments('"ids" must be an array of ids or null');
  }
  const wanted = [...new Set(ids as string[])];
  if (wanted.length > maxObjects) {
    throw new MethodError("requestTooLarge", `at most ${maxObjects} ids per ${method} (maxObjectsInGet)`);
  }
  return wanted;
}
