// Parameter specs the family's trained methods share, declared with their literal types so each
// method's hooks get typed values.
import type { ParamSpec } from "../../metadata.ts";

/**
 * The MLP's hidden-width multiplier of a sparse-training recipe (the shared budget trains the
 * 784-300-100-10 network at width 1), swept over `sweep`.
 *
 * @param sweep the widths the method's recipes train (1, or 1 and 2 for the two-width claims)
 * @returns the `width` parameter spec
 */
export function hiddenWidthParam(sweep: readonly number[] = [1]) {
  return {
    type: "int",
    description: sweep.includes(2)
      ? "hidden widths × this (1: 784-300-100-10; 2: 784-600-200-10)"
      : "hidden widths × this (1: 784-300-100-10)",
    default: 1,
    min: 1,
    max: 4,
    sweep: [...sweep],
  } as const satisfies ParamSpec;
}
