// DMA's value projection W_Δ fitted offline on held-out inputs of the same model: per head, the
// direction w_h whose score v_j · w_h (+ a bias, dropped at inference: it ranks nothing) best
// predicts, by ridge least squares, the log attention mass key slot j receives from later
// queries. DMA's score exp(A·softplus(v·W_Δ)) ranks as v·W_Δ does for A > 0, so this is the
// quantity its mask ranks by, trained to what a KV mask should keep.
import {
  type AttentionProblem,
  type AttentionShape,
  type CalibrationRecord,
  fitHead,
  HEAD_CALIBRATION_INPUTS,
  heldOutInputs,
  receivedMass,
} from "../../bench/families/attention/mod.ts";

/** Per head the fitted direction (heads × headDim, float32) and what fitting it cost. */
export interface TrainedProjection {
  weights: Float32Array;
  record: CalibrationRecord;
}

const trained = new Map<string, TrainedProjection>();

/** The projection fitted on the problem's held-out inputs (never the evaluated one), cached. */
export function trainedProjection<I, V>(
  problem: AttentionProblem<I, V>,
  method: string,
): TrainedProjection {
  const shape: AttentionShape = problem.shape;
  const set = heldOutInputs(problem, HEAD_CALIBRATION_INPUTS, method);
  const key = `${set.key}|${JSON.stringify(shape)}`;
  let projection = trained.get(key);
  if (!projection) {
    const started = performance.now();
    const { heads, seq, headDim: d } = shape;
    const sets = set.ids.map((_, i) => set.input(i));
    const masses = sets.map((inputs) => receivedMass(shape, inputs));
    const weights = new Float32Array(heads * d);
    for (let h = 0; h < heads; h++) {
      const fitted = fitHead(shape, sets.map((inputs, i) => ({ inputs, mass: masses[i][h] })), {
        n: d + 1,
        features: (inputs, j, x) => {
          for (let i = 0; i < d; i++) x[i] = inputs.v[(h * seq + j) * d + i];
          x[d] = 1;
        },
      });
      weights.set(fitted.subarray(0, d), h * d);
    }
    projection = {
      weights,
      record: {
        inputs: set.ids.length,
        ms: performance.now() - started,
        ids: set.ids,
        heldOut: set.heldOut,
      },
    };
    trained.set(key, projection);
  }
  return projection;
}
