import { assertEquals } from "../../tests/assert.ts";
import type { PreparedCase, TrialResult } from "../../bench/plugin.ts";
import { withKvBytes } from "./attention_decoding.ts";

Deno.test("kv_bytes_per_step is the attended share of the visible cache in K and V bytes", async () => {
  const result = { metrics: { attended_key_share: 0.25 } } as unknown as TrialResult;
  const prepared = {
    datasetSha256: "x",
    bind: () =>
      Promise.resolve({
        setup: { compileMs: null, uploadMs: null },
        sample: () => Promise.resolve({ wallMs: 1, kernelMs: null, reps: 1 }),
        finish: () => Promise.resolve(result),
        dispose() {},
      }),
    referenceMetrics: () => Promise.resolve({}),
    dispose() {},
  } as unknown as PreparedCase;
  // Two heads, a cache of 10, the last 2 positions: 9 + 10 visible keys over 2 steps, ×2 heads
  // = 19 key reads per step at full density; a quarter of them, × 2 (K, V) × 4 dims × 4 bytes.
  const trial = await withKvBytes(prepared, { heads: 2, seq: 10, headDim: 4, steps: 2 })
    .bind({} as never, {});
  const { metrics } = await trial.finish();
  assertEquals(metrics.kv_bytes_per_step, 0.25 * 19 * 32);
  assertEquals(metrics.attended_key_share, 0.25);
});
