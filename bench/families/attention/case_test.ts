import { assert, assertEquals } from "../../../tests/assert.ts";
import { testGpu } from "../../../tests/gpu.ts";
import type { Method, MethodMeta } from "../../metadata.ts";
import type { TaskContext, TrialResult } from "../../plugin.ts";
import {
  type AttentionMethod,
  type AttentionShape,
  denseKeys,
  densePairsPerHead,
  keyRange,
  prepareAttentionCase,
  randomInputs,
  setupBandedAttention,
  windowBand,
} from "./mod.ts";

const WINDOW = 8;
const TIMED: AttentionShape = { heads: 2, seq: 40, headDim: 16, causal: true };
// Smaller than the timed input, so it is run and checked apart.
const CHECK: AttentionShape = { heads: 1, seq: 21, headDim: 16, causal: true };
const ROWS = [{ head: 0, row: 5 }, { head: 0, row: 39 }, { head: 1, row: 0 }, { head: 1, row: 30 }];

const ctx: TaskContext = {
  gpu: testGpu,
  seed: 1,
  taskSeed: 1,
  profile: "smoke",
  dump: false,
  minSampleMs: 1,
};

/** A window-8 kernel; its CPU reference says `reference`, its visited counts may be zeroed. */
function windowMethod(
  reference: "window" | "dense",
  options: { zeroVisitedOn?: number } = {},
): AttentionMethod {
  return {
    async setup(gpu, { shape, inputs }) {
      const kernel = await setupBandedAttention(gpu, { shape, inputs, window: WINDOW });
      if (shape.seq !== options.zeroVisitedOn) return kernel;
      // The right output with visited counts of 0: only the visited check can catch it.
      const zeros = gpu.device.createBuffer({
        size: kernel.visited.size,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
      });
      return { ...kernel, visited: zeros, dispose: () => (kernel.dispose(), zeros.destroy()) };
    },
    selectKeys: ({ shape }, _head, row) =>
      reference === "window" ? keyRange(...windowBand(shape, WINDOW, row)) : denseKeys(shape, row),
    nominalDensity: () => 1,
  };
}

/** Binds `impl` to a case of TIMED (checked on CHECK), samples once and finishes. */
async function runCell(impl: AttentionMethod): Promise<TrialResult> {
  const prepared = await prepareAttentionCase({
    shape: TIMED,
    inputs: randomInputs(TIMED, 2),
    datasetSha256: "0".repeat(64),
    rows: ROWS,
    checkShape: CHECK,
    checkInputs: randomInputs(CHECK, 3),
    // What the scorer is handed as each row's keys.
    score: (_rowOut, rowKeys) =>
      Object.fromEntries(ROWS.map((_, i) => [`keys_${i}`, rowKeys(i).length])),
  }, ctx);
  const method = {
    meta: {
      id: "window-under-test",
      capabilities: { requires: ["webgpu"], features: ["causal"] },
    } as unknown as MethodMeta,
    impl,
  } as Method;
  const trial = await prepared.bind(method, {});
  try {
    await trial.sample();
    return await trial.finish();
  } finally {
    trial.dispose();
    prepared.dispose();
  }
}

Deno.test({
  name:
    "prepareAttentionCase() reports the check and the timed input's gate figures apart, and key shares",
  ignore: testGpu === null,
  async fn() {
    const result = await runCell(windowMethod("window"));
    assert(result.check.passed, result.check.description);
    // Row r of a head attends min(r + 1, 8) keys; two heads of 40 rows.
    const perHead = Array.from({ length: 40 }, (_, r) => Math.min(r + 1, WINDOW))
      .reduce((a, b) => a + b);
    assertEquals(result.metrics, {
      keys_0: 6,
      keys_1: WINDOW,
      keys_2: 1,
      keys_3: WINDOW,
      timed_rows_compared: 4,
      timed_rows_tie_alternative: 0,
      timed_rows_excused: 0,
      check_rows_compared: 21,
      check_rows_tie_alternative: 0,
      check_rows_excused: 0,
      attended_key_share: (2 * perHead) / (2 * densePairsPerHead(TIMED)),
      // No scoredPairs: it scores exactly what it attends.
      scored_key_share: (2 * perHead) / (2 * densePairsPerHead(TIMED)),
    });
    // A method that scores every key to choose (as the top-k oracle does) says so.
    const scoring = await runCell({
      ...windowMethod("window"),
      scoredPairs: (shape) => shape.heads * densePairsPerHead(shape),
    });
    assertEquals(
      [scoring.metrics.scored_key_share, scoring.metrics.attended_key_share],
      [1, result.metrics.attended_key_share],
    );
  },
});

Deno.test({
  name: "prepareAttentionCase() scores the selection the GPU's rows matched, a tie's other side",
  ignore: testGpu === null,
  async fn() {
    // The CPU's own selection is dense; the kernel runs the window, the tie's other side.
    const method: AttentionMethod = {
      ...windowMethod("dense"),
      ambiguousRow: () => true,
      tieAlternatives: ({ shape }, _head, row) => [keyRange(...windowBand(shape, WINDOW, row))],
    };
    const result = await runCell(method);
    assert(result.check.passed, result.check.description);
    // Rows 39 and 30 of the timed input and 13 of 21 check rows see more than the window.
    assertEquals(
      [result.metrics.timed_rows_tie_alternative, result.metrics.check_rows_tie_alternative],
      [2, 13],
    );
    assertEquals([result.metrics.keys_1, result.metrics.keys_3], [WINDOW, WINDOW]);
    assert(result.check.description.includes("2 of 4 rows matched with a near-tie broken"));
  },
});

Deno.test({
  name: "prepareAttentionCase() fails a cell whose visited counts are wrong on the timed rows only",
  ignore: testGpu === null,
  async fn() {
    const result = await runCell(windowMethod("window", { zeroVisitedOn: TIMED.seq }));
    assertEquals(result.check.passed, false);
    assert(
      result.check.description.startsWith(
        "scored rows of the timed input: the kernel's visited-key counts differ",
      ),
      result.check.description,
    );
    assert(!result.check.description.includes("the check input:"), result.check.description);
  },
});
