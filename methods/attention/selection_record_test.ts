// The selection figures of the top-k oracle, the banded methods and Sparse-vDiT come from the
// kernel's own record of what it attended (a key bitmap per row, each row's band, the block lists
// the attend pass read), not from the CPU reference's keys: with the record intact the gate's
// selections give the CPU reference's mass recall; with the record corrupted on the GPU after the
// run (output untouched), mass recall moves and the gate says the read-back choice differs.
import { assert, assertAlmostEquals } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import { uploadStorage } from "../../bench/gpu/buffers.ts";
import type { ParamValues } from "../../bench/metadata.ts";
import {
  allRows,
  attendRow,
  type AttentionKernel,
  type AttentionMethod,
  type AttentionShape,
  checkAgainstReference,
  denseKeys,
  executeOnce,
  randomInputs,
  readResults,
} from "../../bench/families/attention/mod.ts";
import { sinkWindowAttention } from "./sink_window.ts";
import { slidingWindowAttention } from "./sliding_window.ts";
import { sparseVditAttention } from "./sparse_vdit.ts";
import { topkOracleAttention } from "./topk_oracle.ts";

const SHAPES: AttentionShape[] = [
  { heads: 2, seq: 203, headDim: 16, causal: true },
  { heads: 1, seq: 150, headDim: 16, causal: true, queries: 7 },
  { heads: 2, seq: 99, headDim: 16, causal: false },
];

/** The buffer holding the kernel's record of its selection. */
function recordOf(kernel: AttentionKernel): GPUBuffer {
  const record = kernel.keyChoice?.bitmaps[0] ?? kernel.bandChoice?.bands ??
    kernel.blockChoice?.counts;
  assert(record, "the kernel leaves no record of its selection");
  return record;
}

/**
 * Mean share of each row's dense attention mass on the keys `keys[i]` (as mass_recall), over the
 * rows `counted` (every row by default).
 */
function massRecall(
  shape: AttentionShape,
  inputs: ReturnType<typeof randomInputs>,
  keys: Int32Array[],
  counted: (i: number) => boolean = () => true,
): number {
  let sum = 0;
  let rows = 0;
  allRows(shape).forEach((at, i) => {
    if (!counted(i)) return;
    const { weights } = attendRow(shape, inputs, { ...at, keys: denseKeys(shape, at.row) });
    for (const j of keys[i]) sum += weights[j];
    rows++;
  });
  return sum / rows;
}

const CASES: [AttentionMethod, ParamValues][] = [
  [topkOracleAttention.impl as AttentionMethod, { density: 0.2 }],
  [slidingWindowAttention.impl as AttentionMethod, { window: 24 }],
  [sinkWindowAttention.impl as AttentionMethod, { window: 24, sinks: 3 }],
  [
    sparseVditAttention.impl as AttentionMethod,
    { density: 0.3, blockSize: 16, threshold: 0.3, calibrationInputs: 2 },
  ],
];
const IDS = ["topk-oracle", "sliding-window", "sink-window", "sparse-vdit"];

CASES.forEach(([method, params], c) => {
  Deno.test({
    name: `${IDS[c]}-attention: mass recall follows the GPU's record of its selection`,
    ignore: testGpu === null,
    async fn() {
      const gpu = testGpu!;
      for (const [s, shape] of SHAPES.entries()) {
        const inputs = randomInputs(shape, 71 + s);
        const problem = { shape, inputs, params };
        const uploaded = {
          q: uploadStorage(gpu.device, inputs.q, "q"),
          k: uploadStorage(gpu.device, inputs.k, "k"),
          v: uploadStorage(gpu.device, inputs.v, "v"),
        };
        const kernel = await method.setup(gpu, { ...problem, inputs: uploaded });
        try {
          await executeOnce(gpu, kernel);
          const intact = await readResults(gpu, kernel, shape);
          assert(intact.selection, `${IDS[c]} reads no selection back`);
          const honest = checkAgainstReference(method, problem, intact);
          assert(honest.passed, honest.problems.join("; "));
          const rows = allRows(shape);
          const cpuKeys = rows.map((at) => method.selectKeys(problem, at.head, at.row));
          // Rows off a near-tie: there the GPU's record must be the CPU's selection.
          const clear = (i: number) => !method.ambiguousRow?.(problem, rows[i].head, rows[i].row);
          const recall = massRecall(shape, inputs, honest.selections, clear);
          assertAlmostEquals(recall, massRecall(shape, inputs, cpuKeys, clear), 1e-9);
          // Zero the record on the GPU after the run: the output stays, the selection does not.
          const record = recordOf(kernel);
          gpu.device.queue.writeBuffer(record, 0, new Uint32Array(record.size / 4));
          const corrupted = await readResults(gpu, kernel, shape);
          const verdict = checkAgainstReference(method, problem, corrupted);
          const moved = massRecall(shape, inputs, verdict.selections, clear);
          assert(moved < recall - 1e-3, `mass recall ${moved} did not move from ${recall}`);
          assert(
            verdict.problems.some((p) => p.includes("read-back choice of keys differs")),
            `${JSON.stringify(shape)}: the gate missed the corrupted record`,
          );
        } finally {
          kernel.dispose();
          for (const b of Object.values(uploaded)) b.destroy();
        }
      }
    },
  });
});
