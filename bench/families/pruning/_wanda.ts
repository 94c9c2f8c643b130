// Wanda's core, shared by the methods built on it (wanda, and dsnot's default base): the score
// |W_ij|·‖X_j‖₂ and the layer-by-layer prune loop, each layer scored on the inputs its pruned
// upstream layers produce.
import type { Linear } from "../../nn/layers.ts";
import { collectInputNorms } from "../../nn/hooks.ts";
import type { Calibration, MaskTarget, PrunableModel } from "./_interface.ts";
import { rowMask } from "./_targets.ts";

/**
 * Wanda's scores of one layer: S_ij = |W_ij|·‖X_j‖₂, row-major [out × in].
 *
 * @param layer the layer, weights [out × in]
 * @param norms ‖X_j‖₂ of each input feature over the calibration rows
 * @returns the scores
 * @throws {RangeError} when `norms` does not have one entry per input
 * @example
 * ```ts
 * import { wandaScores } from "./mod.ts";
 * import { Mlp } from "../../nn/mlp.ts";
 * import { assertEquals } from "../../../tests/assert.ts";
 * const model = new Mlp([2, 1]);
 * model.layers[0].weight.data.set([3, -2]);
 * assertEquals([...wandaScores(model.layers[0], [1, 4])], [3, 8]);
 * ```
 */
export function wandaScores(layer: Linear, norms: ArrayLike<number>): Float64Array {
  const rows = layer.outFeatures, cols = layer.inFeatures, w = layer.weight.data;
  if (norms.length !== cols) {
    throw new RangeError(
      `Cannot score '${layer.weight.name}' as it needs ${cols} input norms: got ${norms.length}`,
    );
  }
  const scores = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) scores[r * cols + j] = Math.abs(w[r * cols + j]) * norms[j];
  }
  return scores;
}

/**
 * Prunes every layer of `model` with Wanda, in forward order: hook the layer's inputs, run the
 * calibration data through the model as pruned so far (as far as that layer), mask the layer by
 * its scores per output row, unhook, next layer.
 *
 * @param model the model, pruned in place
 * @param calibration its calibration data
 * @param target what every layer (and so every row) is pruned to
 */
export function wandaPrune(
  model: Pick<PrunableModel, "linears">,
  calibration: Calibration,
  target: MaskTarget,
): void {
  for (const layer of model.linears()) {
    const norms = collectInputNorms(layer);
    try {
      calibration.run({ until: layer });
    } finally {
      norms.detach();
    }
    const scores = wandaScores(layer, norms.value());
    layer.weight.setMask(
      rowMask({ scores, rows: layer.outFeatures, cols: layer.inFeatures }, target),
    );
  }
}
