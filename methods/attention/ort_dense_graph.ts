// The ONNX graph of dense attention a user of onnxruntime-web would write: MatMul, scale,
// additive mask, Softmax, MatMul, over a chunk of query rows against all keys.
import { encodeOnnxModel } from "../../bench/onnx/model.ts";

/**
 * Encodes attention for `chunk` query rows against `seq` keys in `heads` heads of `headDim`.
 * Inputs: q [heads, chunk, headDim], k and v [heads, seq, headDim], mask [chunk, seq] (0 or a
 * large negative number); output o [heads, chunk, headDim].
 */
export function denseAttentionOnnx(
  heads: number,
  chunk: number,
  seq: number,
  headDim: number,
): Uint8Array {
  return encodeOnnxModel({
    name: "dense_attention",
    inputs: [
      { name: "q", shape: [heads, chunk, headDim] },
      { name: "k", shape: [heads, seq, headDim] },
      { name: "v", shape: [heads, seq, headDim] },
      { name: "mask", shape: [chunk, seq] },
    ],
    outputs: [{ name: "o", shape: [heads, chunk, headDim] }],
    initializers: [{ name: "scale", dims: [], data: Float32Array.of(1 / Math.sqrt(headDim)) }],
    nodes: [
      {
        op: "Transpose",
        inputs: ["k"],
        outputs: ["kt"],
        attributes: [{ name: "perm", ints: [0, 2, 1] }],
      },
      { op: "MatMul", inputs: ["q", "kt"], outputs: ["scores"] },
      { op: "Mul", inputs: ["scores", "scale"], outputs: ["scaled"] },
      { op: "Add", inputs: ["scaled", "mask"], outputs: ["masked"] },
      {
        op: "Softmax",
        inputs: ["masked"],
        outputs: ["p"],
        attributes: [{ name: "axis", int: -1 }],
      },
      { op: "MatMul", inputs: ["p", "v"], outputs: ["o"] },
    ],
  });
}
