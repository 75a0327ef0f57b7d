// Store latency, measured once at the seam every caller goes through: the Store handed to the server's
// parts is this view of it, which times each part method that returns a promise. Labels are the
// part's and method's names, so their set is the Store interface's (bounded by the code, not by input).

import type { Store } from "../store/types.js";
import type { Metrics } from "./metrics.js";

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

function timedPart<T extends object>(part: T, name: string, metrics: Metrics): T {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(part, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || typeof property !== "string") return value;
      let timed = wrapped.get(property);
      if (timed === undefined) {
        timed = (...args: unknown[]) => {
          const stop = metrics.storeTimer(name, property);
          // Called on the part itself: backends keep private state that a proxy receiver cannot reach.
          const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (isThenable(result)) {
            return Promise.resolve(result).finally(stop);
          }
          return result;
        };
        wrapped.set(property, timed);
      }
      return timed;
    },
  });
}

export function timedStore(store: Store, metrics: Metrics): Store {
  const parts = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (typeof value === "function") return value.bind(target);
      if (value === null || typeof value !== "object" || typeof property !== "string") return value;
      let part = parts.get(property);
      if (part === undefined) {
        part = timedPart(value, property, metrics);
        parts.set(property, part);
      }
      return part;
    },
  });
}
