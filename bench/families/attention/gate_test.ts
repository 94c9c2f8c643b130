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
  name: "checkAgainstReference() excuses differing near-tie rows, at most 5% per input",
  ignore: testGpu === null,
  async fn() {
    const shape = { heads: 1, seq: 20, headDim: 16, causal: true };
    const problem = { shape, inputs: randomInputs(shape, 3), params: { window: 4 } };
    const wrong = windowMethod("dense");
    const result = await runOnGpu(testGpu!, wrong, problem);
    // Every row called a near-tie, but only the 16 past the window differ: those are excused,
    // over the cap.
    const excusing = { ...wrong, ambiguousRow: () => true };
    const capped = checkAgainstReference(excusing, problem, result);
    assertEquals([capped.passed, capped.excused, capped.tieAlternatives], [false, 16, 0]);
    assert(capped.problems[0].includes("were excused, more than 5%"), capped.problems[0]);
    assertEquals(
      checkAgainstReference(excusing, problem, result, { maxExcusedShare: 1 }).passed,
      true,
    );
    // One differing row of 20 is 5%: excused and passed.
    const rows = Array.from({ length: 20 }, (_, i) => ({ head: 0, row: i < 19 ? i % 4 : 19 }));
    const one = checkAgainstReference(excusing, problem, result, { rows });
    assertEquals([one.passed, one.rows, one.excused], [true, 20, 1]);
    // A near-tie that the GPU resolved as the CPU did excuses nothing.
    const right = { ...windowMethod("window"), ambiguousRow: () => true };
    const matched = checkAgainstReference(right, problem, await runOnGpu(testGpu!, right, problem));
    assertEquals([matched.passed, matched.excused], [true, 0]);
  },
});

Deno.test({
  name: "checkAgainstReference() caps excused rows per head, and fails an empty comparison",
  ignore: testGpu === null,
  async fn() {
    const shape = { heads: 2, seq: 40, headDim: 16, causal: true };
    const problem = { shape, inputs: randomInputs(shape, 5), params: { window: 36 } };
    const excusing = { ...windowMethod("dense"), ambiguousRow: () => true };
    const result = await runOnGpu(testGpu!, excusing, problem);
    // Head 0: rows 0..35, all within the window; head 1: rows 0..2 and 39, which differs. One
    // excused row of 40 is within the input's 5%, but it is 25% of head 1's rows.
    const rows = [
      ...Array.from({ length: 36 }, (_, row) => ({ head: 0, row })),
      ...[0, 1, 2, 39].map((row) => ({ head: 1, row })),
    ];
    const verdict = checkAgainstReference(excusing, problem, result, { rows });
    assertEquals([verdict.passed, verdict.rows, verdict.excused], [false, 40, 1]);
    assertEquals(verdict.problems.length, 1);
    assert(verdict.problems[0].includes("head 1: 1 of 4"), verdict.problems[0]);
    const empty = checkAgainstReference(excusing, problem, result, { rows: [] });
    assertEquals([empty.passed, empty.rows, empty.problems], [false, 0, ["no rows were compared"]]);
  },
});

Deno.test({
  name: "checkAgainstReference() passes a row matching a tie alternative, and reports its keys",
  ignore: testGpu === null,
  async fn() {
    const shape = { heads: 1, seq: 30, headDim: 16, causal: true };
    const problem = { shape, inputs: randomInputs(shape, 11), params: { window: 6 } };
    // The CPU's own selection is dense; the kernel runs the window, offered as the other side of
    // a tie: every row passes and its selection is the window's.
    const windowKeys = (row: number) => keyRange(...windowBand(shape, 6, row));
    const method = {
      ...windowMethod("dense"),
      ambiguousRow: () => true,
      tieAlternatives: (_p: unknown, _head: number, row: number) => [
        keyRange(0, Math.max(0, row - 1)),
        windowKeys(row),
      ],
    };
    const result = await runOnGpu(testGpu!, method, problem);
    const verdict = checkAgainstReference(method, problem, result);
    assertEquals([verdict.passed, verdict.excused, verdict.tieAlternatives], [true, 0, 24]);
    assertEquals([...verdict.selections[29]], [...windowKeys(29)]);
    assertEquals([...verdict.selections[3]], [0, 1, 2, 3]);
    // Alternatives that match nothing leave the rows to the (capped) excusal.
    const wrong = { ...method, tieAlternatives: () => [keyRange(0, 2)] };
    const failed = checkAgainstReference(wrong, problem, result);
    assertEquals([failed.passed, failed.excused, failed.tieAlternatives], [false, 24, 0]);
    // Without ambiguousRow, a row matching no candidate fails outright.
    const plain = { ...wrong, ambiguousRow: undefined };
    const strict = checkAgainstReference(plain, problem, result);
    assertEquals([strict.passed, strict.excused], [false, 0]);
    assert(strict.problems.some((p) => p.includes("differs from the CPU reference")));
  },
});

Deno.test({
  name: "checkAgainstReference() holds a kernel's read-back choice to the selection it matched",
  ignore: testGpu === null,
  async fn() {
    const shape = { heads: 1, seq: 24, headDim: 16, causal: true };
    const problem = { shape, inputs: randomInputs(shape, 13), params: { window: 5 } };
    const method = windowMethod("window");
    const result = await runOnGpu(testGpu!, method, problem);
    const windowKeys = (row: number) => keyRange(...windowBand(shape, 5, row));
    const honest = { ...result, selection: (_head: number, row: number) => windowKeys(row) };
    const passed = checkAgainstReference(method, problem, honest);
    assertEquals(passed.passed, true);
    assertEquals([...passed.selections[20]], [16, 17, 18, 19, 20]);
    // Row 10's output matches its window, but the kernel says it chose other keys.
    const lying = {
      ...result,
      selection: (_head: number, row: number) => row === 10 ? keyRange(0, 4) : windowKeys(row),
    };
    const failed = checkAgainstReference(method, problem, lying);
    assertEquals(failed.passed, false);
    assert(failed.problems[0].includes("read-back choice of keys differs"), failed.problems[0]);
    assert(failed.problems[0].includes("row 10"), failed.problems[0]);
  },
});

Deno.test({
  name: "checkAgainstReference() excuses a near-tie row only when the kernel's choice explains it",
  ignore: testGpu === null,
  async fn() {
    const shape = { heads: 1, seq: 24, headDim: 16, causal: true };
    const problem = { shape, inputs: randomInputs(shape, 17), params: { window: 5 } };
    // The CPU says dense, the kernel runs the window: rows 5..23 differ and are near-ties.
    const method = { ...windowMethod("dense"), ambiguousRow: () => true };
    const result = await runOnGpu(testGpu!, method, problem);
    const windowKeys = (row: number) => keyRange(...windowBand(shape, 5, row));
    const all = { maxExcusedShare: 1 };
    const explained = { ...result, selection: (_head: number, row: number) => windowKeys(row) };
    const excused = checkAgainstReference(method, problem, explained, all);
    assertEquals([excused.passed, excused.excused], [true, 19]);
    // Row 10 says it chose keys 0..4 but attended its window: not a tie, a wrong kernel.
    const unexplained = {
      ...result,
      selection: (_head: number, row: number) => row === 10 ? keyRange(0, 4) : windowKeys(row),
    };
    const failed = checkAgainstReference(method, problem, unexplained, all);
    assertEquals([failed.passed, failed.excused], [false, 18]);
    assert(failed.problems[0].includes("row 10"), failed.problems[0]);
  },
});
