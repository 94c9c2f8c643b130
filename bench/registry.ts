// Explicit, freezable registries of methods and tasks that refuse duplicates and answer unknown
// ids with close matches.
import { unknownNameMessage } from "./suggest.ts";

/** Thrown for a duplicate id, an unknown id, or a change to a frozen registry. */
export class RegistryError extends Error {
  override name = "RegistryError";
}

/**
 * A registry of plugins keyed by `meta.id`.
 *
 * @example
 * ```ts
 * import { Registry } from "./registry.ts";
 * import { assertEquals, assertThrows } from "../tests/assert.ts";
 * const tasks = new Registry("task", [{ meta: { id: "needle-retrieval" } }]).freeze();
 * assertEquals(tasks.ids(), ["needle-retrieval"]);
 * // An unknown id is answered with the close matches.
 * assertThrows(() => tasks.get("needle-retreival"), Error, "needle-retrieval");
 * // A frozen registry takes no more.
 * assertThrows(() => tasks.register({ meta: { id: "other" } }), Error, "frozen");
 * ```
 */
export class Registry<T extends { readonly meta: { readonly id: string } }> {
  readonly #kind: string;
  readonly #items = new Map<string, T>();
  #frozen = false;

  /**
   * @param kind what the registry holds, for messages ("method", "task")
   * @param items the initial list, registered in order
   * @throws {RegistryError} on a duplicate id
   */
  constructor(kind: string, items: readonly T[] = []) {
    this.#kind = kind;
    for (const item of items) this.register(item);
  }

  /** Adds one plugin. @throws {RegistryError} on a duplicate id or when frozen */
  register(item: T): void {
    if (this.#frozen) {
      throw new RegistryError(
        `Cannot register ${this.#kind} '${item.meta.id}': the registry is frozen for this run`,
      );
    }
    if (this.#items.has(item.meta.id)) {
      throw new RegistryError(
        `Cannot register ${this.#kind} '${item.meta.id}': that id is already registered`,
      );
    }
    this.#items.set(item.meta.id, item);
  }

  /** Refuses further registration; called before a run starts. */
  freeze(): this {
    this.#frozen = true;
    return this;
  }

  get frozen(): boolean {
    return this.#frozen;
  }

  has(id: string): boolean {
    return this.#items.has(id);
  }

  /** @throws {RegistryError} naming close matches and every valid id when `id` is unknown */
  get(id: string): T {
    const item = this.#items.get(id);
    if (!item) throw new RegistryError(unknownNameMessage(this.#kind, id, this.ids()));
    return item;
  }

  ids(): string[] {
    return [...this.#items.keys()];
  }

  list(): T[] {
    return [...this.#items.values()];
  }
}
