// Wraps a store so a test can count or delay calls to some methods of some parts while every other
// method, of those parts too, stays the store's own.

import type { Store } from "../../src/store/types.js";

type PartName = Exclude<keyof Store, "kind" | "close">;
type Overrides = { [K in PartName]?: (original: NonNullable<Store[K]>) => Partial<NonNullable<Store[K]>> };

function overlay<T extends object>(target: T, replacements: Record<PropertyKey, unknown>): T {
  return new Proxy(target, {
    get(object, key) {
      if (Object.hasOwn(replacements, key)) return replacements[key];
      const value = Reflect.get(object, key, object);
      return typeof value === "function" ? value.bind(object) : value;
    },
  });
}

/** The store with the given parts' methods replaced; each replacement gets the original part to call. */
export function spyStore(store: Store, overrides: Overrides): Store {
  const parts: Record<PropertyKey, unknown> = {};
  for (const [name, make] of Object.entries(overrides) as Array<[PartName, (original: object) => object]>) {
    const original = store[name] as object;
    parts[name] = overlay(original, make(original) as Record<PropertyKey, unknown>);
  }
  return overlay(store, parts);
}
