// Where the attention pattern shifts between consecutive keys, from dense attention: the labels a
// learned chunk-boundary predictor (DHSA's) is trained on. Two neighbouring keys belong to one
// chunk when the query rows attend to them alike; a shift in how the rows attend marks a boundary.
// Float64 and deterministic.
import type { AttentionInputs, AttentionShape } from "./_interface.ts";
import { queryCount, queryOffset } from "./_interface.ts";

/** Query rows per head whose dense attention the profiles are made of (evenly spaced, last kept). */
export const SHIFT_ROWS = 256;

/** The rows whose attention gives the profiles: up to SHIFT_ROWS, evenly spaced, last kept. */
function profileRows(shape: AttentionShape): number[] {
  const queries = queryCount(shape);
  const count = Math.min(queries, SHIFT_ROWS);
  return Array.from({ length: count }, (_, i) => queries - 1 - Math.floor((i * queries) / count))
    .reverse();
}

/**
 * Per head, the attention shift at every key t ≥ 1: the total variation distance between the
 * received-attention profiles of keys t − 1 and t, each profile being the dense softmax
 * probabilities a key gets from the profile rows that see key t (so, causally, both keys),
 * normalised to sum 1 over those rows. 0 means the rows attend to both keys in the same
 * proportions, 1 that no row attends to both. Entry 0 (no key before it) is 0, as is an entry
 * whose keys no profile row attends to at all.
 *
 * @param shape the inputs' shape
 * @param inputs host q, k, v
 * @returns heads arrays of seq shifts in [0, 1]
 */
export function attentionShifts(shape: AttentionShape, inputs: AttentionInputs): Float64Array[] {
  const { heads, seq, headDim: d } = shape;
  const queries = queryCount(shape);
  const offset = queryOffset(shape);
  const scale = 1 / Math.sqrt(d);
  const rows = profileRows(shape);
  return Array.from({ length: heads }, (_, h) => {
    // probs[n · seq + j]: row rows[n]'s softmax probability of key j (0 where it cannot see j).
    const probs = new Float64Array(rows.length * seq);
    rows.forEach((row, n) => {
      const visible = shape.causal ? offset + row + 1 : seq;
      const p = probs.subarray(n * seq, n * seq + visible);
      let max = -Infinity;
      for (let j = 0; j < visible; j++) {
        let dot = 0;
        for (let i = 0; i < d; i++) {
          dot += inputs.q[(h * queries + row) * d + i] * inputs.k[(h * seq + j) * d + i];
        }
        p[j] = dot * scale;
        max = Math.max(max, p[j]);
      }
      let total = 0;
      for (let j = 0; j < visible; j++) total += p[j] = Math.exp(p[j] - max);
      for (let j = 0; j < visible; j++) p[j] /= total;
    });
    const shifts = new Float64Array(seq);
    // Rows are ascending, so the rows that see key t are a suffix of them when causal.
    let first = 0;
    for (let t = 1; t < seq; t++) {
      while (shape.causal && first < rows.length && offset + rows[first] < t) first++;
      let sumPrev = 0;
      let sumHere = 0;
      for (let n = first; n < rows.length; n++) {
        sumPrev += probs[n * seq + t - 1];
        sumHere += probs[n * seq + t];
      }
      if (!(sumPrev > 0 && sumHere > 0)) continue;
      let tv = 0;
      for (let n = first; n < rows.length; n++) {
        tv += Math.abs(probs[n * seq + t] / sumHere - probs[n * seq + t - 1] / sumPrev);
      }
      shifts[t] = tv / 2;
    }
    return shifts;
  });
}
