// The "ids" and "properties" arguments of a /get (RFC 8620 §5.1): null for all, or a list of ids (at most
// maxObjectsInGet) or of property names.

import { invalidArguments, MethodError } from "./errors.js";
import type { JsonObject, MethodContext } from "./types.js";

/**
 * The distinct ids asked for, or null for "all"; refuses a wrong shape and a list over the limit.
 * "#creationId" becomes the id an earlier /set in the request created (RFC 8620 §5.3).
 */
export function readIds(
  args: JsonObject,
  maxObjects: number,
  method: string,
  context: MethodContext,
): string[] | null {
  const { ids } = args;
  if (ids === null || ids === undefined) return null;
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== "string")) {
    throw invalidArguments('"ids" must be an array of ids or null');
  }
  const wanted = [
    ...new Set(
      (ids as string[]).map((id) => (id.startsWith("#") ? (context.createdIds.get(id.slice(1)) ?? id) : id)),
    ),
  ];
  if (wanted.length > maxObjects) {
    throw new MethodError("requestTooLarge", `at most ${maxObjects} ids per ${method} (maxObjectsInGet)`);
  }
  return wanted;
}

/** The properties asked for, always with "id" (RFC 8620 §5.1), or null for all; refuses unknown names. */
export function readProperties(args: JsonObject, names: readonly string[]): Set<string> | null {
  const { properties } = args;
  if (properties === undefined || properties === null) return null;
  if (
    !Array.isArray(properties) ||
    properties.some((name) => !(names as readonly unknown[]).includes(name))
  ) {
    throw invalidArguments(`"properties" must be null or a list of ${names.join(", ")}`);
  }
  return new Set(["id", ...(properties as string[])]);
}
