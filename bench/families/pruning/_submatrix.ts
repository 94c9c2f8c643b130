// The pieces every shrunk kernel is built from: which of a layer's outputs its consumer reads, and
// the smaller dense matrix over kept rows and columns. The CPU's shrunk candidate, the WebGPU
// shrunk chain and structured pruning's shrunk model all cut their matrices with these.
import type { Linear } from "../../nn/layers.ts";

/**
 * Which of `producerOutputs` the consumer reads with some nonzero weight: an output no one reads
 * can be left uncomputed (its value never reaches the model's output).
 *
 * @param consumer the layer reading them (its effective weights)
 * @returns 1 per read input column of `consumer`, else 0
 */
export function columnsRead(consumer: Linear): Uint8Array {
  const w = consumer.weight.effective(), cols = consumer.inFeatures;
  const read = new Uint8Array(cols);
  for (let o = 0; o < consumer.outFeatures; o++) {
    for (let c = 0; c < cols; c++) if (w[o * cols + c] !== 0) read[c] = 1;
  }
  return read;
}

/**
 * W[rows, columns] of a row-major matrix with `cols` columns, row-major [rows × columns].
 *
 * @param weight the whole matrix
 * @param cols its column count
 */
export function gatherSubmatrix(
  weight: Float32Array,
  cols: number,
  rows: ArrayLike<number>,
  columns: ArrayLike<number>,
): Float32Array {
  const out = new Float32Array(rows.length * columns.length);
  for (let i = 0; i < rows.length; i++) {
    const from = rows[i] * cols, to = i * columns.length;
    for (let j = 0; j < columns.length; j++) out[to + j] = weight[from + columns[j]];
  }
  return out;
}

/**
 * A layer's effective weight over kept rows and columns, and its bias over the kept rows.
 *
 * @returns the kept weights (row-major) and bias entries (null for a layer without bias)
 */
export function shrinkLayerWeights(
  layer: Linear,
  rows: ArrayLike<number>,
  columns: ArrayLike<number>,
): { weight: Float32Array; bias: Float32Array | null } {
  const bias = layer.bias ? Float32Array.from(rows, (r) => layer.bias!.data[r]) : null;
  return {
    weight: gatherSubmatrix(layer.weight.effective(), layer.inFeatures, rows, columns),
    bias,
  };
}
