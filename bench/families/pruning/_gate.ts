// The pruning family's correctness gate: the masks realize the target a method declared (its
// share of kept weights, and for N:M the pattern itself), and a pruned model's timed output
// equals the CPU engine's (bench/nn, the plain reference every pruning task scores with).
import type { CheckResult } from "../../plugin.ts";
import type { PrunableModel, PruneTarget } from "./_interface.ts";
import { realizedDensity, targetDensity } from "./_sparsity.ts";

/** |realized − target density| allowed for an unstructured target (per-layer rounding, ties). */
export const DENSITY_TOLERANCE = 0.01;
/** |GPU − CPU| allowed per logit: absolute plus relative, for float32 sums in another order. */
export const LOGIT_ABS_TOLERANCE = 1e-3;
export const LOGIT_REL_TOLERANCE = 1e-4;

/**
 * Whether the masks on the model's Linear layers realize `target`: an unstructured target's
 * density within {@link DENSITY_TOLERANCE}; an N:M target keeps at most N of every M
 * consecutive weights along each row's input (a last, shorter group included).
 *
 * @param model the pruned model
 * @param target what the method asked for
 * @returns the verdict, with what was found when it fails
 */
export function checkPruneTarget(
  model: Pick<PrunableModel, "linears">,
  target: PruneTarget,
): CheckResult {
  const realized = realizedDensity(model);
  const expected = targetDensity(target);
  if (target.pattern === "unstructured") {
    const error = Math.abs(realized - expected);
    const passed = error <= DENSITY_TOLERANCE;
    return {
      passed,
      description: passed
        ? `masks keep ${fmt(realized)} of the prunable weights (target ${fmt(expected)})`
        : `masks keep ${fmt(realized)} of the prunable weights, target ${fmt(expected)}`,
      maxAbsError: error,
      tolerance: `|density − target| ≤ ${DENSITY_TOLERANCE}`,
    };
  }
  const { n, m } = target;
  for (const layer of model.linears()) {
    const mask = layer.weight.mask;
    const cols = layer.inFeatures;
    for (let row = 0; row < layer.outFeatures; row++) {
      for (let g = 0; g < cols; g += m) {
        let kept = 0;
        for (let i = g; i < Math.min(g + m, cols); i++) {
          if (!mask || mask[row * cols + i] !== 0) kept++;
        }
        if (kept > n) {
          return {
            passed: false,
            description:
              `${layer.weight.name} row ${row} keeps ${kept} of the ${m} weights from input ${g}: an ${n}:${m} pattern keeps at most ${n}`,
            maxAbsError: null,
            tolerance: `at most ${n} of every ${m} along the input`,
          };
        }
      }
    }
  }
  return {
    passed: true,
    description: `every group of ${m} inputs keeps at most ${n} weights (density ${fmt(realized)})`,
    maxAbsError: null,
    tolerance: `at most ${n} of every ${m} along the input`,
  };
}

/**
 * Compares a pruned model's logits on the timed device with the CPU engine's.
 *
 * @param got the device's logits
 * @param expected the CPU engine's logits of the same input
 * @returns whether every |err| ≤ {@link LOGIT_ABS_TOLERANCE} + {@link LOGIT_REL_TOLERANCE}·|logit|,
 *   and the largest |err|
 */
export function compareLogits(
  got: Float32Array,
  expected: Float32Array,
): { passed: boolean; maxAbsError: number } {
  if (got.length !== expected.length) return { passed: false, maxAbsError: Infinity };
  let maxAbsError = 0, passed = true;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(got[i] - expected[i]);
    maxAbsError = Math.max(maxAbsError, err);
    if (!(err <= LOGIT_ABS_TOLERANCE + LOGIT_REL_TOLERANCE * Math.abs(expected[i]))) {
      passed = false;
    }
  }
  return { passed, maxAbsError };
}

/** The logit tolerance as a check states it. */
export const LOGIT_TOLERANCE_TEXT =
  `|err| ≤ ${LOGIT_ABS_TOLERANCE} + ${LOGIT_REL_TOLERANCE}·|logit|`;

/**
 * Both halves of a cell's gate as one verdict: passed when both pass, described by both.
 *
 * @param target the check of the masks against the target ({@link checkPruneTarget})
 * @param output the check of the timed output against the reference
 */
export function combineChecks(target: CheckResult, output: CheckResult): CheckResult {
  return {
    passed: target.passed && output.passed,
    description: `${output.description}; ${target.description}`,
    maxAbsError: output.maxAbsError,
    tolerance: `${output.tolerance}; ${target.tolerance}`,
  };
}

function fmt(density: number): string {
  return density.toFixed(4);
}
