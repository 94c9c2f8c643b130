// Builds ONNX models (ModelProto) from a plain description of nodes, inputs, outputs and
// initializers, encoded with the protobuf writer beside this file. Field numbers follow onnx.proto.
import { ProtoWriter } from "./protobuf.ts";

const FLOAT = 1;
const INT64 = 7;

export interface OnnxValue {
  name: string;
  /** Dimensions; a string names a symbolic (dynamic) dimension. */
  shape: (number | string)[];
}

export type OnnxAttribute = { name: string; int: number } | { name: string; ints: number[] } | {
  name: string;
  float: number;
};

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: OnnxAttribute[];
}

export interface OnnxInitializer {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  initializers?: OnnxInitializer[];
  /** Default-domain opset version. */
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
  const tensorType = new ProtoWriter().int(1, FLOAT).message(2, shape);
  return new ProtoWriter().string(1, value.name).message(
    2,
    new ProtoWriter().message(1, tensorType),
  );
}

function attribute(a: OnnxAttribute): ProtoWriter {
  const w = new ProtoWriter().string(1, a.name);
  // AttributeProto.type: FLOAT = 1, INT = 2, INTS = 7.
  if ("float" in a) return w.float(2, a.float).int(20, 1);
  if ("int" in a) return w.int(3, a.int).int(20, 2);
  for (const v of a.ints) w.int(8, v);
  return w.int(20, 7);
}

function tensor(init: OnnxInitializer): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of init.dims) w.int(1, d);
  const isFloat = init.data instanceof Float32Array;
  w.int(2, isFloat ? FLOAT : INT64).string(8, init.name);
  // raw_data is little-endian, as typed arrays are on every platform Deno runs on.
  return w.bytes(9, new Uint8Array(init.data.buffer, init.data.byteOffset, init.data.byteLength));
}

/**
 * Encodes a graph as an ONNX model.
 *
 * @returns the bytes of a ModelProto (IR version 8)
 */
export function encodeOnnxModel(graph: OnnxGraph): Uint8Array {
  const g = new ProtoWriter();
  graph.nodes.forEach((node, i) => {
    const n = new ProtoWriter();
    for (const input of node.inputs) n.string(1, input);
    for (const output of node.outputs) n.string(2, output);
    n.string(3, `${node.op.toLowerCase()}_${i}`).string(4, node.op);
    for (const a of node.attributes ?? []) n.message(5, attribute(a));
    g.message(1, n);
  });
  g.string(2, graph.name);
  for (const init of graph.initializers ?? []) g.message(5, tensor(init));
  for (const input of graph.inputs) g.message(11, valueInfo(input));
  for (const output of graph.outputs) g.message(12, valueInfo(output));
  return new ProtoWriter()
    .int(1, 8)
    .string(2, "sparsebench")
    .message(7, g)
    .message(8, new ProtoWriter().string(1, "").int(2, graph.opset ?? 17))
    .finish();
}
