// Pruned models kept across the cases of one task: a task whose cases differ only in how the
// model is timed or scored (a batch size, a text) prunes each method once per run, with
// calibration rows drawn from the task's seed, so every case measures the same pruned model.
import { paramsKey } from "../../plan.ts";
import type { Method, ParamValues } from "../../metadata.ts";

/** The most pruned models a cache keeps (the oldest go first). */
export const PRUNED_CACHE_ENTRIES = 48;

/** What a pruned model depends on. */
export interface PrunedModelKey {
  method: Method;
  params: ParamValues;
  /** What the calibration was, e.g. "rows=1024,seed=77". */
  calibration: string;
}

/**
 * A small least-recently-built cache of pruned models, keyed by method, parameters and what
 * the calibration was.
 *
 * @example
 * ```ts
 * import { PrunedModelCache } from "./mod.ts";
 * const cache = new PrunedModelCache<{ id: number }>();
 * let built = 0;
 * const method = { meta: { id: "m" } } as never;
 * const key = { method, params: {}, calibration: "rows=8,seed=1" };
 * await cache.get(key, () => Promise.resolve({ id: built++ }));
 * await cache.get(key, () => Promise.resolve({ id: built++ }));
 * built; // 1
 * ```
 */
export class PrunedModelCache<T> {
  readonly #entries = new Map<string, Promise<T>>();

  /**
   * The pruned model for this method, parameters and calibration, built by `build` the first
   * time (a failed build is forgotten, so the next cell tries again).
   */
  get(of: PrunedModelKey, build: () => Promise<T>): Promise<T> {
    const key = `${of.method.meta.id}|${paramsKey(of.params)}|${of.calibration}`;
    const hit = this.#entries.get(key);
    if (hit) return hit;
    const built = build();
    built.catch(() => this.#entries.delete(key));
    this.#entries.set(key, built);
    while (this.#entries.size > PRUNED_CACHE_ENTRIES) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    return built;
  }
}
