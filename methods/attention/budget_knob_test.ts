// Budget knobs and their tuning: every method's declared knob moves its density the way it says,
// and tuneBudget / matchDensity hit target realized densities on the CPU reference, or say that
// a method cannot reach them.
import {
  allRows,
  type AttentionMethod,
  matchDensity,
  randomInputs,
  selectionDensity,
  tuneBudget,
} from "../../bench/families/attention/mod.ts";
import type { Method, ParamValues } from "../../bench/metadata.ts";
import { type PreparedCase, SkipCase } from "../../bench/plugin.ts";
import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";
import { asaAttention } from "./asa.ts";
import { blockTopkAttention } from "./block_topk.ts";
import { attentionMethods } from "./mod.ts";
import { sinkWindowAttention } from "./sink_window.ts";
import { slidingWindowAttention } from "./sliding_window.ts";
import { topkOracleAttention } from "./topk_oracle.ts";

const defaults = (m: Method): ParamValues =>
  Object.fromEntries(Object.entries(m.meta.parameters).map(([k, s]) => [k, s.default]));

Deno.test("every attention method declares a numeric budget knob, or is dense", () => {
  for (const method of attentionMethods) {
    const knob = (method.impl as AttentionMethod).budgetKnob;
    const id = method.meta.id;
    if (!knob) {
      // Only the dense ones have nothing to tune.
      assert(["baseline", "peer"].includes(method.meta.fidelity.level), `${id} has no knob`);
      continue;
    }
    const spec = method.meta.parameters[knob.param];
    assert(spec?.type === "int" || spec?.type === "number", `${id}: '${knob.param}' is numeric`);
  }
});

// Sparse-vDiT falls back to dense on a head where no pattern reaches its recall threshold, as on
// random inputs at its default 0.8: the density knob then bites only with the threshold off.
const KNOB_CONTEXT: Record<string, ParamValues> = { "sparse-vdit-attention": { threshold: 0 } };

Deno.test("every budget knob moves the selection's density the way it declares", () => {
  const shape = { heads: 2, seq: 700, headDim: 16, causal: true };
  const inputs = randomInputs(shape, 7);
  const rows = allRows(shape).filter((r) => r.row % 23 === 0);
  for (const method of attentionMethods) {
    const impl = method.impl as AttentionMethod;
    const knob = impl.budgetKnob;
    if (!knob) continue;
    const spec = method.meta.parameters[knob.param];
    if (spec.type !== "int" && spec.type !== "number") continue;
    // Two values inside the range where each method's budget still bites at seq 700.
    const lo = spec.type === "int" ? Math.max(spec.min, 2) : spec.min + (spec.max - spec.min) / 50;
    const hi = spec.type === "int" ? Math.min(spec.max, 350) : spec.max;
    const density = (v: number) =>
      selectionDensity(impl, {
        shape,
        inputs,
        params: { ...defaults(method), ...KNOB_CONTEXT[method.meta.id], [knob.param]: v },
      }, rows);
    const [atLo, atHi] = [density(lo), density(hi)];
    const grows = knob.direction === "increasing";
    assert(
      grows ? atHi > atLo : atHi < atLo,
      `${method.meta.id}: ${knob.param} ${lo} → ${atLo}, ${hi} → ${atHi} (declared ${knob.direction})`,
    );
  }
});

// A window, a top-k share and a block budget: three kinds of knob.
const KNOBS: Method[] = [slidingWindowAttention, topkOracleAttention, blockTopkAttention];

