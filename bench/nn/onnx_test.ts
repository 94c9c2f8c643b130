// Exported ONNX models run through onnxruntime-web (wasm) and give our logits within 1e-4, a
// Linear's kernel included.
import { assert, assertThrows } from "../../tests/assert.ts";
import { Gpt } from "./gpt.ts";
import type { Linear, LinearKernel } from "./layers.ts";
import { Mlp } from "./mlp.ts";
import { exportGptOnnx, exportMlpOnnx, onnxDenseLinear } from "./onnx.ts";
import { ortGptLogits, ortMlpLogits, ortSession } from "./ort.ts";
import { mulberry32 } from "../random.ts";

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert(a.length === b.length, `lengths ${a.length} and ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

Deno.test("exportMlpOnnx() runs in onnxruntime-web with our logits, masks included", async () => {
  const model = new Mlp([20, 9, 7, 3]);
  model.init(5);
  const w = model.layers[0].weight;
  w.setMask(Float32Array.from({ length: w.size }, (_, i) => (i % 3 === 0 ? 0 : 1)));
  const u = mulberry32(1);
  const x = Float32Array.from({ length: 5 * 20 }, () => u());
  const session = await ortSession(exportMlpOnnx(model));
  const diff = maxAbsDiff(await ortMlpLogits(session, x, 5), model.forward(x, 5));
  assert(diff <= 1e-4, `max |diff| ${diff}`);
});

Deno.test("exportGptOnnx() runs in onnxruntime-web with our logits at two lengths", async () => {
  const model = new Gpt({ vocab: 30, context: 16, dim: 24, heads: 3, layers: 2 });
  model.init(9);
  const session = await ortSession(exportGptOnnx(model));
  const u = mulberry32(2);
  for (const seq of [16, 5]) {
    const ids = Int32Array.from({ length: 2 * seq }, () => Math.floor(u() * 30));
    const diff = maxAbsDiff(await ortGptLogits(session, ids, 2), model.forward(ids, 2));
    assert(diff <= 1e-4, `seq ${seq}: max |diff| ${diff}`);
  }
});

Deno.test("exportMlpOnnx() and exportGptOnnx() export a Linear's kernel, not its dense product", async () => {
  // A kernel that doubles the dense product: the exported model must double it too.
  const doubled = (layer: Linear): LinearKernel => {
    const w = {
      data: layer.weight.effective().slice(),
      out: layer.outFeatures,
      in: layer.inFeatures,
    };
    const b = layer.bias?.data.slice() ?? null;
    return {
      forward(x, rows) {
        const y = new Float32Array(rows * w.out);
        for (let r = 0; r < rows; r++) {
          for (let o = 0; o < w.out; o++) {
            let s = b ? b[o] : 0;
            for (let i = 0; i < w.in; i++) s += w.data[o * w.in + i] * x[r * w.in + i];
            y[r * w.out + o] = 2 * s;
          }
        }
        return { y, macs: rows * w.in * w.out };
      },
      onnx: (g, x) =>
        g.node("Mul", [onnxDenseLinear(g, x, w, b, layer.weight.name), g.scalar("two", 2)]),
    };
  };
  const model = new Mlp([12, 7, 3]);
  model.init(4);
  const u = mulberry32(3);
  const x = Float32Array.from({ length: 4 * 12 }, () => u());
  const dense = model.forward(x, 4);
  model.layers[1].kernel = doubled(model.layers[1]);
  const session = await ortSession(exportMlpOnnx(model));
  const ours = model.forward(x, 4);
  assert(maxAbsDiff(ours, dense) > 1e-2, "the kernel changes the logits");
  assert(maxAbsDiff(await ortMlpLogits(session, x, 4), ours) <= 1e-4);

  const gpt = new Gpt({ vocab: 30, context: 16, dim: 24, heads: 3, layers: 1 });
  gpt.init(9);
  gpt.blocks[0].fc.kernel = doubled(gpt.blocks[0].fc);
  const ids = Int32Array.from({ length: 2 * 7 }, () => Math.floor(u() * 30));
  const gptSession = await ortSession(exportGptOnnx(gpt));
  const diff = maxAbsDiff(await ortGptLogits(gptSession, ids, 2), gpt.forward(ids, 2));
  assert(diff <= 1e-4, `max |diff| ${diff}`);

  model.layers[0].kernel = {
    forward: (_x: Float32Array, rows: number) => ({ y: new Float32Array(rows * 7), macs: 0 }),
  } as unknown as LinearKernel;
  assertThrows(() => exportMlpOnnx(model), TypeError, "has no onnx()");
});
