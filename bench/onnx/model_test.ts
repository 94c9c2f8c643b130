// The one ONNX encoder: what it writes reads back as the graph it was given (every field the
// attention graphs and the MLP and GPT exports use), and onnxruntime-web runs it.
import * as ort from "onnxruntime-web";
import { assertAlmostEquals, assertEquals, assertThrows } from "../../tests/assert.ts";
import { ortSession } from "../nn/ort.ts";
import {
  encodeOnnxModel,
  type OnnxAttribute,
  type OnnxGraph,
  type OnnxInitializer,
  type OnnxNode,
  type OnnxValue,
} from "./model.ts";

type Raw = bigint | number | Uint8Array;

/** One protobuf message's fields by number, each with its values in order. */
function fields(bytes: Uint8Array): Map<number, Raw[]> {
  const out = new Map<number, Raw[]>();
  let at = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n;; shift += 7n) {
      const b = bytes[at++];
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
    }
  };
  while (at < bytes.length) {
    const key = Number(varint()), wire = key & 7;
    let value: Raw;
    if (wire === 0) value = BigInt.asIntN(64, varint());
    else if (wire === 2) {
      const n = Number(varint());
      value = bytes.subarray(at, at += n);
    } else if (wire === 5) {
      value = new DataView(bytes.buffer, bytes.byteOffset + at, 4).getFloat32(0, true);
      at += 4;
    } else throw new Error(`Expected wire type 0, 2 or 5 at byte ${at}: found ${wire}`);
    out.set(key >> 3, [...(out.get(key >> 3) ?? []), value]);
  }
  return out;
}

const all = (m: Map<number, Raw[]>, field: number) => m.get(field) ?? [];
const nums = (m: Map<number, Raw[]>, field: number) => all(m, field).map(Number);
const texts = (m: Map<number, Raw[]>, field: number) =>
  all(m, field).map((v) => new TextDecoder().decode(v as Uint8Array));
const messages = (m: Map<number, Raw[]>, field: number) =>
  all(m, field).map((v) => fields(v as Uint8Array));

function readAttribute(a: Map<number, Raw[]>): OnnxAttribute {
  const name = texts(a, 1)[0], type = nums(a, 20)[0];
  if (type === 1) return { name, float: nums(a, 2)[0] };
  if (type === 2) return { name, int: nums(a, 3)[0] };
  if (type === 3) return { name, string: texts(a, 4)[0] };
  assertEquals(type, 7, `attribute ${name}: type`);
  return { name, ints: nums(a, 8) };
}

function readInitializer(t: Map<number, Raw[]>): OnnxInitializer {
  const raw = (all(t, 9)[0] as Uint8Array).slice();
  const type = nums(t, 2)[0];
  const data = type === 1 ? new Float32Array(raw.buffer) : new BigInt64Array(raw.buffer);
  assertEquals(type, data instanceof Float32Array ? 1 : 7);
  return { name: texts(t, 8)[0], dims: nums(t, 1), data };
}

function readValue(v: Map<number, Raw[]>): OnnxValue {
  const tensorType = messages(messages(v, 2)[0], 1)[0];
  const shape = messages(messages(tensorType, 2)[0], 1).map((d) =>
    d.has(1) ? nums(d, 1)[0] : texts(d, 2)[0]
  );
  const type = ({ 1: "float32", 7: "int64" } as const)[nums(tensorType, 1)[0] as 1 | 7];
  return { name: texts(v, 1)[0], shape, type };
}

/** Reads ModelProto bytes back into the description the encoder takes. */
function readModel(bytes: Uint8Array): OnnxGraph & { ir: number; producer: string[] } {
  const model = fields(bytes);
  const g = messages(model, 7)[0];
  const nodes: OnnxNode[] = messages(g, 1).map((n) => ({
    op: texts(n, 4)[0],
    inputs: texts(n, 1),
    outputs: texts(n, 2),
    name: texts(n, 3)[0],
    attributes: messages(n, 5).map(readAttribute),
  }));
  const [opset] = messages(model, 8);
  assertEquals(texts(opset, 1), [""], "opset domain");
  return {
    ir: nums(model, 1)[0],
    producer: [...texts(model, 2), ...texts(model, 3)],
    name: texts(g, 2)[0],
    docString: texts(g, 10)[0],
    nodes,
    inputs: messages(g, 11).map(readValue),
    outputs: messages(g, 12).map(readValue),
    initializers: messages(g, 5).map(readInitializer),
    opset: nums(opset, 2)[0],
  };
}

