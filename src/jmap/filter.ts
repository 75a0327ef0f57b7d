// The FilterOperator tree every /query shares (RFC 8620 §5.5): AND, OR and NOT over conditions, each
// condition an object whose keys a type defines. Compiled once, before any record is read, so a bad
// filter is refused whole.

import { invalidArguments, MethodError } from "./errors.js";
import type { Json } from "./types.js";

export type Condition<T> = (record: T) => boolean;

/**
 * `property` turns one key and value of a FilterCondition into a test, or throws unsupportedFilter;
 * every key of a condition must hold.
 */
export function compileFilter<T>(
  filter: Json | undefined,
  property: (key: string, value: Json) => Condition<T>,
): Condition<T> {
  if (filter === undefined || filter === null) return () => true;
  if (typeof filter !== "object" || Array.isArray(filter))
    throw invalidArguments('"filter" must be an object or null');
  if ("operator" in filter) {
    const { operator, conditions } = filter;
    if (!Array.isArray(conditions))
      throw new MethodError("unsupportedFilter", "a FilterOperator needs a conditions array");
    const parts = conditions.map((condition) => compileFilter(condition, property));
    switch (operator) {
      case "AND":
        return (record) => parts.every((part) => part(record));
      case "OR":
        return (record) => parts.some((part) => part(record));
      case "NOT":
        return (record) => !parts.some((part) => part(record));
      default:
        throw new MethodError(
          "unsupportedFilter",
          `unknown filter operator ${JSON.stringify(operator)}; use AND, OR or NOT`,
        );
    }
  }
  const tests = Object.entries(filter).map(([key, value]) => property(key, value));
  return (record) => tests.every((test) => test(record));
}
