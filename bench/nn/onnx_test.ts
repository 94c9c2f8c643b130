// Exported ONNX models run through onnxruntime-web (wasm) and give our logits within 1e-4.
import { assert } from "../../tests/assert.ts";
import { Gpt } from "./gpt.ts";
import { Mlp } from "./mlp.ts";
import { exportGptOnnx, exportMlpOnnx } from "./onnx.ts";
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
