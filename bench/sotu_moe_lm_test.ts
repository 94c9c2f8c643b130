// The committed sotu-moe-lm checkpoints through the `sotu-moe-lm` task with the registry's own
// gates: Switch (k = 1) and GShard top-2 (k = 2) at a capacity factor of E route as the
// checkpoints' trained routers do, and the task's bits per byte on the cards' slice is the
// figure each card stored; the dense row is the 400-step dense model.
import { sotuMoeLm } from "../datasets/sotu/moe_lm_task.ts";
import { CARD_SLICE_BYTES } from "../datasets/sotu/moe_lm_eval.ts";
import { SOTU_MOE_DIR, sotuMoeName } from "../datasets/sotu/train_sotu_moe_lm.ts";
import { methodRegistry } from "../methods/mod.ts";
import { assert, assertEquals, assertThrows } from "../tests/assert.ts";
import { defaultParams } from "./metadata.ts";
import type { TaskContext } from "./plugin.ts";
import { SkipCase } from "./plugin.ts";
import { moeLmRow } from "../datasets/sotu/moe_lm_task.ts";

const methods = methodRegistry();
const ctx: TaskContext = {
  gpu: null,
  seed: 1,
  taskSeed: 1,
  profile: "smoke",
  dump: false,
  minSampleMs: 1,
};
const method = (id: string) => methods.get(id);
const at = (id: string, set: Record<string, number>) => ({
  ...defaultParams(method(id).meta.parameters),
  ...set,
});
const card = (k: number) =>
  Deno.readTextFile(new URL(`${sotuMoeName(k)}.json`, SOTU_MOE_DIR)).then(JSON.parse, () => null);

Deno.test("sotu-moe-lm rows: Switch and GShard at capacity ≥ E are the checkpoints; others skip", () => {
  assertEquals(moeLmRow(method("switch"), at("switch", { trainCapacityFactor: 8 })), {
    kind: "moe",
    k: 1,
  });
  assertEquals(moeLmRow(method("gshard-top2"), at("gshard-top2", { capacityFactor: 8 })), {
    kind: "moe",
    k: 2,
  });
  assertEquals(moeLmRow(method("dense-ffn"), at("dense-ffn", {})), { kind: "dense" });
  assertThrows(() => moeLmRow(method("switch"), at("switch", {})), SkipCase, "capacity factor");
  assertThrows(() => moeLmRow(method("hash"), at("hash", {})), SkipCase, "Switch's top-1");
  assertThrows(() => moeLmRow(method("dense-ffn"), at("dense-ffn", { width: 2 })), SkipCase);
});

for (
  const [k, id, set] of [
    [1, "switch", { capacityFactor: 8, trainCapacityFactor: 8 }],
    [2, "gshard-top2", { capacityFactor: 8 }],
  ] as const
) {
  const stored = await card(k);
  Deno.test({
    name: `sotu-moe-lm with ${id}'s gate reproduces ${sotuMoeName(k)}'s card slice exactly`,
    ignore: stored === null,
    async fn() {
      const prepared = await sotuMoeLm.impl.prepare(
        { text: "sotu-test", bytes: CARD_SLICE_BYTES },
        ctx,
      );
      const trial = await prepared.bind(method(id), at(id, set));
      await trial.sample();
      const result = await trial.finish();
      assert(result.check.passed, result.check.description);
      assertEquals(result.metrics.bits_per_byte, stored.slice.bitsPerByte);
      assertEquals(result.metrics.card_slice_bits_per_byte, stored.slice.bitsPerByte);
      assertEquals(result.metrics.dropped_share, 0);
      assertEquals(result.metrics.active_experts, k);
      const low = result.metrics.diff_vs_dense_ci95_low,
        high = result.metrics.diff_vs_dense_ci95_high;
      assert(
        low <= result.metrics.diff_vs_dense_bits_per_byte &&
          result.metrics.diff_vs_dense_bits_per_byte <= high,
      );
      trial.dispose();
      prepared.dispose();
    },
  });
}
