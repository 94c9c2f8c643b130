import { assert, assertEquals } from "../../tests/assert.ts";
import { attendRow, denseKeys, keyRange } from "../../bench/families/attention/mod.ts";
import { GLOVE_DIM, loadGloveVocabulary } from "./loader.ts";
import {
  buildNeedleInputs,
  DEFAULT_NEEDLE_OPTIONS,
  NEEDLE_TAIL_ROWS,
  normalizeRows,
} from "./needle_inputs.ts";
import { readOut } from "../attention_common/readout.ts";

const shape = { heads: 2, seq: 300, headDim: GLOVE_DIM, causal: true };

Deno.test("needle inputs: dense attention reads out every needle; a window that misses it does not", async () => {
  const glove = await loadGloveVocabulary(3000);
  const vectors = normalizeRows(glove.vectors.slice(100 * GLOVE_DIM), GLOVE_DIM);
  const { inputs, layout } = buildNeedleInputs(shape, { vectors, size: 2900 }, {
    ...DEFAULT_NEEDLE_OPTIONS,
    depth: 0.2,
    seed: 7,
  });
  // The scored queries end NEEDLE_TAIL_ROWS before the sequence does: outside the last-64-row
  // estimation window vertical-slash uses by default.
  assertEquals(layout.queryRows, [212, 213, 214, 215, 216, 217, 218, 219]);
  assert(NEEDLE_TAIL_ROWS >= 64 + 16);
  assert(layout.queryRows.every((row) => row < shape.seq - NEEDLE_TAIL_ROWS));
  assertEquals(layout.needlePositions[0], [41, 42, 43, 44, 45, 46, 47, 48]);
  for (let head = 0; head < shape.heads; head++) {
    layout.queryRows.forEach((row, r) => {
      const dense = attendRow(shape, inputs, { head, row, keys: denseKeys(shape, row) }).out;
      assertEquals(readOut(dense, inputs, shape, { head, row }), layout.needlePositions[head][r]);
      const recent = attendRow(shape, inputs, { head, row, keys: keyRange(row - 63, row) }).out;
      assert(readOut(recent, inputs, shape, { head, row }) !== layout.needlePositions[head][r]);
    });
  }
});

Deno.test("needle inputs are reproducible from the seed", () => {
  const vectors = normalizeRows(
    Float32Array.from({ length: 50 * GLOVE_DIM }, (_, i) => Math.sin(i)),
    GLOVE_DIM,
  );
  const options = { ...DEFAULT_NEEDLE_OPTIONS, depth: 0.5, seed: 3 };
  const a = buildNeedleInputs(shape, { vectors, size: 50 }, options);
  const b = buildNeedleInputs(shape, { vectors, size: 50 }, options);
  assertEquals(a.inputs.k, b.inputs.k);
  assertEquals(a.layout, b.layout);
});
