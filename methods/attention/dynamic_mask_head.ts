// DMA's value projection W_Δ fitted offline on held-out inputs of the same model: per head, the
// direction w_h whose score v_j · w_h (+ a bias, dropped at inference: it ranks nothing) best
// predicts, by ridge least squares, the log attention mass key slot j receives from later
// queries. DMA's score exp(A·softplus(v·W_Δ)) ranks as v·W_Δ does for A > 0, so this is the
// quantity its mask ranks by, trained to what a KV mask should keep.
import {
  type AttentionProblem,
  type CalibrationRecord,
  fitHeadsOnHeldOut,
} from "../../bench/families/attention/mod.ts";

/** Per head the fitted direction (heads × headDim, float32) and what fitting it cost. */
export interface TrainedProjection {
  weights: Float32Array;
  record: CalibrationRecord;
}

/** The projection fitted on the problem's held-out inputs (never the evaluated one), cached. */
export function trainedProjection<I, V>(
  problem: AttentionProblem<I, V>,
  method: string,
): TrainedProjection {
  const { heads, seq, headDim: d } = problem.shape;
  const fitted = fitHeadsOnHeldOut(problem, {
    kind: "dma-value-projection [v, 1]",
    method,
    n: d + 1,
    features: (h) => (inputs, j, x) => {
      for (let i = 0; i < d; i++) x[i] = inputs.v[(h * seq + j) * d + i];
      x[d] = 1;
    },
  });
  // The kernel reads heads × headDim: each head's bias (the last weight) ranks nothing.
  const weights = new Float32Array(heads * d);
  for (let h = 0; h < heads; h++) {
    weights.set(fitted.weights.subarray(h * (d + 1), h * (d + 1) + d), h * d);
  }
  return { weights, record: fitted.record };
}