Deno.test("encodeOnnxModel() writes what reads back as the graph it was given", () => {
  const graph: OnnxGraph = {
    name: "every_field",
    docString: "a graph with one of everything",
    inputs: [{ name: "ids", shape: ["batch", 3], type: "int64" }],
    outputs: [{ name: "y", shape: ["batch", 3, 2], type: "float32" }],
    initializers: [
      { name: "table", dims: [4, 2], data: Float32Array.of(1, -2, 3.5, 0, -1e9, 6, 7, 8) },
      { name: "shape", dims: [3], data: BigInt64Array.of(0n, -1n, 2n) },
      { name: "half", dims: [], data: Float32Array.of(0.5) },
    ],
    nodes: [
      {
        op: "Gather",
        inputs: ["table", "ids"],
        outputs: ["e"],
        name: "embed",
        attributes: [{ name: "axis", int: -1 }],
      },
      {
        op: "LeakyRelu",
        inputs: ["e"],
        outputs: ["l"],
        attributes: [{ name: "alpha", float: 0.25 }],
      },
      {
        op: "Transpose",
        inputs: ["l"],
        outputs: ["t"],
        attributes: [{ name: "perm", ints: [0, 1, 2] }],
      },
      { op: "Pad", inputs: ["t"], outputs: ["p"], attributes: [{ name: "mode", string: "edge" }] },
      { op: "Reshape", inputs: ["p", "shape"], outputs: ["y"], attributes: [] },
    ],
    opset: 13,
  };
  const read = readModel(encodeOnnxModel(graph));
  assertEquals(read, { ...graph, ir: 8, producer: ["sparsebench", "1.0.0"], nodes: read.nodes });
  // A node without a name is named after its op and place.
  assertEquals(read.nodes.map((n) => n.name), [
    "embed",
    "leakyrelu_1",
    "transpose_2",
    "pad_3",
    "reshape_4",
  ]);
  assertEquals(read.nodes.map(({ name: _, ...n }) => n), graph.nodes.map(({ name: _, ...n }) => n));
});

Deno.test("encodeOnnxModel() fills in float32 values, opset 17 and no doc string", () => {
  const read = readModel(encodeOnnxModel({
    name: "relu",
    inputs: [{ name: "x", shape: [2] }],
    outputs: [{ name: "y", shape: [2] }],
    nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"] }],
  }));
  assertEquals(read.inputs, [{ name: "x", shape: [2], type: "float32" }]);
  assertEquals(read.opset, 17);
  assertEquals(read.docString, undefined);
  assertEquals(read.initializers, []);
});

Deno.test("encodeOnnxModel() refuses an initializer whose data does not fill its dims", () => {
  assertThrows(
    () =>
      encodeOnnxModel({
        name: "bad",
        inputs: [],
        outputs: [],
        nodes: [],
        initializers: [{ name: "w", dims: [3, 4], data: new Float32Array(10) }],
      }),
    RangeError,
    "Cannot encode initializer 'w' as dims [3,4] hold 12 values: data has 10",
  );
});

Deno.test("encodeOnnxModel() models run in onnxruntime-web: int64 input, int, ints and float attributes", async () => {
  // y = reshape(softmax(transpose(leakyRelu(table[ids], 0.5)), axis -1), [3, -1])
  const table = Float32Array.of(1, -2, 3, 0.5, 0, -1, -4, 2, 1);
  const session = await ortSession(encodeOnnxModel({
    name: "gather_softmax",
    inputs: [{ name: "ids", shape: ["n"], type: "int64" }],
    outputs: [{ name: "y", shape: [3, "n"] }],
    initializers: [
      { name: "table", dims: [3, 3], data: table },
      { name: "shape", dims: [2], data: BigInt64Array.of(3n, -1n) },
    ],
    nodes: [
      {
        op: "Gather",
        inputs: ["table", "ids"],
        outputs: ["e"],
        attributes: [{ name: "axis", int: 0 }],
      },
      {
        op: "LeakyRelu",
        inputs: ["e"],
        outputs: ["l"],
        attributes: [{ name: "alpha", float: 0.5 }],
      },
      {
        op: "Transpose",
        inputs: ["l"],
        outputs: ["t"],
        attributes: [{ name: "perm", ints: [1, 0] }],
      },
      { op: "Softmax", inputs: ["t"], outputs: ["s"], attributes: [{ name: "axis", int: -1 }] },
      { op: "Reshape", inputs: ["s", "shape"], outputs: ["y"] },
    ],
  }));
  const ids = [2, 0, 1, 2];
  const out = await session.run({
    ids: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [4]),
  });
  const y = out.y.data as Float32Array;
  assertEquals(out.y.dims, [3, 4]);
  for (let c = 0; c < 3; c++) {
    const row = ids.map((id) => table[id * 3 + c]).map((v) => (v < 0 ? 0.5 * v : v));
    const max = Math.max(...row), sum = row.reduce((s, v) => s + Math.exp(v - max), 0);
    row.forEach((v, j) => assertAlmostEquals(y[c * 4 + j], Math.exp(v - max) / sum, 1e-6));
  }
});