Deno.test("tuneBudget() hits 0.05, 0.1 and 0.2 for a window, a top-k share and a block budget", () => {
  const shape = { heads: 2, seq: 1536, headDim: 16, causal: true };
  const inputs = randomInputs(shape, 11);
  const everyRow = allRows(shape).filter((r) => r.row % 7 === 0);
  for (const method of KNOBS) {
    for (const target of [0.05, 0.1, 0.2]) {
      const problem = { shape, inputs, params: defaults(method) };
      const t = tuneBudget(method as Method<AttentionMethod>, problem, target);
      const id = `${method.meta.id} at ${target}`;
      assert(t.reached, `${id}: ${t.reason}`);
      assert(
        Math.abs(t.achievedDensity / target - 1) <= t.tolerance,
        `${id}: ${t.achievedDensity}`,
      );
      assertEquals(t.rows, 2 * 32);
      // The sampled rows stand for the whole input: within 15% of it there too.
      const whole = selectionDensity(method.impl as AttentionMethod, {
        ...problem,
        params: { ...problem.params, [t.param]: t.value },
      }, everyRow);
      assert(Math.abs(whole / target - 1) <= 0.15, `${id}: ${whole} over more rows`);
      // Deterministic: the same value from the same evaluations.
      const again = tuneBudget(method as Method<AttentionMethod>, problem, target);
      assertEquals([again.value, again.achievedDensity, again.evaluations], [
        t.value,
        t.achievedDensity,
        t.evaluations,
      ]);
    }
  }
});

Deno.test("tuneBudget() reports a density below a method's least budget as unreachable", () => {
  // Four sinks and a window of at least one key: at seq 64 that is over 0.05 of what rows see.
  const shape = { heads: 1, seq: 64, headDim: 8, causal: true };
  const problem = { shape, inputs: randomInputs(shape, 3), params: defaults(sinkWindowAttention) };
  const t = tuneBudget(sinkWindowAttention as Method<AttentionMethod>, problem, 0.05);
  assertEquals([t.reached, t.param, t.value, t.evaluations], [false, "window", 1, 2]);
  assert(t.achievedDensity > 0.05 * 1.1, `nearest ${t.achievedDensity}`);
  assert(t.reason?.includes("least budget (window = 1)"), t.reason);
  // Reachable on the same input a little higher.
  assert(tuneBudget(sinkWindowAttention as Method<AttentionMethod>, problem, 0.4).reached);
});

Deno.test("matchDensity() binds each method at its tuned value, and skips one that cannot", async () => {
  const shape = { heads: 1, seq: 64, headDim: 8, causal: true };
  const inputs = randomInputs(shape, 3);
  const bound: ParamValues[] = [];
  const inner: PreparedCase = {
    datasetSha256: "x",
    bind(_method, params) {
      bound.push(params);
      return Promise.resolve({
        setup: { compileMs: 1, uploadMs: 2 },
        sample: () => Promise.resolve({ wallMs: 1, kernelMs: null, reps: 1 }),
        finish: () => Promise.reject(new Error("not used")),
        dispose: () => {},
      });
    },
    referenceMetrics: () => Promise.resolve({}),
    dispose: () => {},
  };
  const matched = matchDensity(inner, { shape, inputs, targetDensity: 0.25 });
  const trial = await matched.bind(slidingWindowAttention, defaults(slidingWindowAttention));
  assertEquals(trial.setup, { compileMs: 1, uploadMs: 2 });
  assertEquals(trial.tuning?.param, "window");
  assertEquals(bound[0].window, trial.tuning?.value);
  assert(Math.abs(trial.tuning!.achievedDensity / 0.25 - 1) <= 0.1);
  const low = matchDensity(inner, { shape, inputs, targetDensity: 0.02 });
  await assertRejects(
    () => low.bind(sinkWindowAttention, defaults(sinkWindowAttention)),
    SkipCase,
    "cannot reach realized density 0.02",
  );
  assertEquals(bound.length, 1);
});

Deno.test("tuneBudget() tunes ASA's threshold to 0.1 and 0.2, a budget its threshold sets", () => {
  // A data-dependent budget (the fewest blocks reaching the threshold) is tuned like the others:
  // bisection on the threshold, the realized density within the tolerance.
  const shape = { heads: 2, seq: 1536, headDim: 16, causal: true };
  const problem = { shape, inputs: randomInputs(shape, 11), params: defaults(asaAttention) };
  for (const target of [0.1, 0.2]) {
    const t = tuneBudget(asaAttention as Method<AttentionMethod>, problem, target);
    assert(t.reached, `ASA at ${target}: ${t.reason}`);
    assertEquals(t.param, "threshold");
    assert(Math.abs(t.achievedDensity / target - 1) <= t.tolerance, `${t.achievedDensity}`);
  }
});
