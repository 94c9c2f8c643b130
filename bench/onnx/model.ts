// The project's one ONNX encoder: a plain description of a graph (nodes, inputs, outputs,
// initializers) becomes ModelProto bytes. Field numbers follow onnx.proto.
import { ProtoWriter } from "./protobuf.ts";

/** Element types the encoder writes, with their TensorProto.DataType numbers. */
const ELEMENT_TYPES = { float32: 1, int64: 7 } as const;

/** The element type of a graph input or output. */
export type OnnxElementType = keyof typeof ELEMENT_TYPES;

/** A graph input or output. */
export interface OnnxValue {
  name: string;
  /** Dimensions; a string names a symbolic (dynamic) dimension. */
  shape: (number | string)[];
  /** Element type; float32 when left out. */
  type?: OnnxElementType;
}

/** A node attribute: an int, a list of ints, a float or a string. */
export type OnnxAttribute =
  | { name: string; int: number }
  | { name: string; ints: number[] }
  | { name: string; float: number }
  | { name: string; string: string };

/** One operator of the default domain. */
export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  /** The node's name; `<op>_<index>` in lower case when left out. */
  name?: string;
  attributes?: OnnxAttribute[];
}

/** A constant tensor; its element type follows from the array. */
export interface OnnxInitializer {
  name: string;
  dims: readonly number[];
  data: Float32Array | BigInt64Array;
}

/** A whole graph, with the opset it is written against. */
export interface OnnxGraph {
  name: string;
  /** The graph's doc_string: what it is and where it came from. */
  docString?: string;
  nodes: OnnxNode[];
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  initializers?: OnnxInitializer[];
  /** Default-domain opset version; 17 when left out. */
  opset?: number;
}

function valueInfo(value: OnnxValue): ProtoWriter {
  const shape = new ProtoWriter();
  for (const dim of value.shape) {
    shape.message(
      1,
      typeof dim === "number" ? new ProtoWriter().int(1, dim) : new ProtoWriter().string(2, dim),
    );
  }
  const tensorType = new ProtoWriter().int(1, ELEMENT_TYPES[value.type ?? "float32"]).message(
    2,
    shape,
  );
  return new ProtoWriter().string(1, value.name).message(
    2,
    new ProtoWriter().message(1, tensorType),
  );
}

function attribute(a: OnnxAttribute): ProtoWriter {
  const w = new ProtoWriter().string(1, a.name);
  // AttributeProto.type: FLOAT = 1, INT = 2, STRING = 3, INTS = 7.
  if ("float" in a) return w.float(2, a.float).int(20, 1);
  if ("int" in a) return w.int(3, a.int).int(20, 2);
  if ("string" in a) return w.string(4, a.string).int(20, 3);
  for (const v of a.ints) w.int(8, v);
  return w.int(20, 7);
}

function tensor(init: OnnxInitializer): ProtoWriter {
  const size = init.dims.reduce((n, d) => n * d, 1);
  if (init.data.length !== size) {
    throw new RangeError(
      `Cannot encode initializer '${init.name}' as dims [${init.dims}] hold ${size} values: ` +
        `data has ${init.data.length}`,
    );
  }
  const w = new ProtoWriter();
  for (const d of init.dims) w.int(1, d);
  const type = init.data instanceof Float32Array ? ELEMENT_TYPES.float32 : ELEMENT_TYPES.int64;
  w.int(2, type).string(8, init.name);
  // raw_data is little-endian, as typed arrays are on every platform Deno runs on.
  return w.bytes(9, new Uint8Array(init.data.buffer, init.data.byteOffset, init.data.byteLength));
}

function node(n: OnnxNode, index: number): ProtoWriter {
  const w = new ProtoWriter();
  for (const input of n.inputs) w.string(1, input);
  for (const output of n.outputs) w.string(2, output);
  w.string(3, n.name ?? `${n.op.toLowerCase()}_${index}`).string(4, n.op);
  for (const a of n.attributes ?? []) w.message(5, attribute(a));
  return w;
}

/**
 * Encodes a graph as an ONNX model, IR version 8, produced by "sparsebench" 1.0.0.
 *
 * Initializer data is read, not copied, until the bytes are returned.
 *
 * @param graph the nodes, inputs, outputs and initializers
 * @returns the bytes of a ModelProto, ready for `ort.InferenceSession.create`
 * @throws {RangeError} when an initializer's data does not hold as many values as its dims
 * @example
 * ```ts
 * const bytes = encodeOnnxModel({
 *   name: "relu",
 *   inputs: [{ name: "x", shape: ["n"] }],
 *   outputs: [{ name: "y", shape: ["n"] }],
 *   nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"] }],
 * });
 * ```
 */
export function encodeOnnxModel(graph: OnnxGraph): Uint8Array {
  const g = new ProtoWriter();
  graph.nodes.forEach((n, i) => g.message(1, node(n, i)));
  g.string(2, graph.name);
  for (const init of graph.initializers ?? []) g.message(5, tensor(init));
  if (graph.docString !== undefined) g.string(10, graph.docString);
  for (const input of graph.inputs) g.message(11, valueInfo(input));
  for (const output of graph.outputs) g.message(12, valueInfo(output));
  return new ProtoWriter()
    .int(1, 8)
    .string(2, "sparsebench")
    .string(3, "1.0.0")
    .message(7, g)
    .message(8, new ProtoWriter().string(1, "").int(2, graph.opset ?? 17))
    .finish();
}
