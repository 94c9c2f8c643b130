// Every attention kernel against its plain CPU reference, on several shapes including odd ones.
import { assert, assertEquals } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import { readBack, uploadStorage } from "../../bench/gpu/buffers.ts";
import { mulberry32, normal } from "../../bench/random.ts";
import type { Method, ParamValues } from "../../bench/metadata.ts";
import {
  type AttentionInputs,
  type AttentionMethod,
  type AttentionShape,
  queryCount,
} from "./interface.ts";
import { attendRow } from "./reference.ts";
import { attentionMethods } from "./mod.ts";

const TOLERANCE = { atol: 1e-4, rtol: 2e-3 };

function randomInputs(shape: AttentionShape, seed: number): AttentionInputs {
  const g = normal(mulberry32(seed));
  const n = shape.heads * shape.seq * shape.headDim;
  const nq = shape.heads * queryCount(shape) * shape.headDim;
  // Scaled up so softmax is peaked, as in trained heads, not near-uniform.
  return {
    q: Float32Array.from({ length: nq }, () => 2 * g()),
    k: Float32Array.from({ length: n }, () => 2 * g()),
    v: Float32Array.from({ length: n }, g),
  };
}

async function runOnGpu(
  method: AttentionMethod,
  shape: AttentionShape,
  inputs: AttentionInputs,
  params: ParamValues,
) {
  const gpu = testGpu!;
  const buffers = {
    q: uploadStorage(gpu.device, inputs.q),
    k: uploadStorage(gpu.device, inputs.k),
    v: uploadStorage(gpu.device, inputs.v),
  };
  const kernel = await method.setup(gpu, shape, buffers, params);
  if (kernel.run) {
    await kernel.run();
    await kernel.finalize?.();
  } else {
    const encoder = gpu.device.createCommandEncoder();
    kernel.encode(encoder);
    gpu.device.queue.submit([encoder.finish()]);
  }
  const n = shape.heads * queryCount(shape) * shape.headDim;
  const out = new Float32Array(await readBack(gpu.device, kernel.output, n * 4));
  const visited = new Uint32Array(
    await readBack(gpu.device, kernel.visited, shape.heads * queryCount(shape) * 4),
  );
  kernel.dispose();
  for (const b of Object.values(buffers)) b.destroy();
  return { out, visited };
}

const SHAPES: AttentionShape[] = [
  { heads: 2, seq: 1, headDim: 64, causal: true },
  { heads: 1, seq: 63, headDim: 32, causal: false },
  { heads: 3, seq: 130, headDim: 128, causal: true },
  { heads: 2, seq: 201, headDim: 64, causal: false },
  { heads: 1, seq: 257, headDim: 64, causal: true },
  // Decoding: a few queries (the last positions) against the whole cache.
  { heads: 2, seq: 300, headDim: 64, causal: true, queries: 5 },
  { heads: 1, seq: 190, headDim: 32, causal: false, queries: 70 },
];

const PARAMS: Record<string, ParamValues[]> = {
  "dense-attention": [{}],
  "ort-wasm-dense-attention": [{}],
  "ort-webgpu-dense-attention": [{}],
  "sliding-window-attention": [{ window: 1 }, { window: 16 }, { window: 100 }],
  "topk-oracle-attention": [{ density: 0.1 }, { density: 0.5 }, { density: 1 }],
  "seer-oracle-attention": [{ density: 0.3, blockSize: 16 }, { density: 0.1, blockSize: 8 }, {
    density: 1,
    blockSize: 32,
  }],
  "block-topk-attention": [{ density: 0.3, blockSize: 16 }, { density: 0.05, blockSize: 8 }, {
    density: 1,
    blockSize: 32,
  }],
  "sink-window-attention": [{ window: 1, sinks: 1 }, { window: 16, sinks: 4 }, {
    window: 50,
    sinks: 60,
  }, { window: 8, sinks: 0 }],
};

for (const method of attentionMethods as Method<AttentionMethod>[]) {
  Deno.test({
    name: `${method.meta.id}: GPU output equals the CPU reference on odd and even shapes`,
    ignore: testGpu === null,
    async fn() {
      const paramSets = PARAMS[method.meta.id];
      assert(paramSets, `the test names parameters for ${method.meta.id}`);
      for (const [s, shape] of SHAPES.entries()) {
        const inputs = randomInputs(shape, 100 + s);
        for (const params of paramSets) {
          const { out, visited } = await runOnGpu(method.impl, shape, inputs, params);
          let worst = 0;
          for (let head = 0; head < shape.heads; head++) {
            for (let row = 0; row < queryCount(shape); row++) {
              const keys = method.impl.selectKeys(shape, params, inputs, head, row);
              assertEquals(
                visited[head * queryCount(shape) + row],
                keys.length,
                `visited count, head ${head} row ${row}`,
              );
              const expected = attendRow(inputs, shape, head, row, keys).out;
              const base = (head * queryCount(shape) + row) * shape.headDim;
              for (let i = 0; i < shape.headDim; i++) {
                const err = Math.abs(out[base + i] - expected[i]);
                worst = Math.max(worst, err);
                assert(
                  err <= TOLERANCE.atol + TOLERANCE.rtol * Math.abs(expected[i]),
                  `${JSON.stringify(shape)} ${JSON.stringify(params)} h${head} r${row} d${i}: ${
                    out[base + i]
                  } vs ${expected[i]}`,
                );
              }
            }
          }
          assert(worst < 1e-3, `max error ${worst}`);
        }
      }
    },
  });
}

Deno.test({
  name: "banded kernel: a wrong CPU reference is caught (the comparison can fail)",
  ignore: testGpu === null,
  async fn() {
    const shape = { heads: 1, seq: 40, headDim: 32, causal: true };
    const inputs = randomInputs(shape, 7);
    const sliding = attentionMethods[1] as Method<AttentionMethod>;
    const { out } = await runOnGpu(sliding.impl, shape, inputs, { window: 8 });
    // Dense keys for row 39 are not what a window of 8 computed: the outputs must differ.
    const dense = attendRow(inputs, shape, 0, 39, Int32Array.from({ length: 40 }, (_, j) => j)).out;
    const row = out.subarray(39 * 32, 40 * 32);
    assert(row.some((x, i) => Math.abs(x - dense[i]) > 1e-3));
  },
});
