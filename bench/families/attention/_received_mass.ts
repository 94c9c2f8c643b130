// What a trained KV-selection head learns to predict, shared by the methods that fit one on
// held-out inputs (NOSA's eviction head, DMA's value projection): the attention mass each key
// slot receives from later query rows, and a closed-form ridge least-squares fit of its log on
// per-slot features. Float64 and deterministic.
import type { AttentionInputs, AttentionProblem, AttentionShape } from "./_interface.ts";
import { queryCount, queryOffset } from "./_interface.ts";
import { type CalibrationRecord, heldOutInputs } from "./_calibration.ts";

/** Held-out inputs a trained head is fitted on. */
export const HEAD_CALIBRATION_INPUTS = 4;
/** Query rows per head and calibration input whose attention gives the targets (evenly spaced). */
const HEAD_TARGET_ROWS = 256;
const RIDGE = 1e-3;
const MASS_FLOOR = 1e-9;

/** The rows whose attention gives the targets: up to HEAD_TARGET_ROWS, evenly spaced, last kept. */
function targetRows(shape: AttentionShape): number[] {
  const queries = queryCount(shape);
  const count = Math.min(queries, HEAD_TARGET_ROWS);
  return Array.from({ length: count }, (_, i) => queries - 1 - Math.floor((i * queries) / count));
}

/** Per head and key, the mean softmax probability over the target rows that see it (float64). */
export function receivedMass(shape: AttentionShape, inputs: AttentionInputs): Float64Array[] {
  const { heads, seq, headDim: d } = shape;
  const queries = queryCount(shape);
  const scale = 1 / Math.sqrt(d);
  const rows = targetRows(shape);
  return Array.from({ length: heads }, (_, h) => {
    const sum = new Float64Array(seq);
    const seen = new Float64Array(seq);
    const logits = new Float64Array(seq);
    for (const row of rows) {
      const visible = shape.causal ? queryOffset(shape) + row + 1 : seq;
      let max = -Infinity;
      for (let j = 0; j < visible; j++) {
        let dot = 0;
        for (let i = 0; i < d; i++) {
          dot += inputs.q[(h * queries + row) * d + i] * inputs.k[(h * seq + j) * d + i];
        }
        logits[j] = dot * scale;
        max = Math.max(max, logits[j]);
      }
      let total = 0;
      for (let j = 0; j < visible; j++) total += logits[j] = Math.exp(logits[j] - max);
      for (let j = 0; j < visible; j++) {
        sum[j] += logits[j] / total;
        seen[j]++;
      }
    }
    return sum.map((s, j) => (seen[j] > 0 ? s / seen[j] : 0));
  });
}

/** Solves the symmetric positive definite system a·x = b in place (Gaussian elimination). */
function solve(a: Float64Array[], b: Float64Array): Float64Array {
  const n = b.length;
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[pivot][c])) pivot = r;
    [a[c], a[pivot]] = [a[pivot], a[c]];
    [b[c], b[pivot]] = [b[pivot], b[c]];
    for (let r = c + 1; r < n; r++) {
      const f = a[r][c] / a[c][c];
      if (f === 0) continue;
      for (let k = c; k < n; k++) a[r][k] -= f * a[c][k];
      b[r] -= f * b[c];
    }
  }
  const x = new Float64Array(n);
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r];
    for (let k = r + 1; k < n; k++) s -= a[r][k] * x[k];
    x[r] = s / a[r][r];
  }
  return x;
}

/**
 * Fits one head's weights by ridge least squares on features(inputs, j) → log(mass_j) over the
 * inputs; the last feature is the bias (1), which the ridge leaves alone.
 */
function fitHead(
  shape: AttentionShape,
  sets: { inputs: AttentionInputs; mass: Float64Array }[],
  at: { n: number; features: (inputs: AttentionInputs, j: number, x: Float64Array) => void },
): Float64Array {
  const n = at.n;
  const xtx = Array.from({ length: n }, () => new Float64Array(n));
  const xty = new Float64Array(n);
  const x = new Float64Array(n);
  for (const { inputs, mass } of sets) {
    for (let j = 0; j < shape.seq; j++) {
      at.features(inputs, j, x);
      const y = Math.log(mass[j] + MASS_FLOOR);
      for (let a = 0; a < n; a++) {
        xty[a] += x[a] * y;
        for (let b = a; b < n; b++) xtx[a][b] += x[a] * x[b];
      }
    }
  }
  const rows = sets.length * shape.seq;
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < a; b++) xtx[a][b] = xtx[b][a];
    // Ridge on the weights, not the bias, scaled to the data so it means the same at any size.
    if (a < n - 1) xtx[a][a] += RIDGE * rows;
  }
  return solve(xtx, xty);
}

/** Writes key slot j's features into x (n of them, the last the bias's 1). */
export type SlotFeatures = (inputs: AttentionInputs, j: number, x: Float64Array) => void;

/** Every head's fitted weights (heads × n float32, head-major) and what fitting them cost. */
export interface FittedHeads {
  weights: Float32Array;
  record: CalibrationRecord;
}

const fittedHeads = new Map<string, FittedHeads>();

/**
 * {@link fitHead} for every head on the problem's {@link HEAD_CALIBRATION_INPUTS} held-out inputs
 * (refused when the set holds the evaluated input), once per head kind, calibration set and
 * shape; the wall time of loading the inputs, their received mass and the fits is the record's.
 *
 * @param at `kind` names the features in the cache, `method` the caller in errors, `features(h)`
 *   head h's slot features (n of them)
 */
export function fitHeadsOnHeldOut<I, V>(
  problem: AttentionProblem<I, V>,
  at: { kind: string; method: string; n: number; features: (head: number) => SlotFeatures },
): FittedHeads {
  const { shape } = problem;
  const set = heldOutInputs(problem, HEAD_CALIBRATION_INPUTS, at.method);
  const key = `${at.kind}|${set.key}|${JSON.stringify(shape)}`;
  let fitted = fittedHeads.get(key);
  if (!fitted) {
    const started = performance.now();
    const sets = set.ids.map((_, i) => set.input(i));
    const masses = sets.map((inputs) => receivedMass(shape, inputs));
    const weights = new Float32Array(shape.heads * at.n);
    for (let h = 0; h < shape.heads; h++) {
      const perInput = sets.map((inputs, i) => ({ inputs, mass: masses[i][h] }));
      weights.set(fitHead(shape, perInput, { n: at.n, features: at.features(h) }), h * at.n);
    }
    fitted = {
      weights,
      record: {
        inputs: set.ids.length,
        ms: performance.now() - started,
        ids: set.ids,
        heldOut: set.heldOut,
      },
    };
    fittedHeads.set(key, fitted);
  }
  return fitted;
}
