// Exports the engine's models to ONNX: builds each graph here and encodes it with the one ONNX
// encoder, bench/onnx/model.ts. Masked weights are exported as they are used: data ⊙ mask; a
// Linear running a kernel exports the kernel's own computation (LinearKernel.onnx).
import type { Gpt } from "./gpt.ts";
import type { LayerNorm, Linear } from "./layers.ts";
import type { Mlp } from "./mlp.ts";
import {
  encodeOnnxModel,
  type OnnxAttribute,
  type OnnxElementType,
  type OnnxInitializer,
  type OnnxNode,
  type OnnxValue,
} from "../onnx/model.ts";

/** An ONNX node attribute: int, ints, string or float. */
export type OnnxAttr = number | number[] | string | { float: number };

function attribute(name: string, value: OnnxAttr): OnnxAttribute {
  if (typeof value === "number") return { name, int: value };
  if (typeof value === "string") return { name, string: value };
  if (Array.isArray(value)) return { name, ints: value };
  return { name, float: value.float };
}

/**
 * What a {@link LinearKernel} sees of a graph under construction when it emits its own nodes:
 * fresh names, constants and nodes (default domain, opset 17).
 */
export interface OnnxGraph {
  /** A fresh value name. */
  name(hint: string): string;
  /** Adds a float32 (or int64) constant tensor under `name` and returns the name. */
  constant(name: string, dims: readonly number[], data: Float32Array | BigInt64Array): string;
  /** A fresh float32 scalar constant. */
  scalar(name: string, value: number): string;
  /** A fresh int64 vector constant. */
  ints(name: string, values: number[]): string;
  /** Adds a node named after its first output; returns that output's name. */
  node(op: string, inputs: string[], attrs?: Record<string, OnnxAttr>, outputs?: string[]): string;
}

/** A graph under construction: nodes, initializers, inputs and outputs, with fresh names. */
class GraphBuilder implements OnnxGraph {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxInitializer[] = [];
  readonly inputs: OnnxValue[] = [];
  readonly outputs: OnnxValue[] = [];
  #count = 0;

  /** A fresh value name. */
  name(hint: string): string {
    return `${hint}_${this.#count++}`;
  }

  /** Adds a float32 (or int64) constant tensor and returns its name. */
  constant(name: string, dims: readonly number[], data: Float32Array | BigInt64Array): string {
    this.initializers.push({ name, dims, data });
    return name;
  }

  ints(name: string, values: number[]): string {
    return this.constant(this.name(name), [values.length], BigInt64Array.from(values.map(BigInt)));
  }

  scalar(name: string, value: number): string {
    return this.constant(this.name(name), [], Float32Array.of(value));
  }

  /** Adds a node named after its first output; returns that output's name. */
  node(
    op: string,
    inputs: string[],
    attrs: Record<string, OnnxAttr> = {},
    outputs = [this.name(op)],
  ): string {
    const attributes = Object.entries(attrs).map(([key, value]) => attribute(key, value));
    this.nodes.push({ op, inputs, outputs, name: outputs[0], attributes });
    return outputs[0];
  }

  /** Declares a graph input or output; a string dim is symbolic. */
  value(
    list: "inputs" | "outputs",
    name: string,
    type: OnnxElementType,
    shape: (number | string)[],
  ): void {
    this[list].push({ name, type, shape });
  }

  /** The ModelProto bytes (IR version 8, default-domain opset 17). */
  model(graphName: string, docString: string): Uint8Array {
    const { nodes, initializers, inputs, outputs } = this;
    return encodeOnnxModel({ name: graphName, docString, nodes, initializers, inputs, outputs });
  }
}

/** Wᵀ [in × out] of a Linear's effective (masked) weight, for MatMul. */
function linear(g: GraphBuilder, x: string, layer: Linear): string {
  if (layer.kernel) {
    // Without this the second engine would silently score the dense model.
    if (typeof layer.kernel.onnx !== "function") {
      throw new TypeError(
        `Cannot export '${layer.weight.name}': its kernel has no onnx() to emit its computation`,
      );
    }
    return layer.kernel.onnx(g, x);
  }
  return denseLinearOnnx(g, x, layer);
}

/**
 * Emits a Linear layer's dense product x·W_effᵀ + b: what the engine computes without a kernel,
 * and what a kernel that computes the layer exactly (a sparse format of the same weights) emits.
 */
export function denseLinearOnnx(g: OnnxGraph, x: string, layer: Linear): string {
  const weight = { data: layer.weight.effective(), out: layer.outFeatures, in: layer.inFeatures };
  return onnxDenseLinear(g, x, weight, layer.bias?.data ?? null, layer.weight.name);
}

function layerNorm(g: GraphBuilder, x: string, ln: LayerNorm): string {
  const gamma = g.constant(ln.gamma.name, [ln.dim], ln.gamma.data);
  const beta = g.constant(ln.beta.name, [ln.dim], ln.beta.data);
  return g.node("LayerNormalization", [x, gamma, beta], { axis: -1, epsilon: { float: ln.eps } });
}

/**
 * A dense Linear's nodes, x·Wᵀ + b, over any leading dimensions: for a kernel that runs part of
 * its computation densely (or a test's reference).
 *
 * @param g the graph
 * @param x the input value [..., in]
 * @param weight W [out × in], row-major, as the engine stores it
 * @param bias b [out], or null
 * @param name the stem of the constants' names
 * @returns the output value [..., out]
 */
