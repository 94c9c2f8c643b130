import { assert, assertEquals } from "../../tests/assert.ts";
import { sha256Hex } from "../../bench/random.ts";
import { attendRow, denseKeys, keyRange } from "../../bench/families/attention/mod.ts";
import { readOut } from "../attention_common/readout.ts";
import { associativeRecall, RECALL_PINNED_SAMPLE } from "./associative_recall.ts";
import { buildRecallInputs, DEFAULT_RECALL_OPTIONS } from "./recall_inputs.ts";

Deno.test("recall inputs reproduce the sha256 pinned in the task's metadata", async () => {
  const { shape, seed, pairs } = RECALL_PINNED_SAMPLE;
  const { inputs } = buildRecallInputs(shape, seed, { ...DEFAULT_RECALL_OPTIONS, pairs });
  assertEquals(
    await sha256Hex(inputs.q, inputs.k, inputs.v),
    associativeRecall.meta.dataset.sha256,
  );
});

Deno.test("recall inputs: dense attention reads out every answer; a short window mostly cannot", () => {
  const shape = { heads: 2, seq: 400, headDim: 64, causal: true };
  const { inputs, layout } = buildRecallInputs(shape, 5, { ...DEFAULT_RECALL_OPTIONS, pairs: 40 });
  let windowHits = 0;
  for (let head = 0; head < shape.heads; head++) {
    layout.queryRows.forEach((row, r) => {
      const dense = attendRow(shape, inputs, { head, row, keys: denseKeys(shape, row) }).out;
      assertEquals(readOut(dense, inputs, shape, { head, row }), layout.answers[head][r]);
      const window = attendRow(shape, inputs, { head, row, keys: keyRange(row - 31, row) }).out;
      if (readOut(window, inputs, shape, { head, row }) === layout.answers[head][r]) windowHits++;
    });
  }
  assert(windowHits < 8, `a 32-key window found ${windowHits} of 16 answers`);
});
