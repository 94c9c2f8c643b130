// Which recipes a `full` run re-trains: one of each kind, walking each kind's list one step a run,
// so the nightly re-trains every recipe once every (length of the longest list) nights.
import type { RecipeKind } from "../train.ts";

/** A recipe as the rotation sees it: its name and the check it belongs to. */
export interface RotationEntry {
  name: string;
  kind: RecipeKind;
}

/** One recipe chosen for a run, with where it sits in its kind's list. */
export interface RotationPick {
  kind: RecipeKind;
  name: string;
  /** Its index in the kind's sorted list, and the list's length. */
  slot: number;
  of: number;
}

const DAY_MS = 86_400_000;

/**
 * The run index of a date: whole UTC days since 1970-01-01, so one nightly run a day steps the
 * rotation by one.
 *
 * @param date the run's start
 * @returns days since the epoch, UTC
 */
export function runIndexOfDate(date: Date): number {
  return Math.floor(date.getTime() / DAY_MS);
}

/**
 * The recipes run `runIndex` re-trains: for each kind present, the name at
 * `runIndex mod n` of that kind's names sorted by code point (so the order does not depend on
 * registry order; a recipe added to a registry joins the walk at its sorted place).
 *
 * @param entries every retrainable recipe (from the registries, at run time)
 * @param runIndex any integer, e.g. {@link runIndexOfDate}
 * @returns one pick per kind, kinds in sorted order
 * @throws {RangeError} when `runIndex` is not an integer
 * @example
 * ```ts
 * import { rotationSample } from "./rotation.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 * const picks = rotationSample([
 *   { name: "b", kind: "moe-gate" },
 *   { name: "a", kind: "moe-gate" },
 *   { name: "s", kind: "sparse-training" },
 * ], 3);
 * assertEquals(picks.map((p) => p.name), ["b", "s"]);
 * ```
 */
export function rotationSample(
  entries: readonly RotationEntry[],
  runIndex: number,
): RotationPick[] {
  if (!Number.isInteger(runIndex)) {
    throw new RangeError(
      `Cannot rotate as 'runIndex' must be an integer: current value is ${runIndex}`,
    );
  }
  const byKind = new Map<RecipeKind, string[]>();
  for (const { name, kind } of entries) {
    const names = byKind.get(kind) ?? [];
    if (!names.includes(name)) names.push(name);
    byKind.set(kind, names);
  }
  return [...byKind.keys()].sort().map((kind) => {
    const names = byKind.get(kind)!.sort();
    const slot = ((runIndex % names.length) + names.length) % names.length;
    return { kind, name: names[slot], slot, of: names.length };
  });
}
