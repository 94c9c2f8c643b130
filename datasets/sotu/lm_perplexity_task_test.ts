// The LM task end to end on a small case with an unpruned model (needs the committed sotu-lm).
// The method is the test's own: tasks import no method.
import { assert, assertAlmostEquals, assertEquals } from "../../tests/assert.ts";
import { definePruningMethod } from "../../bench/families/pruning/mod.ts";
import { collectInputNorms } from "../../bench/nn/hooks.ts";
import { calibrationWindows, sotuLmPerplexity, windowsScore } from "./lm_perplexity_task.ts";
import { scoreBytes, scoreWindows } from "./lm_eval.ts";
import { loadMobyDick } from "./moby_dick.ts";
import { loadReferenceLm, SOTU_LM_MODELS } from "./reference_lm.ts";

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
  fidelity: { level: "faithful", reason: "a test fixture" },
  version: "1.0.0",
  parameters: {},
  capabilities: { requires: [], features: ["gpt"] },
  impl: {
    target: () => ({ pattern: "unstructured", sparsity: 0 }),
    prune: () => Promise.resolve({ pruneMs: 0 }),
  },
});

const ctx = {
  gpu: null,
  seed: 1,
  taskSeed: 1,
  profile: "smoke",
  dump: false,
  minSampleMs: 10,
} as const;

Deno.test({
  name: "sotu-lm-perplexity scores and times the unpruned reference",
  ignore: !trained,
  async fn() {
    const prepared = await sotuLmPerplexity.impl.prepare({
      text: "moby-dick",
      bytes: 2048,
      calibration: 8,
    }, ctx);
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
    const prepared = await sotuLmPerplexity.impl.prepare({
      text: "sotu-test",
      bytes: 4096,
      calibration: 8,
    }, ctx);
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

/** Keeps every weight and records the first layer's calibration input norms. */
const recorded: { rows: number; norms: Float64Array | null } = { rows: 0, norms: null };
const recorder = definePruningMethod({
  id: "test-calibration-recorder",
  family: "pruning",
  title: "Calibration recorder",
  description: "a pruning method of the task's tests that records its calibration inputs",
  paper: { title: "Learning both Weights and Connections", year: 2015, link: "https://a.org" },
  fidelity: { level: "faithful", reason: "a test fixture" },
  version: "1.0.0",
  parameters: {},
  capabilities: { requires: [], features: ["gpt"] },
  impl: {
    target: () => ({ pattern: "unstructured", sparsity: 0 }),
    prune(model, calibration) {
      const first = model.linears()[0];
      const norms = collectInputNorms(first);
      calibration.run({ until: first });
      norms.detach();
      recorded.rows = norms.rows();
      recorded.norms = norms.value();
      return Promise.resolve({ pruneMs: 0 });
    },
  },
});

Deno.test("calibrationWindows() counts whole context windows that have a next byte", () => {
  assertEquals(calibrationWindows(257, 128), 2);
  assertEquals(calibrationWindows(256, 128), 1);
  assertEquals(calibrationWindows(100, 128), 0);
});

Deno.test({
  name:
    "sotu-lm-perplexity calibrates with seeded training windows and reports per-layer densities",
  ignore: !trained,
  async fn() {
    const params = { text: "sotu-test", bytes: 1024, calibration: 6 };
    const prepared = await sotuLmPerplexity.impl.prepare(params, ctx);
    let first: Float64Array;
    try {
      const m = await prepared.referenceMetrics(recorder, {});
      assertEquals(m.calibration_rows, 6 * 128);
      assertEquals(recorded.rows, 6 * 128);
      first = recorded.norms!;
      const layers = Object.keys(m).filter((k) => k.startsWith("density_"));
      assertEquals(layers.length, 4 * 4 + 1);
      assert(layers.includes("density_blocks_0_attn_qkv") && layers.includes("density_head"));
      assert(layers.every((k) => m[k] === 1 && /^[a-z][a-z0-9_]*$/.test(k)));
      await prepared.referenceMetrics(recorder, {});
      assertEquals([...recorded.norms!], [...first]);
    } finally {
      prepared.dispose();
    }
    const other = await sotuLmPerplexity.impl.prepare(params, { ...ctx, taskSeed: 2 });
    try {
      await other.referenceMetrics(recorder, {});
      assert(recorded.norms!.some((v, j) => Math.abs(v - first[j]) > 1e-6), "other windows");
    } finally {
      other.dispose();
    }
  },
});

Deno.test({
  name: "windowsScore() of the first windows equals the score of that prefix alone",
  ignore: !trained,
  async fn() {
    const { model } = await loadReferenceLm();
    const text = (await loadMobyDick()).bytes.subarray(0, 700);
    const { windows, bitsPerByte } = scoreWindows(model, text);
    const prefix = scoreBytes(model, text.subarray(0, 2 * 128 + 1));
    assertAlmostEquals(windowsScore(windows, 2 * 128 + 1).bitsPerByte, prefix.bitsPerByte, 1e-12);
    assertAlmostEquals(windowsScore(windows, text.length).bitsPerByte, bitsPerByte, 1e-12);
  },
});
