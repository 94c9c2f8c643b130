// A learned chunk-boundary predictor fitted offline on held-out inputs (DHSA's): per head, a
// logistic classifier over per-position key features, whose labels say where the dense attention
// pattern shifts between consecutive keys (attentionShifts). Float64, deterministic, cached per
// calibration set; the evaluated input is refused.
import type { AttentionInputs, AttentionProblem } from "./_interface.ts";
import { type CalibrationRecord, heldOutInputs } from "./_calibration.ts";
import { attentionShifts } from "./_attention_shift.ts";
import { fitLogistic } from "./_logistic.ts";
import { HEAD_CALIBRATION_INPUTS } from "./_received_mass.ts";

/**
 * Per head, the share of its positions (those of the largest attention shifts) labelled
 * boundaries: one in 16 keys, chunks of 16 on average, the middle of DHSA's default range 8–32.
 */
export const BOUNDARY_LABEL_SHARE = 1 / 16;
/** Most positions one head's fit uses (evenly strided over its inputs' positions beyond the cap). */
export const BOUNDARY_MAX_SAMPLES = 4096;

/** Every position's features of one head of an input: seq × n float32, the last feature 1. */
export type PositionFeatures = (inputs: AttentionInputs, head: number) => Float32Array;

/** Every head's fitted boundary classifier and what fitting it cost. */
export interface FittedBoundaries {
  /** heads × n float32, head-major: logit = w·x, x's last feature the bias's 1. */
  weights: Float32Array;
  record: CalibrationRecord;
  /** Per head, the attention shift above which a calibration position was labelled a boundary. */
  shiftThresholds: Float64Array;
}

const fitted = new Map<string, FittedBoundaries>();

/**
 * Per head, the attention shift labels of the held-out inputs (positions 1 .. seq − 1, a boundary
 * where the shift is above the head's (1 − BOUNDARY_LABEL_SHARE) quantile over those inputs) and
 * a logistic fit of them on `features`; once per kind, calibration set and shape.
 * The wall time of loading the inputs, labelling and fitting is the record's.
 *
 * @param problem the problem being calibrated for (its shape and calibration set)
 * @param at `kind` names the features in the cache, `method` the caller in errors, `n` the
 *   feature count, `features` every position's features of one head
 * @returns the weights and the calibration record
 * @throws {Error} when the set holds the evaluated input, or has too few inputs
 */
export function fitBoundariesOnHeldOut<I, V>(
  problem: AttentionProblem<I, V>,
  at: { kind: string; method: string; n: number; features: PositionFeatures },
): FittedBoundaries {
  const { shape } = problem;
  const set = heldOutInputs(problem, HEAD_CALIBRATION_INPUTS, at.method);
  const key = `${at.kind}|${BOUNDARY_LABEL_SHARE}|${set.key}|${JSON.stringify(shape)}`;
  let result = fitted.get(key);
  if (result) return result;
  const started = performance.now();
  const { seq } = shape;
  const n = at.n;
  const inputs = set.ids.map((_, i) => set.input(i));
  const shifts = inputs.map((x) => attentionShifts(shape, x));
  const weights = new Float32Array(shape.heads * n);
  const shiftThresholds = new Float64Array(shape.heads);
  const positions = inputs.length * Math.max(0, seq - 1);
  const stride = Math.max(1, Math.ceil(positions / BOUNDARY_MAX_SAMPLES));
  for (let h = 0; h < shape.heads; h++) {
    const pooled = shifts.flatMap((s) => Array.from(s[h].subarray(1))).sort((a, b) => a - b);
    const cut = pooled.length === 0
      ? Infinity
      : pooled[Math.min(pooled.length - 1, Math.floor((1 - BOUNDARY_LABEL_SHARE) * pooled.length))];
    shiftThresholds[h] = cut;
    const rows: number[] = [];
    const labels: number[] = [];
    inputs.forEach((x, i) => {
      const f = at.features(x, h);
      for (let t = 1; t < seq; t++) {
        if (((i * (seq - 1) + t - 1) % stride) !== 0) continue;
        for (let a = 0; a < n; a++) rows.push(f[t * n + a]);
        labels.push(shifts[i][h][t] > cut ? 1 : 0);
      }
    });
    const fit = fitLogistic(Float64Array.from(rows), Uint8Array.from(labels), n);
    weights.set(fit.weights, h * n);
  }
  result = {
    weights,
    shiftThresholds,
    record: {
      inputs: set.ids.length,
      ms: performance.now() - started,
      ids: set.ids,
      heldOut: set.heldOut,
    },
  };
  fitted.set(key, result);
  return result;
}
