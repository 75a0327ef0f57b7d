/**
 * The arguments most tests share — COMPARATOR, MATCH-TYPE (RFC 5228 §2.7, RFC 5231 :count/:value, the
 * regex draft) and :index (RFC 5260 §6) — their checks, and matching values against keys with them.
 */
import { COMPARATORS, type Comparator, comparatorCapability } from "./comparator.js";
import type { CompiledTest } from "./definition.js";
import { arg, type CheckContext, tag } from "./definition.js";
import type { Position } from "./errors.js";
import { compileRegex } from "./regex.js";
import type { Runtime } from "./runtime.js";
import type { BoundArgs, PositionalSpec, TagSpec } from "./signature.js";
import { wildcardMatch } from "./wildcard.js";

export const MATCH_TAGS: Record<string, TagSpec> = {
  comparator: { arg: "string" },
  is: { group: "match" },
  contains: { group: "match" },
  matches: { group: "match" },
  regex: { group: "match", requires: "regex" },
  count: { group: "match", arg: "string", requires: "relational" },
  value: { group: "match", arg: "string", requires: "relational" },
};

export const INDEX_TAGS: Record<string, TagSpec> = {
  index: { arg: "number", requires: "index" },
  last: { requires: "index" },
};

const RELATIONS: Record<string, (order: number) => boolean> = {
  gt: (o) => o > 0,
  ge: (o) => o >= 0,
  lt: (o) => o < 0,
  le: (o) => o <= 0,
  eq: (o) => o === 0,
  ne: (o) => o !== 0,
};

export type MatchType = "is" | "contains" | "matches" | "regex" | "count" | "value";

export interface MatchSpec {
  comparator: Comparator;
  type: MatchType;
  relation: (order: number) => boolean;
}

const TYPES: readonly MatchType[] = ["is", "contains", "matches", "regex", "count", "value"];

export function matchSpec(args: BoundArgs): MatchSpec {
  const type = TYPES.find((t) => args.tags.has(t)) ?? "is";
  const relation = tag<string>(args, type) ?? "eq";
  return {
    comparator: COMPARATORS[(tag<string>(args, "comparator") ?? "i;ascii-casemap").toLowerCase()]!,
    type,
    relation: RELATIONS[typeof relation === "string" ? relation.toLowerCase() : "eq"]!,
  };
}

/** Checks comparator, relation and (for constant keys) regexes; `keys` are the key-list, when known. */
export function checkMatch(args: BoundArgs, ctx: CheckContext, keys: readonly string[] = []): void {
  const comparator = args.tags.get("comparator");
  const name = typeof comparator?.value === "string" ? comparator.value.toLowerCase() : "i;ascii-casemap";
  if (comparator !== undefined) {
    const capability = comparatorCapability(name);
    if (COMPARATORS[name] === undefined) ctx.error(`unknown comparator "${name}"`, comparator.pos);
    else if (capability !== null && !ctx.has(capability))
      ctx.error(`comparator "${name}" needs require "${capability}"`, comparator.pos);
  }
  for (const type of ["count", "value"]) {
    const relation = args.tags.get(type);
    if (typeof relation?.value === "string" && RELATIONS[relation.value.toLowerCase()] === undefined)
      ctx.error(`unknown relation "${relation.value}" (expected gt, ge, lt, le, eq or ne)`, relation.pos);
  }
  const substring = ["contains", "matches", "regex"].find((t) => args.tags.has(t));
  if (substring !== undefined && COMPARATORS[name]?.fold === null)
    ctx.error(
      `comparator "${name}" does not support :${substring} (RFC 4790 §9.1)`,
      args.tags.get(substring)!.pos,
    );
  const regex = args.tags.get("regex");
  if (regex !== undefined && !ctx.has("variables")) {
    for (const key of keys) {
      try {
        compileRegex(key, false, Number.POSITIVE_INFINITY);
      } catch (e) {
        ctx.error(`invalid regular expression "${key}": ${(e as Error).message}`, regex.pos);
      }
    }
  }
}

export function checkIndex(args: BoundArgs, ctx: CheckContext): void {
  const last = args.tags.get("last");
  if (last !== undefined && !args.tags.has("index")) ctx.error(":last needs :index (RFC 5260 §6)", last.pos);
  const index = args.tags.get("index");
  if (index !== undefined && index.value === 0) ctx.error(":index counts from 1", index.pos);
}

/** The occurrences :index/:last select from `values` (RFC 5260 §6), all of them without :index. */
export function selectIndex<T>(args: BoundArgs, values: readonly T[]): T[] {
  const index = tag<number>(args, "index");
  if (index === undefined) return [...values];
  const at = args.tags.has("last") ? values.length - index : index - 1;
  const value = values[at];
  return at >= 0 && value !== undefined ? [value] : [];
}

function matchOne(rt: Runtime, spec: MatchSpec, value: string, key: string, pos: Position): string[] | null {
  const { comparator } = spec;
  switch (spec.type) {
    case "is":
      return comparator.equals(value, key) ? [] : null;
    case "value":
      return spec.relation(comparator.compare(value, key)) ? [] : null;
    case "contains":
      return comparator.fold!(value).includes(comparator.fold!(key)) ? [] : null;
    case "matches": {
      const captures = wildcardMatch(comparator.fold!(key), comparator.fold!(value), value);
      return captures === null ? null : [value, ...captures];
    }
    case "regex": {
      let regex: RegExp;
      try {
        regex = compileRegex(key, comparator.name === "i;ascii-casemap", rt.limits.maxRegexLength);
      } catch (e) {
        return rt.fail(`invalid regular expression "${key}": ${(e as Error).message}`, pos);
      }
      const found = regex.exec(value);
      return found === null ? null : Array.from(found, (group) => group ?? "");
    }
    case "count":
      return null;
  }
}

/**
 * Whether any value matches any key (RFC 5228 §2.7.1); :count compares the number of values instead
 * (RFC 5231 §4.2). A successful :matches or :regex sets the match variables (RFC 5229 §3.2).
 */
export function matchAny(
  rt: Runtime,
  spec: MatchSpec,
  values: readonly string[],
  keys: readonly string[],
  pos: Position,
): boolean {
  if (spec.type === "count") {
    const count = String(values.length);
    return keys.some((key) => {
      rt.step();
      return spec.relation(spec.comparator.compare(count, key));
    });
  }
  for (const value of values) {
    for (const key of keys) {
      rt.step();
      const captures = matchOne(rt, spec, value, key, pos);
      if (captures === null) continue;
      if (spec.type === "matches" || spec.type === "regex") rt.setMatchVariables(captures);
      return true;
    }
  }
  return false;
}

/** The positional arguments of most tests: what to look at, then the key list. */
export function keyed(subject: string): PositionalSpec[] {
  return [
    { name: subject, type: "string-list" },
    { name: "key list", type: "string-list" },
  ];
}

/** matchAny with the test's own match arguments and its key list, the positional argument `keyIndex`. */
export function matchKeys(
  rt: Runtime,
  node: CompiledTest,
  values: readonly string[],
  keyIndex: number,
): boolean {
  return matchAny(
    rt,
    matchSpec(node.args),
    values,
    rt.expandList(arg<string[]>(node.args, keyIndex)),
    node.pos,
  );
}
