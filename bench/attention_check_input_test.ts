// The attention tasks' check input must exercise selection: at its default parameters, every
// registered attention method's CPU reference chooses at least three blocks (or keys, or lines)
// beyond what it always keeps, on every head of the structured check input: on the row of 16
// spread over the scored queries where it chooses most, because a threshold rule (anchor
// attention's) rightly chooses nothing extra on some rows of a very local head.
import { assert, assertEquals } from "../tests/assert.ts";
import type { ParamValues } from "./metadata.ts";
import {
  ATTENTION_CHECK_SEQ,
  type AttentionShape,
  queryCount,
  windowBand,
} from "./families/attention/mod.ts";
import { attentionMethods } from "../methods/attention/mod.ts";
import { structuredCheckInput } from "../datasets/synthetic_attention/attention_fidelity.ts";

/**
 * How the test counts what a method chose: keys per unit it selects in (a block; 1 for methods
 * choosing keys, stripes or diagonal lines, which a row meets one key at a time), or why the
 * method is exempt.
 */
const UNIT: Record<string, ((p: ParamValues) => number) | { exempt: string }> = {
  "dense-attention": { exempt: "attends every key" },
  "dense-attention-per-query": { exempt: "attends every key" },
  "ort-wasm-dense-attention": { exempt: "attends every key" },
  "ort-webgpu-dense-attention": { exempt: "attends every key" },
  "sliding-window-attention": { exempt: "keeps only its window" },
  "sink-window-attention": { exempt: "keeps only its sinks and window" },
  "topk-oracle-attention": () => 1,
  "block-topk-attention": (p) => Number(p.blockSize),
  "vertical-slash-attention": () => 1,
  "routing-attention": () => 1,
  "hip-attention": (p) => Number(p.blockSizeK),
  "seer-oracle-attention": (p) => Number(p.blockSize),
  "seer-learned-attention": (p) => Number(p.blockSize),
  // Stripes are key columns, chosen per query block.
  "anchor-attention": () => 1,
  // Chunks are 8 to 32 keys and not aligned: counted in 32-key blocks, so never more than chunks.
  "dhsa-attention": (p) => Number(p.maxChunk),
  "dhsa-trained-attention": (p) => Number(p.maxChunk),
  "sparse-vdit-attention": (p) => Number(p.blockSize),
  "sparsed-attention": (p) => Number(p.blockSize),
  "adaspa-attention": (p) => Number(p.blockSize),
  "asa-attention": (p) => Number(p.blockSize),
  "nosa-attention": () => 1,
  "nosa-trained-attention": () => 1,
  "dynamic-mask-attention": () => 1,
  "dynamic-mask-trained-attention": () => 1,
};

/** Each parameter's default. */
function defaults(parameters: Record<string, { default: unknown }>): ParamValues {
  return Object.fromEntries(
    Object.entries(parameters).map(([name, spec]) => [name, spec.default]),
  ) as ParamValues;
}

/**
 * Units of `unit` keys among `keys` outside what row `row` always keeps: its own unit, its window
 * (`window`) and the first `sinks` (or `initTokens`) keys.
 */
function extraUnits(
  shape: AttentionShape,
  params: ParamValues,
  at: { row: number; unit: number; keys: Int32Array },
): number {
  const { row, unit, keys } = at;
  const pos = shape.seq - queryCount(shape) + row;
  const mandatory = (j: number) => {
    if (Math.floor(j / unit) === Math.floor(pos / unit)) return true;
    if (j < Number(params.sinks ?? params.initTokens ?? 0)) return true;
    if (typeof params.window !== "number" || params.window <= 0) return false;
    const [lo, hi] = windowBand(shape, params.window, row);
    return j >= lo && j <= hi;
  };
  return new Set([...keys].filter((j) => !mandatory(j)).map((j) => Math.floor(j / unit))).size;
}

Deno.test("UNIT names every registered attention method", () => {
  assertEquals(
    attentionMethods.map((m) => m.meta.id).filter((id) => !(id in UNIT)),
    [],
  );
});

for (const causal of [true, false]) {
  Deno.test(
    `every attention method chooses 3+ blocks or lines beyond its mandatory keys on the ${
      causal ? "causal" : "non-causal"
    } check input, at its defaults`,
    () => {
      const check = structuredCheckInput({ heads: 8, seq: 4096, headDim: 64, causal }, 0);
      assertEquals(check.shape.seq, ATTENTION_CHECK_SEQ);
      assert(ATTENTION_CHECK_SEQ % 2 === 1, "the check input is odd-shaped");
      const short: string[] = [];
      for (const method of attentionMethods) {
        const unit = UNIT[method.meta.id];
        if (typeof unit !== "function") continue;
        const params = defaults(method.meta.parameters);
        const problem = { ...check, params };
        const queries = queryCount(check.shape);
        const rows = Array.from(
          { length: 16 },
          (_, i) => queries - 1 - Math.floor(i * queries / 16),
        );
        for (let head = 0; head < check.shape.heads; head++) {
          const most = Math.max(...rows.map((row) =>
            extraUnits(check.shape, params, {
              row,
              unit: unit(params),
              keys: method.impl.selectKeys(problem, head, row),
            })
          ));
          if (most < 3) short.push(`${method.meta.id} head ${head}: ${most}`);
        }
      }
      assertEquals(short, []);
    },
  );
}
