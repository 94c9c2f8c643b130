// The committed sotu-lm loads, exports to ONNX with the same logits, and scores a fixed slice of
// the SOTU test years close to its card's figure. (Whether the card meets the 2.0 bits per
// character is reported in the card itself, not asserted here.)
import { assert, assertAlmostEquals } from "../../tests/assert.ts";
import { exportGptOnnx } from "../../bench/nn/onnx.ts";
import { ortGptLogits, ortSession } from "../../bench/nn/ort.ts";
import { scoreBytes } from "./lm_eval.ts";
import { loadReferenceLm, SOTU_LM_MODELS } from "./reference_lm.ts";
import { loadSotuSpeeches, sotuSplitBytes } from "./sotu.ts";

const trained = await Deno.stat(new URL("sotu-lm.json", SOTU_LM_MODELS)).then(
  () => true,
  () => false,
);
if (!trained) {
  console.warn("sotu-lm tests are ignored: no committed checkpoint (deno task train sotu-lm)");
}

Deno.test({
  name: "sotu-lm scores a fixed 8 KiB slice of the test years in line with its card",
  ignore: !trained,
  async fn() {
    const { model, card } = await loadReferenceLm();
    const metrics = card.metrics as {
      test: { bitsPerByte: number };
      testSlice8KiB?: { bitsPerByte: number };
    };
    const bytes = sotuSplitBytes(await loadSotuSpeeches(), "test");
    const slice = scoreBytes(model, bytes, { limit: 8192 });
    if (metrics.testSlice8KiB) {
      assertAlmostEquals(slice.bitsPerByte, metrics.testSlice8KiB.bitsPerByte, 1e-9);
    } else {
      // Cards from before the slice was recorded: one slice must land near the whole test set.
      assert(
        Math.abs(slice.bitsPerByte - metrics.test.bitsPerByte) <= 0.6,
        `first 8 KiB: ${slice.bitsPerByte} bits per byte; card (all test years): ${metrics.test.bitsPerByte}`,
      );
    }
  },
});

Deno.test({
  name: "sotu-lm exported to ONNX gives our logits in onnxruntime-web within 1e-4",
  ignore: !trained,
  async fn() {
    const { model } = await loadReferenceLm();
    const bytes = sotuSplitBytes(await loadSotuSpeeches(), "test").subarray(0, 256);
    const ids = Int32Array.from(bytes);
    const session = await ortSession(exportGptOnnx(model));
    const theirs = await ortGptLogits(session, ids, 2);
    const ours = model.forward(ids, 2);
    let max = 0;
    for (let i = 0; i < ours.length; i++) max = Math.max(max, Math.abs(ours[i] - theirs[i]));
    assert(max <= 1e-4, `max |diff| ${max}`);
  },
});
