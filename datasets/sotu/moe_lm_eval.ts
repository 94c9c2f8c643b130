// How the MoE byte LMs (sotu-moe-lm-e8-k1/k2) and their 400-step dense baseline are loaded and
// scored: bits per byte over the windows of lm_eval.ts, the routing figures of every MoE layer,
// and the paired difference against the dense model on the same windows. The cards' stored slice
// figures and the `sotu-moe-lm` task both come from here, so the two agree exactly.
import { RoutingTally } from "../../bench/families/moe/mod.ts";
import { loadCheckpoint } from "../../bench/nn/checkpoint.ts";
import { Gpt, type GptConfig } from "../../bench/nn/gpt.ts";
import type { MoeFfn } from "../../bench/nn/moe_ffn.ts";
import { bootstrapInterval } from "../../bench/stats.ts";
import { type ModelCard, readCheckpoint } from "../mnist/reference_mlp.ts";
import { type LmWindow, scoreWindows } from "./lm_eval.ts";
import { SOTU_LM_DIR } from "./train_sotu_lm.ts";
import { SOTU_MOE_DIR, SOTU_MOE_RECIPE, sotuMoeModel, sotuMoeName } from "./train_sotu_moe_lm.ts";

/** The equal-active-parameter dense baseline: the 400-step sotu-lm-short-dense. */
export const DENSE_400 = { dir: new URL("steps400/", SOTU_LM_DIR), name: "sotu-lm-short-dense" };

/** The slice each card stores: the test years' first 64 windows (8,193 bytes at context 128). */
export const CARD_SLICE_BYTES = 64 * 128 + 1;

/** A loaded MoE LM: the model, its MoE layers and its card. */
export interface LoadedMoeLm {
  name: string;
  model: Gpt;
  moe: MoeFfn[];
  card: ModelCard;
}

/** The committed `sotu-moe-lm-e8-k<k>`, verified against its card's sha256. */
export async function loadSotuMoeLm(k: number, dir: URL = SOTU_MOE_DIR): Promise<LoadedMoeLm> {
  const name = sotuMoeName(k);
  const { card, bytes } = await readCheckpoint(dir, name);
  const { model, moe } = sotuMoeModel(k, {
    ...SOTU_MOE_RECIPE,
    model: card.recipe.model as GptConfig,
  });
  loadCheckpoint(model.parameters(), bytes);
  return { name, model, moe, card };
}

/** The committed 400-step dense model (plain attention: its full path is CausalSelfAttention's). */
export async function loadDense400(): Promise<{ name: string; model: Gpt; card: ModelCard }> {
  const { card, bytes } = await readCheckpoint(DENSE_400.dir, DENSE_400.name);
  const model = new Gpt(card.recipe.model as GptConfig);
  loadCheckpoint(model.parameters(), bytes);
  return { name: DENSE_400.name, model, card };
}

/** Bits per byte of the first `limit` bytes, window by window, with each MoE layer's routing. */
export function scoreMoeLm(
  model: Gpt,
  moe: readonly MoeFfn[],
  bytes: Uint8Array,
  limit = bytes.length,
): {
  bitsPerByte: number;
  bits: number;
  bytes: number;
  windows: LmWindow[];
  routing: RoutingTally[];
} {
  const tallies = moe.map((f) => new RoutingTally(f.shape.experts));
  // Each scored batch's routing, tallied as it passes (the model's forward is the scorer's).
  const forward = model.forward.bind(model);
  model.forward = (ids, batch) => {
    const logits = forward(ids, batch);
    moe.forEach((f, i) => tallies[i].add(f.lastRouting!));
    return logits;
  };
  try {
    const s = scoreWindows(model, bytes, { limit });
    return { ...s, routing: tallies };
  } finally {
    model.forward = forward;
  }
}

/**
 * The routing figures over layers: load CV, router entropy and active experts averaged over the
 * layers, MaxVio and the dropped share at their worst layer, dead experts summed; and each
 * layer's own (`<figure>_l<i>`).
 */
export function routingFigures(tallies: readonly RoutingTally[]): Record<string, number> {
  const per = tallies.map((t) => t.figures());
  const avg = (key: string) => per.reduce((s, f) => s + (f[key] ?? 0), 0) / per.length;
  const out: Record<string, number> = {
    load_cv: avg("load_cv"),
    max_vio: Math.max(...per.map((f) => f.max_vio)),
    dropped_share: Math.max(...per.map((f) => f.dropped_share)),
    dead_experts: per.reduce((s, f) => s + f.dead_experts, 0),
    active_experts: avg("active_experts"),
    router_entropy: avg("router_entropy"),
  };
  per.forEach((f, i) => {
    for (const key of ["load_cv", "max_vio", "router_entropy"]) out[`${key}_l${i}`] = f[key];
  });
  return out;
}

/**
 * Bits per byte's 95% bootstrap interval over windows, and the paired difference model − dense on
 * the same windows (each resample takes both models' bits of a window together).
 */
export function pairedIntervals(
  windows: readonly LmWindow[],
  dense: readonly LmWindow[] | null,
): { bitsPerByte: [number, number]; diff: number; diffInterval: [number, number] } | {
  bitsPerByte: [number, number];
} {
  const ids = windows.map((_, i) => i);
  const ratio = (num: (i: number) => number) => (sample: readonly number[]) => {
    let a = 0, b = 0;
    for (const i of sample) {
      a += num(i);
      b += windows[i].bytes;
    }
    return a / b;
  };
  const bitsPerByte = bootstrapInterval(ids, ratio((i) => windows[i].bits));
  if (!dense) return { bitsPerByte };
  if (
    dense.length !== windows.length ||
    dense.some((w, i) => w.start !== windows[i].start || w.bytes !== windows[i].bytes)
  ) throw new Error("paired difference: the two models scored different windows");
  const delta = (i: number) => windows[i].bits - dense[i].bits;
  return {
    bitsPerByte,
    diff: ratio(delta)(ids),
    diffInterval: bootstrapInterval(ids, ratio(delta)),
  };
}
