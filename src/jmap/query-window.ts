// The window of a /query answer (RFC 8620 §5.5): position or anchor with anchorOffset, limit, and the
// total, the same for every data type.

import { invalidArguments, MethodError } from "./errors.js";
import type { JsonObject } from "./types.js";

export interface QueryWindow {
  position: number;
  anchor: string | null;
  anchorOffset: number;
  limit: number | null;
  calculateTotal: boolean;
}

function integer(args: JsonObject, key: string, fallback: number | null, min: number): number | null {
  const value = args[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw invalidArguments(`"${key}" must be an integer of at least ${min}`);
  }
  return value;
}

/** Reads the window arguments, checked before any work is done. */
export function readWindow(args: JsonObject): QueryWindow {
  const anchor = args.anchor ?? null;
  if (anchor !== null && typeof anchor !== "string") throw invalidArguments('"anchor" must be an id or null');
  return {
    position: integer(args, "position", 0, Number.MIN_SAFE_INTEGER) as number,
    anchor,
    anchorOffset: integer(args, "anchorOffset", 0, Number.MIN_SAFE_INTEGER) as number,
    limit: integer(args, "limit", null, 0),
    calculateTotal: args.calculateTotal === true,
  };
}

/**
 * The page of `ids` the window selects. A negative position counts from the end; an anchor overrides
 * position and must be among the results (anchorNotFound otherwise). `maxLimit` caps the page; the
 * answer then says the limit it used (RFC 8620 §5.5 "limit").
 */
export function applyWindow(
  ids: readonly string[],
  window: QueryWindow,
  maxLimit: number | null = null,
): JsonObject {
  let start: number;
  if (window.anchor !== null) {
    const at = ids.indexOf(window.anchor);
    if (at === -1)
      throw new MethodError("anchorNotFound", `the anchor ${window.anchor} is not in the results`);
    start = Math.max(0, at + window.anchorOffset);
  } else {
    start = window.position < 0 ? Math.max(0, ids.length + window.position) : window.position;
  }
  const capped = maxLimit !== null && (window.limit === null || window.limit > maxLimit);
  const limit = capped ? maxLimit : window.limit;
  return {
    position: Math.min(start, ids.length),
    ids: ids.slice(start, limit === null ? undefined : start + limit),
    ...(window.calculateTotal ? { total: ids.length } : {}),
    ...(capped ? { limit } : {}),
  };
}
