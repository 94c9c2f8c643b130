// The pruning family's correctness gate: the masks realize the target a method declared (its
// share of kept weights, and for N:M the pattern itself), and a pruned model's timed output
// equals the CPU engine's (bench/nn, the plain reference every pruning task scores with).
import type { CheckResult } from "../../plugin.ts";
import type { FactorizedLayer, PrunableModel, PruneReport, PruneTarget } from "./_interface.ts";
import { checkStructuredTarget } from "./_structured.ts";
import { factorizedDensity, realizedDensity, targetDensity } from "./_sparsity.ts";

/** |realized − target density| allowed for an unstructured target (per-layer rounding, ties). */
export const DENSITY_TOLERANCE = 0.01;
/** |GPU − CPU| allowed per logit: absolute plus relative, for float32 sums in another order. */
export const LOGIT_ABS_TOLERANCE = 1e-3;
export const LOGIT_REL_TOLERANCE = 1e-4;
/** |stored parameter share − (1 − compression)| allowed for a factorized target (rank rounding). */
export const STORED_SHARE_TOLERANCE = 0.02;
/** |skipped multiply-add share − target| allowed for an activation target on the scored inputs. */
export const ACTIVATION_TOLERANCE = 0.05;
/** |effective weight − left·right| allowed per entry of a factorized layer, relative to max |w|. */
const FACTOR_REL_TOLERANCE = 1e-5;

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
  report: PruneReport = { pruneMs: 0 },
): CheckResult {
  if (target.pattern === "factorized") return checkFactorized(model, target, report.factors);
  if (target.pattern === "activation") {
    const kernels = model.linears().filter((l) => l.kernel !== null).length;
    return {
      passed: kernels > 0,
      description: kernels > 0
        ? `${kernels} of ${model.linears().length} layers run an activation-sparse kernel (the share skipped is checked on the scored inputs)`
        : "no layer runs an activation-sparse kernel",
      maxAbsError: null,
      tolerance: "at least one layer with a kernel",
    };
  }
  if (target.pattern === "structured") return checkStructuredTarget(model, target);
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
 * A factorized target's gate: every prunable layer has factors, its effective weight equals
 * `left · right`, and what is stored (both factors' nonzeros) is the target's share of the
 * dense parameters.
 */
function checkFactorized(
  model: Pick<PrunableModel, "linears">,
  target: { compression: number },
  factors: readonly FactorizedLayer[] | undefined,
): CheckResult {
  const tolerance =
    `every weight = left·right (|err| ≤ ${FACTOR_REL_TOLERANCE}·max|w|); |stored share − target| ≤ ${STORED_SHARE_TOLERANCE}`;
  const fail = (description: string) => ({
    passed: false,
    description,
    maxAbsError: null,
    tolerance,
  });
  const byLayer = new Map((factors ?? []).map((f) => [f.layer, f]));
  for (const layer of model.linears()) {
    const f = byLayer.get(layer);
    if (!f) return fail(`${layer.weight.name} has no factors`);
    const error = productError(f);
    if (!(error <= FACTOR_REL_TOLERANCE)) {
      return fail(
        `${layer.weight.name} differs from its factors' product (max |err| ${
          error.toExponential(2)
        } of max |w|)`,
      );
    }
  }
  const stored = factorizedDensity(model, factors ?? []);
  const expected = 1 - target.compression;
  const error = Math.abs(stored - expected);
  return {
    passed: error <= STORED_SHARE_TOLERANCE,
    description: `factors store ${fmt(stored)} of the dense parameters (target ${fmt(expected)})`,
    maxAbsError: error,
    tolerance,
  };
}

/** max |W_eff − left·right| / max |W_eff| of one factorized layer. */
function productError(f: FactorizedLayer): number {
  const { layer, rank, left, right } = f;
  const rows = layer.outFeatures, cols = layer.inFeatures, w = layer.weight.effective();
  if (left.length !== rows * rank || right.length !== rank * cols) return Infinity;
  let worst = 0, scale = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let sum = 0;
      for (let k = 0; k < rank; k++) sum += left[r * rank + k] * right[k * cols + c];
      worst = Math.max(worst, Math.abs(sum - w[r * cols + c]));
      scale = Math.max(scale, Math.abs(w[r * cols + c]));
    }
  }
  return scale > 0 ? worst / scale : worst;
}

/**
 * An activation target's gate on the inputs the task scored: the share of the prunable layers'
 * multiply-adds the kernels skipped is the target's, within {@link ACTIVATION_TOLERANCE}.
 *
 * @param executedShare the share of dense multiply-adds the scored inputs executed
 *   (executedMacShare in _sparsity.ts, after zeroing the counters and scoring)
 * @param target the method's activation target
 */
export function checkActivationTarget(
  executedShare: number,
  target: { sparsity: number },
): CheckResult {
  const skipped = 1 - executedShare;
  const error = Math.abs(skipped - target.sparsity);
  return {
    passed: error <= ACTIVATION_TOLERANCE,
    description: `the scored inputs skipped ${fmt(skipped)} of the dense multiply-adds (target ${
      fmt(target.sparsity)
    })`,
    maxAbsError: error,
    tolerance: `|skipped share − target| ≤ ${ACTIVATION_TOLERANCE}`,
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
