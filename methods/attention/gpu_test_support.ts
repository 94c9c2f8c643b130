// What every attention kernel test shares: seeded inputs, one GPU run of a method, and the check
// that its output and visited counts equal its own CPU reference on several shapes.
import { assert, assertEquals } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import { readBack, uploadStorage } from "../../bench/gpu/buffers.ts";
import { mulberry32, normal } from "../../bench/random.ts";
import type { ParamValues } from "../../bench/metadata.ts";
import {
  type AttentionInputs,
  type AttentionMethod,
  type AttentionShape,
  queryCount,
} from "./interface.ts";
import { attendRow } from "./reference.ts";

export const TOLERANCE = { atol: 1e-4, rtol: 2e-3 };

export function randomInputs(shape: AttentionShape, seed: number): AttentionInputs {
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

/** One computation of `method` on the test GPU: its output and visited counts. */
export async function runOnGpu(
  method: AttentionMethod,
  shape: AttentionShape,
  inputs: AttentionInputs,
  params: ParamValues,
): Promise<{ out: Float32Array; visited: Uint32Array }> {
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

/** Prefill and decoding shapes, odd and even, head dims 32 to 128. */
export const SHAPES: AttentionShape[] = [
  { heads: 2, seq: 1, headDim: 64, causal: true },
  { heads: 1, seq: 63, headDim: 32, causal: false },
  { heads: 3, seq: 130, headDim: 128, causal: true },
  { heads: 2, seq: 201, headDim: 64, causal: false },
  { heads: 1, seq: 257, headDim: 64, causal: true },
  // Decoding: a few queries (the last positions) against the whole cache.
  { heads: 2, seq: 300, headDim: 64, causal: true, queries: 5 },
  { heads: 1, seq: 190, headDim: 32, causal: false, queries: 70 },
];

/**
 * Runs `method` with each parameter set on each shape and checks every row of its GPU output,
 * and its visited count, against softmax attention over the keys its CPU reference selects.
 * Rows the method calls ambiguous (a near-tie in its selection) are skipped and counted; at most
 * `maxExcusedShare` of a shape's rows may be.
 */
export async function expectMatchesReference(
  method: AttentionMethod,
  paramSets: ParamValues[],
  shapes: AttentionShape[] = SHAPES,
  seedBase = 100,
  maxExcusedShare = 0.25,
): Promise<void> {
  for (const [s, shape] of shapes.entries()) {
    const inputs = randomInputs(shape, seedBase + s);
    for (const params of paramSets) {
      const { out, visited } = await runOnGpu(method, shape, inputs, params);
      const label = `${JSON.stringify(shape)} ${JSON.stringify(params)}`;
      let excused = 0;
      for (let head = 0; head < shape.heads; head++) {
        for (let row = 0; row < queryCount(shape); row++) {
          if (method.ambiguousRow?.(shape, params, inputs, head, row)) {
            excused++;
            continue;
          }
          const keys = method.selectKeys(shape, params, inputs, head, row);
          assertEquals(
            visited[head * queryCount(shape) + row],
            keys.length,
            `${label}: visited count, head ${head} row ${row}`,
          );
          const expected = attendRow(inputs, shape, head, row, keys).out;
          const base = (head * queryCount(shape) + row) * shape.headDim;
          for (let i = 0; i < shape.headDim; i++) {
            const err = Math.abs(out[base + i] - expected[i]);
            assert(
              err <= TOLERANCE.atol + TOLERANCE.rtol * Math.abs(expected[i]),
              `${label} h${head} r${row} d${i}: ${out[base + i]} vs ${expected[i]}`,
            );
          }
        }
      }
      const rows = shape.heads * queryCount(shape);
      assert(
        excused <= maxExcusedShare * rows,
        `${label}: ${excused} of ${rows} rows excused as near-ties`,
      );
    }
  }
}
