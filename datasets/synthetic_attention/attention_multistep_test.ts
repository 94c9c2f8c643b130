import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../../tests/assert.ts";
import { sha256Hex } from "../../bench/random.ts";
import { attentionMultistep, multistepShape, stepReuseMetrics } from "./attention_multistep.ts";
import { generateMultistepInputs, MULTISTEP_PINNED_SAMPLE } from "./multistep_inputs.ts";

Deno.test("generateMultistepInputs() reproduces the sha256 pinned in the task's metadata", async () => {
  const { shape, seeds, drift } = MULTISTEP_PINNED_SAMPLE;
  const inputs = generateMultistepInputs(shape, seeds, drift);
  assertEquals(
    await sha256Hex(inputs.q, inputs.k, inputs.v),
    attentionMultistep.meta.dataset.sha256,
  );
});

/** Cosine similarity of step s and step s−1 of one tensor (all heads of the step at once). */
function stepCorrelation(x: Float32Array, steps: number, s: number): number {
  const n = x.length / steps;
  let dot = 0, a2 = 0, b2 = 0;
  for (let i = 0; i < n; i++) {
    const a = x[(s - 1) * n + i], b = x[s * n + i];
    dot += a * b;
    a2 += a * a;
    b2 += b * b;
  }
  return dot / Math.sqrt(a2 * b2);
}

Deno.test("generateMultistepInputs() drifts adjacent steps to a correlation of √(1−δ²)", () => {
  const steps = 4;
  const shape = { heads: 2 * steps, seq: 256, headDim: 64, causal: false, steps };
  for (const drift of [0.05, 0.2, 0.5]) {
    const inputs = generateMultistepInputs(shape, { model: 3, input: 3 }, drift);
    for (const x of [inputs.q, inputs.k, inputs.v]) {
      for (let s = 1; s < steps; s++) {
        assertAlmostEquals(stepCorrelation(x, steps, s), Math.sqrt(1 - drift * drift), 0.02);
      }
    }
  }
  // No drift: every step is step 0; full drift: steps are independent draws.
  const still = generateMultistepInputs(shape, { model: 3, input: 3 }, 0);
  assertEquals(
    still.k.subarray(0, still.k.length / steps),
    still.k.subarray(still.k.length / 2, 3 * still.k.length / 4),
  );
  const free = generateMultistepInputs(shape, { model: 3, input: 3 }, 1);
  assert(Math.abs(stepCorrelation(free.k, steps, 1)) < 0.1);
});

Deno.test("generateMultistepInputs() refuses a drift outside [0, 1] and unfoldable heads", () => {
  const shape = { heads: 6, seq: 8, headDim: 4, causal: false, steps: 3 };
  assertThrows(
    () => generateMultistepInputs(shape, { model: 0, input: 0 }, 1.5),
    RangeError,
    "'drift'",
  );
  assertThrows(
    () => generateMultistepInputs({ ...shape, heads: 4 }, { model: 0, input: 0 }, 0.1),
    RangeError,
    "multiple",
  );
});

Deno.test("stepReuseMetrics() scores hand-made selections of two heads over three steps", () => {
  // 2 heads per step, 3 steps: slices 0,1 (step 0), 2,3 (step 1), 4,5 (step 2); one row each.
  const shape = multistepShape({ heads: 2, steps: 3, seq: 8, headDim: 4, causal: false });
  assertEquals(shape.heads, 6);
  const rows = [0, 1, 2, 3, 4, 5].map((head) => ({ head, row: 7 }));
  const keys = [
    [0, 1, 2, 3], // h0 s0
    [4, 5], // h1 s0
    [0, 1, 2, 3], // h0 s1: identical → J 1, 0 new
    [5, 6], // h1 s1: J 1/3, 1 new
    [0, 1, 4, 5], // h0 s2: J 2/6, 2 new
    [5, 6], // h1 s2: identical
  ].map((k) => Int32Array.from(k));
  const m = stepReuseMetrics(shape, rows, (i) => keys[i]);
  assertAlmostEquals(m.selection_overlap, (1 + 1 / 3 + 2 / 6 + 1) / 4, 1e-12);
  assertAlmostEquals(m.pattern_reuse, 2 / 4, 1e-12);
  // (0 + 1 + 2 + 0) / 4 new keys per row and step, each 2 × 4 × 4 bytes.
  assertAlmostEquals(m.kv_bytes_per_step, (3 / 4) * 32, 1e-12);
});

Deno.test("stepReuseMetrics() pairs only rows sampled at both steps", () => {
  const shape = multistepShape({ heads: 1, steps: 2, seq: 8, headDim: 4, causal: false });
  const rows = [{ head: 0, row: 1 }, { head: 1, row: 2 }];
  const m = stepReuseMetrics(shape, rows, () => Int32Array.of(0));
  assertEquals(m, { selection_overlap: 0, pattern_reuse: 0, kv_bytes_per_step: 0 });
});
