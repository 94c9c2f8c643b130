// Exports the engine's models to ONNX, writing the protobuf encoding by hand (the few messages
// of onnx.proto that a model needs). Masked weights are exported as they are used: data ⊙ mask.
import type { Gpt } from "./gpt.ts";
import type { LayerNorm, Linear } from "./layers.ts";
import type { Mlp } from "./mlp.ts";
import { ProtoWriter } from "../onnx/protobuf.ts";

// ---- onnx.proto messages ------------------------------------------------------------------------

const FLOAT = 1, INT64 = 7;
type Attr = number | number[] | string | { float: number };

/** A graph under construction: nodes, initializers, inputs and outputs. */
class GraphBuilder {
  readonly nodes: ProtoWriter[] = [];
  readonly initializers: ProtoWriter[] = [];
  readonly inputs: ProtoWriter[] = [];
  readonly outputs: ProtoWriter[] = [];
  #count = 0;

  /** A fresh value name. */
  name(hint: string): string {
    return `${hint}_${this.#count++}`;
  }

  /** Adds a float32 (or int64) constant tensor and returns its name. */
  constant(name: string, dims: readonly number[], data: Float32Array | BigInt64Array): string {
    const t = new ProtoWriter();
    for (const d of dims) t.int(1, d);
    t.int(2, data instanceof Float32Array ? FLOAT : INT64);
    t.string(8, name);
    t.bytes(
      9,
      new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
    );
    this.initializers.push(t);
    return name;
  }

  ints(name: string, values: number[]): string {
    return this.constant(this.name(name), [values.length], BigInt64Array.from(values.map(BigInt)));
  }

  scalar(name: string, value: number): string {
    return this.constant(this.name(name), [], Float32Array.of(value));
  }

  /** Adds a node; returns its (single) output name. */
  node(
    op: string,
    inputs: string[],
    attrs: Record<string, Attr> = {},
    outputs = [this.name(op)],
  ): string {
    const n = new ProtoWriter();
    for (const i of inputs) n.string(1, i);
    for (const o of outputs) n.string(2, o);
    n.string(3, outputs[0]);
    n.string(4, op);
    for (const [key, value] of Object.entries(attrs)) {
      const a = new ProtoWriter().string(1, key);
      if (typeof value === "number") a.int(3, value).int(20, 2);
      else if (typeof value === "string") a.string(4, value).int(20, 3);
      else if (Array.isArray(value)) {
        for (const v of value) a.int(8, v);
        a.int(20, 7);
      } else a.float(2, value.float).int(20, 1);
      n.message(5, a);
    }
    this.nodes.push(n);
    return outputs[0];
  }

  /** Declares a graph input or output; a string dim is symbolic. */
  value(list: "inputs" | "outputs", name: string, elem: number, dims: (number | string)[]): void {
    const shape = new ProtoWriter();
    for (const d of dims) {
      const dim = new ProtoWriter();
      if (typeof d === "number") dim.int(1, d);
      else dim.string(2, d);
      shape.message(1, dim);
    }
    const tensor = new ProtoWriter().int(1, elem).message(2, shape);
    const type = new ProtoWriter().message(1, tensor);
    this[list].push(new ProtoWriter().string(1, name).message(2, type));
  }

  /** The ModelProto bytes (IR version 8, default-domain opset 17). */
  model(graphName: string, docString: string): Uint8Array {
    const g = new ProtoWriter();
    for (const n of this.nodes) g.message(1, n);
    g.string(2, graphName);
    for (const t of this.initializers) g.message(5, t);
    g.string(10, docString);
    for (const i of this.inputs) g.message(11, i);
    for (const o of this.outputs) g.message(12, o);
    return new ProtoWriter()
      .int(1, 8)
      .string(2, "sparsebench")
      .string(3, "1.0.0")
      .message(7, g)
      .message(8, new ProtoWriter().string(1, "").int(2, 17))
      .finish();
  }
}

/** Wᵀ [in × out] of a Linear's effective (masked) weight, for MatMul. */
function transposedWeight(layer: Linear): Float32Array {
  const w = layer.weight.effective(), o = layer.outFeatures, i = layer.inFeatures;
  const t = new Float32Array(w.length);
  for (let r = 0; r < o; r++) for (let c = 0; c < i; c++) t[c * o + r] = w[r * i + c];
  return t;
}

function linear(g: GraphBuilder, x: string, layer: Linear): string {
  const w = g.constant(
    `${layer.weight.name}.T`,
    [layer.inFeatures, layer.outFeatures],
    transposedWeight(layer),
  );
  const y = g.node("MatMul", [x, w]);
  if (!layer.bias) return y;
  return g.node("Add", [y, g.constant(layer.bias.name, [layer.outFeatures], layer.bias.data)]);
}

function layerNorm(g: GraphBuilder, x: string, ln: LayerNorm): string {
  const gamma = g.constant(ln.gamma.name, [ln.dim], ln.gamma.data);
  const beta = g.constant(ln.beta.name, [ln.dim], ln.beta.data);
  return g.node("LayerNormalization", [x, gamma, beta], { axis: -1, epsilon: { float: ln.eps } });
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
 * const bytes = exportMlpOnnx(model); // then ort.InferenceSession.create(bytes)
 * ```
 */
export function exportMlpOnnx(model: Mlp): Uint8Array {
  const g = new GraphBuilder();
  g.value("inputs", "x", FLOAT, ["batch", model.sizes[0]]);
  let h = "x";
  model.layers.forEach((layer, i) => {
    h = linear(g, h, layer);
    if (i < model.layers.length - 1) h = g.node("Relu", [h]);
  });
  g.node("Identity", [h], {}, ["logits"]);
  g.value("outputs", "logits", FLOAT, ["batch", model.sizes[model.sizes.length - 1]]);
  return g.model("mlp", `MLP ${model.sizes.join("-")} exported by sparsebench`);
}

/**
 * The GPT as ONNX: input `ids` int64 [batch × seq] (seq ≤ context), output `logits`
 * float32 [batch × seq × vocab].
 */
export function exportGptOnnx(model: Gpt): Uint8Array {
  const c = model.config, d = c.dim, h = c.heads, hd = d / h;
  const g = new GraphBuilder();
  g.value("inputs", "ids", INT64, ["batch", "seq"]);
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
  g.value("outputs", "logits", FLOAT, ["batch", "seq", c.vocab]);
  return g.model("gpt", `byte-level GPT ${JSON.stringify(c)} exported by sparsebench`);
}
