// Caching for CPU references: the runner asks for a method's selection row by row, while most
// methods choose for a whole head or query block at once.
import type { AttentionInputs } from "./_interface.ts";

/**
 * A cache of one computation per input and key: `cached(inputs, key, make)` runs `make` the first
 * time and returns its result after. Entries live as long as the inputs do (a WeakMap on q).
 *
 * @returns the lookup function
 * @example
 * ```ts
 * import { perInputCache } from "./mod.ts";
 * const cached = perInputCache<number>();
 * const inputs = { q: new Float32Array(4), k: new Float32Array(4), v: new Float32Array(4) };
 * cached(inputs, "a", () => 1);
 * cached(inputs, "a", () => 2); // 1
 * ```
 */
export function perInputCache<T>(): (inputs: AttentionInputs, key: string, make: () => T) => T {
  const cache = new WeakMap<Float32Array, Map<string, T>>();
  return (inputs, key, make) => {
    let byKey = cache.get(inputs.q);
    if (!byKey) cache.set(inputs.q, byKey = new Map());
    let value = byKey.get(key);
    if (value === undefined) byKey.set(key, value = make());
    return value;
  };
}