export function onnxDenseLinear(
  g: OnnxGraph,
  x: string,
  weight: { data: Float32Array; out: number; in: number },
  bias: Float32Array | null,
  name: string,
): string {
  const { out: o, in: i } = weight;
  const t = new Float32Array(o * i);
  for (let r = 0; r < o; r++) for (let c = 0; c < i; c++) t[c * o + r] = weight.data[r * i + c];
  const y = g.node("MatMul", [x, g.constant(g.name(`${name}.T`), [i, o], t)]);
  if (!bias) return y;
  return g.node("Add", [y, g.constant(g.name(`${name}.bias`), [o], bias)]);
}

/** GELU, tanh form, from basic ops: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
function gelu(g: GraphBuilder, x: string): string {
  const x3 = g.node("Mul", [g.node("Mul", [x, x]), x]);
  const inner = g.node("Add", [x, g.node("Mul", [x3, g.scalar("c3", 0.044715)])]);
  const t = g.node("Tanh", [g.node("Mul", [inner, g.scalar("c", Math.sqrt(2 / Math.PI))])]);
  const onePlus = g.node("Add", [t, g.scalar("one", 1)]);
  return g.node("Mul", [g.node("Mul", [x, g.scalar("half", 0.5)]), onePlus]);
}

/**
 * The MLP as ONNX: input `x` float32 [batch × features], output `logits` [batch × classes].
 *
 * @example
 * ```ts
 * import { Mlp } from "./mlp.ts";
 * import { assert } from "../../tests/assert.ts";
 * const model = new Mlp([4, 3, 2]);
 * model.init(0);
 * const bytes = exportMlpOnnx(model); // then ort.InferenceSession.create(bytes)
 * assert(bytes.length > 4 * (4 * 3 + 3 * 2)); // the weights are inside
 * ```
 */
export function exportMlpOnnx(model: Mlp): Uint8Array {
  const g = new GraphBuilder();
  g.value("inputs", "x", "float32", ["batch", model.sizes[0]]);
  let h = "x";
  model.layers.forEach((layer, i) => {
    h = linear(g, h, layer);
    if (i < model.layers.length - 1) h = g.node("Relu", [h]);
  });
  g.node("Identity", [h], {}, ["logits"]);
  g.value("outputs", "logits", "float32", ["batch", model.sizes[model.sizes.length - 1]]);
  return g.model("mlp", `MLP ${model.sizes.join("-")} exported by sparsebench`);
}

/**
 * The GPT as ONNX: input `ids` int64 [batch × seq] (seq ≤ context), output `logits`
 * float32 [batch × seq × vocab].
 */
export function exportGptOnnx(model: Gpt): Uint8Array {
  const c = model.config, d = c.dim, h = c.heads, hd = d / h;
  const g = new GraphBuilder();
  g.value("inputs", "ids", "int64", ["batch", "seq"]);
  const tok = g.constant("tok_emb.weight", [c.vocab, d], model.tokens.weight.effective());
  const posTable = g.constant("pos_emb.weight", [c.context, d], model.positions.weight.effective());
  // seq = shape(ids)[1]; positions = range(0, seq)
  const seq = g.node("Gather", [
    g.node("Shape", ["ids"]),
    g.constant("one_i", [], BigInt64Array.of(1n)),
  ], { axis: 0 });
  const positions = g.node("Range", [g.constant("zero_i", [], BigInt64Array.of(0n)), seq, "one_i"]);
  let x = g.node("Add", [g.node("Gather", [tok, "ids"]), g.node("Gather", [posTable, positions])]);
  // Causal mask [seq × seq]: 0 on and below the diagonal, −1e9 above, sliced from the full one.
  const full = new Float32Array(c.context * c.context);
  for (let i = 0; i < c.context; i++) {
    for (let j = i + 1; j < c.context; j++) full[i * c.context + j] = -1e9;
  }
  const seq1 = g.node("Unsqueeze", [seq, g.ints("axes", [0])]);
  const ends = g.node("Concat", [seq1, seq1], { axis: 0 });
  const mask = g.node("Slice", [
    g.constant("causal_mask", [c.context, c.context], full),
    g.ints("starts", [0, 0]),
    ends,
  ]);
  const headShape = g.ints("head_shape", [0, 0, h, hd]);
  const mergedShape = g.ints("merged_shape", [0, 0, d]);
  const scale = g.scalar("scale", 1 / Math.sqrt(hd));
  const splits = g.ints("splits", [d, d, d]);
  for (const block of model.blocks) {
    const qkv = linear(g, layerNorm(g, x, block.ln1), block.attn.qkv);
    const [q, k, v] = ["q", "k", "v"].map((s) => g.name(s));
    g.node("Split", [qkv, splits], { axis: -1 }, [q, k, v]);
    const heads = (t: string, perm: number[]) =>
      g.node("Transpose", [g.node("Reshape", [t, headShape])], { perm });
    const scores = g.node("Add", [
      g.node("Mul", [g.node("MatMul", [heads(q, [0, 2, 1, 3]), heads(k, [0, 2, 3, 1])]), scale]),
      mask,
    ]);
    const att = g.node("MatMul", [
      g.node("Softmax", [scores], { axis: -1 }),
      heads(v, [0, 2, 1, 3]),
    ]);
    const merged = g.node("Reshape", [
      g.node("Transpose", [att], { perm: [0, 2, 1, 3] }),
      mergedShape,
    ]);
    x = g.node("Add", [x, linear(g, merged, block.attn.proj)]);
    const m = linear(g, gelu(g, linear(g, layerNorm(g, x, block.ln2), block.fc)), block.fcProj);
    x = g.node("Add", [x, m]);
  }
  g.node("Identity", [linear(g, layerNorm(g, x, model.lnF), model.head)], {}, ["logits"]);
  g.value("outputs", "logits", "float32", ["batch", "seq", c.vocab]);
  return g.model("gpt", `byte-level GPT ${JSON.stringify(c)} exported by sparsebench`);
}
