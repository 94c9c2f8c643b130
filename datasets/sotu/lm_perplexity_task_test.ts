// The LM task end to end on a small case with an unpruned model (needs the committed sotu-lm).
// The method is the test's own: tasks import no method.
import { assert, assertEquals } from "../../tests/assert.ts";
import { definePruningMethod } from "../../bench/families/pruning/mod.ts";
import { sotuLmPerplexity } from "./lm_perplexity_task.ts";
import { SOTU_LM_MODELS } from "./reference_lm.ts";

const trained = await Deno.stat(new URL("sotu-lm.json", SOTU_LM_MODELS)).then(
  () => true,
  () => false,
);

const keepAll = definePruningMethod({
  id: "test-keep-all",
  family: "pruning",
  title: "Keep all",
  description: "a pruning method of the task's tests that keeps every weight",
  paper: { title: "Learning both Weights and Connections", year: 2015, link: "https://a.org" },
  version: "1.0.0",
  parameters: {},
  capabilities: { requires: [], features: ["gpt"] },
  impl: {
    target: () => ({ pattern: "unstructured", sparsity: 0 }),
    prune: () => Promise.resolve({ pruneMs: 0 }),
  },
});

const ctx = { gpu: null, seed: 1, profile: "smoke", dump: false, minSampleMs: 10 } as const;

Deno.test({
  name: "sotu-lm-perplexity scores and times the unpruned reference",
  ignore: !trained,
  async fn() {
    const prepared = await sotuLmPerplexity.impl.prepare({ text: "moby-dick", bytes: 2048 }, ctx);
    try {
      const reference = await prepared.referenceMetrics(keepAll, {});
      assert(
        reference.bits_per_byte > 0.5 && reference.bits_per_byte < 8,
        `${reference.bits_per_byte}`,
      );
      assertEquals(reference.density, 1);
      const trial = await prepared.bind(keepAll, {});
      try {
        assert((await trial.sample()).wallMs > 0);
        const result = await trial.finish();
        assert(result.check.passed, result.check.description);
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

Deno.test({
  name: "sotu-lm-perplexity's intervals over the scored windows hold bits per byte and per char",
  ignore: !trained,
  async fn() {
    const prepared = await sotuLmPerplexity.impl.prepare({ text: "sotu-test", bytes: 4096 }, ctx);
    try {
      const m = await prepared.referenceMetrics(keepAll, {});
      for (const name of ["bits_per_byte", "bits_per_char"]) {
        const [low, point, high] = [m[`${name}_ci95_low`], m[name], m[`${name}_ci95_high`]];
        assert(low <= point && point <= high, `${name}: ${low} ≤ ${point} ≤ ${high}`);
        assert(low < high && high - low < 1, `${name}: [${low}, ${high}]`);
      }
    } finally {
      prepared.dispose();
    }
  },
});
