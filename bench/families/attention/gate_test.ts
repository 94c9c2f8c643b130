import { assert, assertEquals } from "../../../tests/assert.ts";
import { testGpu } from "../../../tests/gpu.ts";
import {
  type AttentionMethod,
  checkAgainstReference,
  denseKeys,
  expectMatchesReference,
  keyRange,
  randomInputs,
  runOnGpu,
  setupBandedAttention,
  windowBand,
} from "./mod.ts";

/** Sliding-window attention on the banded kernel, with a CPU reference that may be wrong. */
function windowMethod(reference: "window" | "dense"): AttentionMethod<{ window: number }> {
  return {
    setup: (gpu, { shape, inputs, params }) =>
      setupBandedAttention(gpu, { shape, inputs, window: params.window }),
    selectKeys: ({ shape, params }, _head, row) =>
      reference === "window"
        ? keyRange(...windowBand(shape, params.window, row))
        : denseKeys(shape, row),
    nominalDensity: () => 1,
  };
}

Deno.test({
  name: "expectMatchesReference() passes a kernel that equals its CPU reference",
  ignore: testGpu === null,
  async fn() {
    await expectMatchesReference(testGpu!, windowMethod("window"), {
      params: [{ window: 1 }, { window: 16 }],
      shapes: [{ heads: 2, seq: 45, headDim: 32, causal: true }],
    });
  },
});

Deno.test({
  name: "checkAgainstReference() catches a wrong CPU reference, and says where",
  ignore: testGpu === null,
  async fn() {
    const shape = { heads: 1, seq: 40, headDim: 32, causal: true };
    const problem = { shape, inputs: randomInputs(shape, 7), params: { window: 8 } };
    const method = windowMethod("dense");
    const result = await runOnGpu(testGpu!, method, problem);
    const verdict = checkAgainstReference(method, problem, result);
    assert(!verdict.passed);
    assert(verdict.problems.some((p) => p.includes("visited-key counts")), verdict.problems[0]);
    assert(verdict.problems.some((p) => p.includes("differs from the CPU reference")));
    // Rows 0..7 see at most 8 keys: the window and dense agree there.
    const early = checkAgainstReference(method, problem, result, {
      rows: Array.from({ length: 8 }, (_, row) => ({ head: 0, row })),
    });
    assertEquals(early.passed, true);
  },
});

Deno.test({
  name: "checkAgainstReference() excuses differing near-tie rows, up to the cap",
  ignore: testGpu === null,
  async fn() {
    const shape = { heads: 1, seq: 20, headDim: 16, causal: true };
    const problem = { shape, inputs: randomInputs(shape, 3), params: { window: 4 } };
    const wrong = windowMethod("dense");
    const result = await runOnGpu(testGpu!, wrong, problem);
    // Every row called a near-tie, but only the 16 past the window differ: those are excused,
    // over the 25% cap.
    const excusing = { ...wrong, ambiguousRow: () => true };
    const capped = checkAgainstReference(excusing, problem, result);
    assertEquals([capped.passed, capped.excused], [false, 16]);
    assert(capped.problems[0].includes("excused as near-ties"), capped.problems[0]);
    assertEquals(
      checkAgainstReference(excusing, problem, result, { maxExcusedShare: 1 }).passed,
      true,
    );
    // A near-tie that the GPU resolved as the CPU did excuses nothing.
    const right = { ...windowMethod("window"), ambiguousRow: () => true };
    const matched = checkAgainstReference(right, problem, await runOnGpu(testGpu!, right, problem));
    assertEquals([matched.passed, matched.excused], [true, 0]);
  },
});
