// JSON Pointer (RFC 6901) with JMAP's one extension (RFC 8620 §3.7): a "*" token over an array applies
// the rest of the pointer to every item, and items that come out as arrays are flattened into the result.

import type { Json } from "./types.js";

/** Why a pointer does not resolve; the caller turns it into invalidResultReference. */
export class PointerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PointerError";
  }
}

export function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/"))
    throw new PointerError(`the path ${JSON.stringify(pointer)} must start with "/"`);
  return pointer
    .slice(1)
    .split("/")
    .map((token) => {
      if (/~(?![01])/.test(token))
        throw new PointerError(`the path has "~" not followed by 0 or 1 in ${JSON.stringify(token)}`);
      // RFC 6901 §4: ~1 before ~0, so "~01" decodes to "~1", not "/".
      return token.replace(/~1/g, "/").replace(/~0/g, "~");
    });
}

export function evaluatePointer(document: Json, pointer: string): Json {
  return walk(document, parsePointer(pointer), "");
}

function walk(value: Json, tokens: readonly string[], at: string): Json {
  if (tokens.length === 0) return value;
  const [token, ...rest] = tokens as [string, ...string[]];
  const here = `${at}/${token}`;
  if (Array.isArray(value)) {
    if (token === "*") {
      const results: Json[] = [];
      for (const [index, item] of value.entries()) {
        const result = walk(item, rest, `${at}/${index}`);
        if (Array.isArray(result)) results.push(...result);
        else results.push(result);
      }
      return results;
    }
    // RFC 6901 §4: array indexes are decimal without leading zeros; "-" names no existing item.
    if (!/^(0|[1-9][0-9]*)$/.test(token) || Number(token) >= value.length) {
      throw new PointerError(`${here} names no item of an array of ${value.length}`);
    }
    return walk(value[Number(token)] as Json, rest, here);
  }
  if (value !== null && typeof value === "object") {
    if (!Object.hasOwn(value, token)) throw new PointerError(`${here} names no property`);
    return walk(value[token] as Json, rest, here);
  }
  throw new PointerError(
    `${here} goes into a ${value === null ? "null" : typeof value}, not an object or array`,
  );
}
