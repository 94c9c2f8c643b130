// Each attention method's extraFlops (the work it spends choosing what to attend to) against a
// count of what its selection passes do, made here by walking the rows, keys and levels of a
// small odd-shaped input rather than by the method's own formula.
import { assert, assertEquals } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import { uploadStorage } from "../../bench/gpu/buffers.ts";
import type { ParamValues } from "../../bench/metadata.ts";
import {
  type AttentionShape,
  densePairsPerHead,
  keepCount,
  queryCount,
  queryOffset,
  randomInputs,
  runOnGpu,
} from "../../bench/families/attention/mod.ts";
import { attentionMethods } from "./mod.ts";

const CAUSAL: AttentionShape = { heads: 2, seq: 77, headDim: 16, causal: true };
const DECODING: AttentionShape = { heads: 2, seq: 91, headDim: 16, causal: true, queries: 5 };
// SparseD needs steps: 3 steps of 2 heads, the first dense at skip 0.2.
const STEPS: AttentionShape = { heads: 6, seq: 45, headDim: 16, causal: false, steps: 3 };

/** Keys row `row` of `shape` can see. */
function visible(shape: AttentionShape, row: number): number {
  return shape.causal ? queryOffset(shape) + row + 1 : shape.seq;
}

/** q·k products of every visible (row, key) pair of one head, counted row by row. */
function visiblePairs(shape: AttentionShape): number {
  let pairs = 0;
  for (let row = 0; row < queryCount(shape); row++) pairs += visible(shape, row);
  return pairs;
}

/**
 * HiP's search as the GPU runs it, counted level by level: per query block, k chunks of the
 * visible key blocks, halved each level (every candidate of the 2k slots scored, for each row of
 * the block) until the widest chunk is one key block.
 */
function hipSearchFlops(shape: AttentionShape, p: ParamValues): number {
  const [bq, bk, density] = [Number(p.blockSizeQ), Number(p.blockSizeK), Number(p.density)];
  const queries = queryCount(shape);
  let pairs = 0;
  for (let first = 0; first < queries; first += bq) {
    const rows = Math.min(bq, queries - first);
    const seen = visible(shape, first + rows - 1);
    const units = Math.ceil(seen / bk);
    const keep = Math.min(units, Math.ceil(keepCount(seen, density) / bk));
    let widest = Math.ceil(units / keep);
    while (widest > 1) {
      widest = Math.ceil(widest / 2);
      pairs += 2 * keep * rows;
    }
  }
  return shape.heads * pairs * 2 * shape.headDim;
}

/** What each method's selection computes, or null where no independent count is written yet. */
const EXPECTED: Record<string, (shape: AttentionShape, p: ParamValues) => number> = {
  "dense-attention": () => 0,
  "sliding-window-attention": () => 0,
  "sink-window-attention": () => 0,
  // The pattern search runs offline at setup, outside the timed work.
  "sparse-vdit-attention": () => 0,
  // Every visible key scored once (a q·k: 2 FLOPs per element).
  "topk-oracle-attention": (s) => s.heads * visiblePairs(s) * 2 * s.headDim,
  // A log-sum-exp pass and a gate pass, each a q·k per visible pair.
  "seer-oracle-attention": (s) => s.heads * visiblePairs(s) * 2 * 2 * s.headDim,
  // The same two passes, on the pattern step's heads only.
  "sparsed-attention": (s) => (s.heads / (s.steps ?? 1)) * visiblePairs(s) * 2 * 2 * s.headDim,
  // One multiply-add per element of every value (its projection to an importance).
  "dynamic-mask-attention": (s) => s.heads * s.seq * s.headDim * 2,
  "hip-attention": hipSearchFlops,
};

/** Each parameter's default. */
function defaults(parameters: Record<string, { default: unknown }>): ParamValues {
  return Object.fromEntries(
    Object.entries(parameters).map(([name, spec]) => [name, spec.default]),
  ) as ParamValues;
}

for (const method of attentionMethods.filter((m) => m.meta.id in EXPECTED)) {
  Deno.test({
    name: `${method.meta.id}: extraFlops equals a count of its selection's work`,
    ignore: testGpu === null,
    async fn() {
      const params = defaults(method.meta.parameters);
      const shapes = method.meta.id === "sparsed-attention" ? [STEPS] : [CAUSAL, DECODING];
      for (const shape of shapes) {
        const host = randomInputs(shape, 4);
        const device = testGpu!.device;
        const inputs = {
          q: uploadStorage(device, host.q, "q"),
          k: uploadStorage(device, host.k, "k"),
          v: uploadStorage(device, host.v, "v"),
        };
        try {
          const kernel = await method.impl.setup(testGpu!, { shape, inputs, params });
          kernel.dispose();
          assertEquals(
            kernel.extraFlops,
            EXPECTED[method.meta.id](shape, params),
            JSON.stringify(shape),
          );
        } finally {
          for (const b of Object.values(inputs)) b.destroy();
        }
      }
    },
  });
}

// Methods whose selection works out every visible q·k exactly.
const SCORES_EVERY_KEY = ["topk-oracle-attention", "seer-oracle-attention"];

Deno.test({
  name:
    "scoredPairs() covers every attended pair and at most the dense ones, every key for oracles",
  ignore: testGpu === null,
  async fn() {
    const withHook = attentionMethods.filter((m) => m.impl.scoredPairs);
    assert(withHook.length >= 4, withHook.map((m) => m.meta.id).join(", "));
    for (const method of withHook) {
      const params = defaults(method.meta.parameters);
      for (const shape of [CAUSAL, DECODING, STEPS]) {
        const inputs = randomInputs(shape, 6);
        const { visited } = await runOnGpu(testGpu!, method.impl, { shape, inputs, params });
        const attended = visited.reduce((a, b) => a + b, 0);
        const dense = shape.heads * densePairsPerHead(shape);
        const scored = method.impl.scoredPairs!(shape, params, visited);
        const where = `${method.meta.id} ${JSON.stringify(shape)}`;
        assert(
          attended <= scored && scored <= dense,
          `${where}: ${attended} ≤ ${scored} ≤ ${dense}`,
        );
        if (SCORES_EVERY_KEY.includes(method.meta.id)) assertEquals(scored, dense, where);
      }
    }
  },
});
