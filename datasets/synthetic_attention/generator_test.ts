import { assert, assertEquals } from "../../tests/assert.ts";
import { sha256Hex } from "../../bench/random.ts";
import { attentionFidelity } from "./attention_fidelity.ts";
import { generateAttentionInputs, PINNED_SAMPLE } from "./generator.ts";
import { attendRow, denseKeys } from "../../bench/families/attention/mod.ts";

Deno.test("the generator reproduces the sha256 pinned in the task's metadata", async () => {
  const inputs = generateAttentionInputs(PINNED_SAMPLE.shape, PINNED_SAMPLE.seed);
  assertEquals(
    await sha256Hex(inputs.q, inputs.k, inputs.v),
    attentionFidelity.meta.dataset.sha256,
  );
});

Deno.test("generated heads have sinks: the first keys draw real mass from late queries", () => {
  const shape = { heads: 2, seq: 512, headDim: 64, causal: true };
  const inputs = generateAttentionInputs(shape, 1);
  let sinkMass = 0;
  let localMass = 0;
  const rows = [300, 400, 511];
  for (const row of rows) {
    const { weights } = attendRow(shape, inputs, { head: 0, row, keys: denseKeys(shape, row) });
    sinkMass += weights.slice(0, 4).reduce((a, b) => a + b, 0) / rows.length;
    localMass += weights.slice(row - 15, row + 1).reduce((a, b) => a + b, 0) / rows.length;
  }
  assert(sinkMass > 0.1, `sink mass ${sinkMass}`);
  assert(localMass > 0.1, `local mass ${localMass}`);
  assert(sinkMass + localMass < 0.95, "and the rest of the context still matters");
});
