// The LM task end to end on a small case with the dense method (needs the committed sotu-lm).
import { assert, assertEquals } from "../../tests/assert.ts";
import { densePruning } from "../../methods/pruning/dense.ts";
import { sotuLmPerplexity } from "./lm_perplexity_task.ts";
import { SOTU_LM_MODELS } from "./reference_lm.ts";

const trained = await Deno.stat(new URL("sotu-lm.json", SOTU_LM_MODELS)).then(
  () => true,
  () => false,
);

Deno.test({
  name: "sotu-lm-perplexity scores and times the dense reference",
  ignore: !trained,
  async fn() {
    const prepared = await sotuLmPerplexity.impl.prepare(
      { text: "moby-dick", bytes: 2048 },
      { gpu: null, seed: 1, profile: "smoke", dump: false },
    );
    try {
      const reference = await prepared.referenceMetrics(densePruning, {});
      assert(
        reference.bits_per_byte > 0.5 && reference.bits_per_byte < 8,
        `${reference.bits_per_byte}`,
      );
      assertEquals(reference.density, 1);
      const trial = await prepared.bind(densePruning, {});
      try {
        assert((await trial.sample()).wallMs > 0);
        const result = await trial.finish();
        assert(result.check.passed);
        assertEquals(result.metrics.bits_per_byte, reference.bits_per_byte);
        assertEquals(result.metrics.perplexity, 2 ** reference.bits_per_byte);
        assert(
          result.metrics.onnxruntime_bits_diff < 1e-4,
          `${result.metrics.onnxruntime_bits_diff}`,
        );
      } finally {
        trial.dispose();
      }
    } finally {
      prepared.dispose();
    }
  },
});
