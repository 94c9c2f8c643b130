// DSnoT (Zhang et al., 2023): training-free refinement of a Wanda or SparseGPT mask. Per output
// row, a pruned weight is grown and a kept one pruned, swap after swap, while that shrinks the
// row's expected reconstruction error r = Σ_j (W_ij − Ŵ_ij)·E[x_j]; every row keeps its count.
import {
  definePruningMethod,
  type MaskTarget,
  parseTarget,
  type PrunableModel,
  rowMask,
  sparseGptLayer,
  TARGET_PARAM,
  wandaScores,
} from "../../bench/families/pruning/mod.ts";
import type { Calibration } from "../../bench/families/pruning/mod.ts";
import { collectInputGram, collectInputMoments, collectInputNorms } from "../../bench/nn/hooks.ts";
import type { Linear } from "../../bench/nn/layers.ts";

/** One layer as DSnoT receives it: its dense weights and what the base method left. */
export interface DsnotLayerInput {
  /** The weights before pruning, [rows × cols]: what r measures against, and a grown weight's value. */
  dense: ArrayLike<number>;
  /** The base's weights, [rows × cols]: pruned ones 0, kept ones as the base left them. */
  weights: ArrayLike<number>;
  /** The base's mask, 1 kept, 0 pruned. */
  mask: ArrayLike<number>;
  rows: number;
  cols: number;
}

/** What {@link dsnotLayer} refines a layer with. */
export interface DsnotLayerOptions {
  /** E[x_j] over the layer's calibration inputs (bench/nn/hooks.ts `collectInputMoments`). */
  mean: ArrayLike<number>;
  /** Var[x_j] over the same inputs: the growing criterion divides by Var[x_j]^varPower. */
  variance: ArrayLike<number>;
  /** ‖X_j‖₂ over the same inputs: the pruning order is Wanda's |Ŵ_ij|·‖X_j‖₂, lowest first. */
  norms: ArrayLike<number>;
  /** The base's target; for N:M a swap stays inside one group of M inputs. */
  target: MaskTarget;
  /** Swaps per row at most (default 50). */
  maxCycles?: number;
  /** A row stops once |r| ≤ this (default 0.1). */
  updateThreshold?: number;
  /** The power of Var[x_j] the growing criterion divides by (default 1; 0: no variance term). */
  varPower?: number;
  /** Take only swaps that keep r's sign, so |r| never grows (default true). */
  sameSign?: boolean;
}

/** A layer refined by {@link dsnotLayer}. */
export interface DsnotLayerResult {
  /** Pruned weights 0, grown ones back at their dense value, the rest as the base left them. */
  weights: Float32Array;
  /** 1 kept, 0 pruned. */
  mask: Float32Array;
  /** Each row's r with the base's weights. */
  errorBefore: Float64Array;
  /** Each row's r after the swaps. */
  errorAfter: Float64Array;
  /** Swaps made over every row. */
  swaps: number;
}

/**
 * Each row's expected reconstruction error r_i = Σ_j (dense_ij − weights_ij)·E[x_j]: the
 * difference of the dense and the sparse layer's outputs at the mean calibration input.
 *
 * @param layer the dense and the sparse weights, [rows × cols]
 * @param mean E[x_j], one per input
 * @returns r, one per row (float64)
 * @throws {RangeError} when the sizes disagree
 * @example
 * ```ts
 * import { expectedErrors } from "./dsnot.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 * const layer = { dense: [2, -1, 3], weights: [2, 0, 0], mask: [1, 0, 0], rows: 1, cols: 3 };
 * assertEquals([...expectedErrors(layer, [1, 2, 1])], [1]);
 * ```
 */
export function expectedErrors(
  layer: Omit<DsnotLayerInput, "mask">,
  mean: ArrayLike<number>,
): Float64Array {
  const { rows, cols, dense, weights } = layer;
  if (dense.length !== rows * cols || weights.length !== rows * cols || mean.length !== cols) {
    throw new RangeError(
      `Cannot compute the expected error as dense and sparse weights must hold rows × cols = ${rows} × ${cols} entries and the mean ${cols}: got ${dense.length}, ${weights.length} and ${mean.length}`,
    );
  }
  const r = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let e = 0;
    for (let j = 0; j < cols; j++) e += (dense[i * cols + j] - weights[i * cols + j]) * mean[j];
    r[i] = e;
  }
  return r;
}

/**
 * Refines one pruned layer with DSnoT, row by row. Grow candidates are the base's pruned weights
 * j with c_j = W_ij·E[x_j] ≠ 0, in order of |c_j|/Var[x_j]^varPower (a constant input first);
 * prune candidates are the base's kept weights, by Wanda's |Ŵ_ik|·‖X_k‖₂, lowest first. Each
 * cycle, while |r| > updateThreshold: take the best grow candidate whose c_j has r's sign
 * (growing it lowers |r|) and pair it with the lowest-scored prune candidate whose removal adds
 * nothing of r's sign (Ŵ_ik·E[x_k]·sign(r) ≤ 0) and, with `sameSign`, leaves r's sign as it was
 * after the swap; for N:M the pair lies in one group of M. A grow candidate nothing can pair is
 * passed over; a row with no pair left stops. A weight changes at most once; every row (every
 * N:M group) keeps its kept count.
 *
 * @param layer the dense weights and the base's weights and mask
 * @param options the input statistics, the target and DSnoT's settings
 * @returns the refined weights and mask, r before and after, the swaps made
 * @throws {RangeError} for inconsistent sizes, a negative or fractional `maxCycles`, or a
 *   negative `updateThreshold` or `varPower`
 * @example
 * ```ts
 * import { dsnotLayer } from "./dsnot.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 * // One row, E[x] = 1: the base kept inputs 0 and 1 and left r = 3 + 1 = 4. Growing input 2
 * // (c = 3) and pruning input 1 (c = −1, the only kept weight not adding to r) leaves r = 0.
 * const out = dsnotLayer(
 *   { dense: [4, -1, 3, 1], weights: [4, -1, 0, 0], mask: [1, 1, 0, 0], rows: 1, cols: 4 },
 *   {
 *     mean: [1, 1, 1, 1],
 *     variance: [1, 1, 1, 1],
 *     norms: [1, 1, 1, 1],
 *     target: { pattern: "unstructured", sparsity: 0.5 },
 *   },
 * );
 * assertEquals([...out.mask], [1, 0, 1, 0]);
 * assertEquals([...out.errorAfter], [0]);
 * ```
 */
export function dsnotLayer(layer: DsnotLayerInput, options: DsnotLayerOptions): DsnotLayerResult {
  const { rows, cols, dense, mask: baseMask } = layer;
  const { mean, variance, norms, target } = options;
  const maxCycles = options.maxCycles ?? 50;
  const threshold = options.updateThreshold ?? 0.1;
  const varPower = options.varPower ?? 1;
  const sameSign = options.sameSign ?? true;
  checkLayerInputs(layer, options, maxCycles, threshold, varPower);

  const weights = Float32Array.from(layer.weights);
  const mask = Float32Array.from(baseMask, (m) => (m !== 0 ? 1 : 0));
  const errorBefore = expectedErrors(layer, mean);
  const groupWidth = target.pattern === "n:m" ? Math.min(target.m, cols) : cols;
  const growKey = new Float64Array(cols), pruneScore = new Float64Array(cols);
  const grow = new Float64Array(cols), prune = new Float64Array(cols);
  const candidate = new Uint8Array(cols); // 1: a kept weight of the base DSnoT may still prune
  let swaps = 0;
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    const up: number[] = [], down: number[] = [], order: number[] = [];
    for (let j = 0; j < cols; j++) {
      grow[j] = dense[o + j] * mean[j];
      prune[j] = weights[o + j] * mean[j];
      pruneScore[j] = Math.abs(weights[o + j]) * norms[j];
      candidate[j] = mask[o + j];
      if (mask[o + j] !== 0) order.push(j);
      else if (grow[j] !== 0) {
        growKey[j] = Math.abs(grow[j]) / variance[j] ** varPower;
        (grow[j] > 0 ? up : down).push(j);
      }
    }
    // Higher key first; equal keys (two constant inputs, both ∞) to the lower index.
    const byKey = (a: number, b: number) =>
      growKey[a] > growKey[b] ? -1 : growKey[a] < growKey[b] ? 1 : a - b;
    up.sort(byKey);
    down.sort(byKey);
    order.sort((a, b) => pruneScore[a] - pruneScore[b] || a - b);
    const next = { up: 0, down: 0 };
    let r = errorBefore[i];
    // A kept weight that may go once r would be `rest` after the grow: its removal adds nothing
    // of r's sign and, with sameSign, does not take r past 0.
    const allowed = (k: number, rest: number, sign: number) =>
      candidate[k] === 1 && prune[k] * sign <= 0 && (!sameSign || (rest + prune[k]) * sign >= 0);
    for (let cycle = 0; cycle < maxCycles && Math.abs(r) > threshold; cycle++) {
      const sign = r > 0 ? 1 : -1;
      const queue = sign > 0 ? up : down, side = sign > 0 ? "up" : "down";
      let g = -1, p = -1;
      while (g < 0 && next[side] < queue.length) {
        const j = queue[next[side]++], rest = r - grow[j];
        // Growing j alone takes r past 0: no allowed prune brings it back, now or later
        // (|r| only shrinks), so j is passed over for good.
        if (sameSign && rest * sign < 0) continue;
        if (groupWidth === cols) {
          p = order.find((k) => allowed(k, rest, sign)) ?? -1;
        } else {
          const start = j - (j % groupWidth), end = Math.min(start + groupWidth, cols);
          for (let k = start; k < end; k++) {
            if (allowed(k, rest, sign) && (p < 0 || pruneScore[k] < pruneScore[p])) p = k;
          }
        }
        if (p >= 0) g = j;
        // Without sameSign a row's partner does not depend on j: none for this j, none at all.
        else if (!sameSign && groupWidth === cols) break;
      }
      if (g < 0) break;
      mask[o + g] = 1;
      weights[o + g] = dense[o + g];
      mask[o + p] = 0;
      weights[o + p] = 0;
      candidate[p] = 0;
      r = r - grow[g] + prune[p];
      swaps++;
    }
  }
  const errorAfter = expectedErrors({ rows, cols, dense, weights }, mean);
  return { weights, mask, errorBefore, errorAfter, swaps };
}

function checkLayerInputs(
  layer: DsnotLayerInput,
  options: DsnotLayerOptions,
  maxCycles: number,
  threshold: number,
  varPower: number,
): void {
  const { rows, cols } = layer;
  for (const [name, values] of [["weights", layer.weights], ["mask", layer.mask]] as const) {
    if (values.length !== rows * cols) {
      throw new RangeError(
        `Cannot refine with DSnoT as the ${name} must hold rows × cols = ${rows} × ${cols} entries: got ${values.length}`,
      );
    }
  }
  for (const name of ["mean", "variance", "norms"] as const) {
    if (options[name].length !== cols) {
      throw new RangeError(
        `Cannot refine with DSnoT as '${name}' must have one entry per input (${cols}): got ${
          options[name].length
        }`,
      );
    }
  }
  if (!Number.isInteger(maxCycles) || maxCycles < 0) {
    throw new RangeError(
      `Cannot refine with DSnoT as 'maxCycles' must be an integer ≥ 0: current value is ${maxCycles}`,
    );
  }
  if (!(threshold >= 0)) {
    throw new RangeError(
      `Cannot refine with DSnoT as 'updateThreshold' must be ≥ 0: current value is ${threshold}`,
    );
  }
  if (!(varPower >= 0) || !Number.isFinite(varPower)) {
    throw new RangeError(
      `Cannot refine with DSnoT as 'varPower' must be a finite number ≥ 0: current value is ${varPower}`,
    );
  }
}

const BASES = ["wanda", "sparsegpt"] as const;
const SKIPS = ["none", "mlp", "attn"] as const;

/** The mask DSnoT starts from. */
export type DsnotBase = typeof BASES[number];
/** Which layers keep the base's mask untouched, as the reference's `skip_layer`. */
export type DsnotSkip = typeof SKIPS[number];

/** `value` as one of `values`, for an enum parameter. */
function oneOf<T extends string>(value: string, values: readonly T[], name: string): T {
  const found = values.find((v) => v === value);
  if (found === undefined) {
    throw new RangeError(
      `Cannot prune with DSnoT as '${name}' must be one of ${
        values.join(", ")
      }: current value is '${value}'`,
    );
  }
  return found;
}

/** What {@link dsnotPrune} prunes with besides the target. */
export interface DsnotPruneOptions
  extends Pick<DsnotLayerOptions, "maxCycles" | "updateThreshold" | "varPower" | "sameSign"> {
  /** The mask DSnoT starts from (default "wanda"). */
  base?: DsnotBase;
  /** Layers left at the base's mask (default "none"). */
  skip?: DsnotSkip;
}

/** What {@link dsnotPrune} did, over every layer. */
export interface DsnotPruneSummary {
  swaps: number;
  /** Σ over rows of |r| with the base's masks (each layer on its own calibration inputs). */
  errorBefore: number;
  /** The same after the swaps. */
  errorAfter: number;
}

/** Whether a transformer block's sublayer of this kind: `blocks.0.mlp.fc.weight` is "mlp". */
function skipped(layer: Linear, skip: DsnotSkip): boolean {
  return skip !== "none" && layer.weight.name.split(".").includes(skip);
}

/**
 * Prunes every layer of `model` with DSnoT on a Wanda or SparseGPT base, in forward order: hook
 * the layer's input norms, moments (and Gram, for SparseGPT), run the calibration data through
 * the model as pruned so far (as far as that layer), take the base's mask (SparseGPT's updated
 * weights kept as updated), refine it with {@link dsnotLayer}, write weights and mask back.
 *
 * @param model the model, pruned in place
 * @param calibration its calibration data
 * @param target what every layer is pruned to
 * @param options the base, the skipped layers and DSnoT's settings
 * @returns the swaps and Σ|r| before and after, over every layer
 * @throws {RangeError} as {@link dsnotLayer} and `sparseGptLayer` do
 */
export function dsnotPrune(
  model: Pick<PrunableModel, "linears">,
  calibration: Calibration,
  target: MaskTarget,
  options: DsnotPruneOptions = {},
): DsnotPruneSummary {
  const base = options.base ?? "wanda";
  const summary = { swaps: 0, errorBefore: 0, errorAfter: 0 };
  for (const layer of model.linears()) {
    const norms = collectInputNorms(layer), moments = collectInputMoments(layer);
    const gram = base === "sparsegpt" ? collectInputGram(layer) : null;
    try {
      calibration.run({ until: layer });
    } finally {
      norms.detach();
      moments.detach();
      gram?.detach();
    }
    const rows = layer.outFeatures, cols = layer.inFeatures;
    const dense = Float32Array.from(layer.weight.effective());
    let weights: Float32Array, mask: Float32Array;
    if (gram) {
      ({ weights, mask } = sparseGptLayer(
        { weights: dense, rows, cols },
        { gram: gram.value(), samples: gram.rows(), target },
      ));
    } else {
      mask = rowMask({ scores: wandaScores(layer, norms.value()), rows, cols }, target);
      weights = dense.map((w, i) => w * mask[i]);
    }
    if (!skipped(layer, options.skip ?? "none")) {
      const { mean, variance } = moments.value();
      const out = dsnotLayer({ dense, weights, mask, rows, cols }, {
        mean,
        variance,
        norms: norms.value(),
        target,
        maxCycles: options.maxCycles,
        updateThreshold: options.updateThreshold,
        varPower: options.varPower,
        sameSign: options.sameSign,
      });
      ({ weights, mask } = out);
      summary.swaps += out.swaps;
      for (const r of out.errorBefore) summary.errorBefore += Math.abs(r);
      for (const r of out.errorAfter) summary.errorAfter += Math.abs(r);
    }
    layer.weight.data.set(weights);
    layer.weight.setMask(mask);
  }
  return summary;
}

export const dsnotPruning = definePruningMethod({
  id: "dsnot",
  family: "pruning",
  title: "DSnoT (Dynamic Sparse No Training)",
  fidelity: {
    level: "simplified",
    reason:
      "DSnoT's grow/prune cycles on r; the sign check, N:M prune rule, SparseGPT base and scope differ from the reference code",
  },
  description:
    "Training-free refinement of a Wanda or SparseGPT mask. Per output row, with r = Σ_j (W_ij − Ŵ_ij)·E[x_j] the gap between the dense and the sparse layer's outputs at the mean calibration input, each cycle grows the pruned weight whose W_ij·E[x_j] has r's sign and the largest |W_ij·E[x_j]|/Var[x_j], and prunes the kept weight with the lowest Wanda score |Ŵ_ij|·‖X_j‖₂ among those whose removal neither adds to r nor, after the grow, takes r past zero (a grow candidate nothing can pair is passed over), until |r| is under the threshold, no pair is left, or the cycle cap. Each row keeps its count (N:M: swaps inside one group of M). Layers in forward order; no gradients, no weight updates beyond the base's.",
  paper: {
    title: "Dynamic Sparse No Training: Training-Free Fine-tuning for Sparse LLMs",
    year: 2023,
    link: "https://arxiv.org/abs/2310.08915",
  },
  version: "1.0.0",
  parameters: {
    target: TARGET_PARAM,
    base: {
      type: "enum",
      description:
        "the mask DSnoT starts from: Wanda's, or SparseGPT's with the kept weights as its OBS updates left them",
      values: [...BASES],
      default: "wanda",
      sweep: ["wanda", "sparsegpt"],
    },
    maxCycles: {
      type: "int",
      description: "swaps per output row at most (0 keeps the base's mask)",
      default: 50,
      min: 0,
      max: 1000,
      sweep: [50],
    },
    updateThreshold: {
      type: "number",
      description: "a row stops once its |r| = |Σ_j (W_ij − Ŵ_ij)·E[x_j]| is at most this",
      default: 0.1,
      min: 0,
      max: 100,
      sweep: [0.1],
    },
    varPower: {
      type: "number",
      description:
        "the power of Var[x_j] the growing criterion |W_ij·E[x_j]| divides by (0: no variance term)",
      default: 1,
      min: 0,
      max: 4,
      sweep: [1],
    },
    sameSign: {
      type: "boolean",
      description:
        "take only swaps that keep the sign of r, so |r| never grows (false: any swap whose prune does not add to r)",
      default: true,
      sweep: [true],
    },
    skip: {
      type: "enum",
      description:
        "transformer sublayers left at the base's mask: none, the MLPs (mlp.fc, mlp.proj) or the attention (attn.qkv, attn.proj)",
      values: [...SKIPS],
      default: "none",
      sweep: ["none"],
    },
  },
  capabilities: { requires: [], features: ["mlp", "gpt"] },
  notes:
    "Follows the paper and its reference code (zyxxmu/DSnoT, lib/prune.py prune_DSnoT, lib/layerwrapper.py) for the mechanism: r per output row from the signed contributions W_ij·E[x_j] of the pruned weights, growing by that contribution over Var[x_j]^pow_of_var_regrowing from the end that shrinks r, pruning the kept weights in ascending Wanda score with the sign that shrinks r, each weight changed at most once, N:M swaps inside the grown weight's group. Kept defaults: max_cycle_time 50 (maxCycles), update_threshold 0.1 (updateThreshold), pow_of_var_regrowing 1 (varPower). Changed: (1) Scope: every Linear the model lists, MLP layers included (skip 'none'); the reference's default skip_layer 'mlp' leaves a transformer's MLP sublayers at the base's mask, which on the MNIST MLPs would leave every layer untouched (dsnot = its base); skip 'mlp' restores the reference's choice on sotu-lm. (2) Sign check: on (sameSign), as the paper's pruning criterion states it: the prune paired with a grow must leave r's sign as it was, so |r| only shrinks; a grow candidate that no allowed prune can pair is passed over and the next one tried. The reference's N:M branch instead stops a row for good at its first swap that flips the sign, and its unstructured branch skips the check by default (--without_same_sign is a type=bool flag defaulting to True), so a swap may overshoot and grow |r|; sameSign false takes the first swap whose prune does not add to r, overshoot and all, as that branch does. (3) N:M pruning: the reference prunes the lowest base score of the grown weight's group whatever its sign and relies on the sign check; here, as in the unstructured case, only kept weights whose removal does not add to r (Ŵ·E[x]·sign(r) ≤ 0, and with sameSign not taking r past zero) qualify, the lowest Wanda score among them, and a grow candidate whose group has none is passed over. (4) The SparseGPT base is real SparseGPT (sparseGptLayer: block-wise masks and OBS updates, blocks of 128, damping 0.01): the reference only ranks W²/[U]_jj² per row without updating a weight. With it, r is measured against the layer's weights before pruning (the dense layer), a kept weight counts (W − Ŵ_upd)·E[x] to r and costs Ŵ_upd·E[x] to prune, and a grown weight gets its dense value back. The pruning order is Wanda's score on the weights as the base left them, for both bases and patterns (the reference uses Wanda's in its unstructured branch and the base's own score in its N:M branch). (5) Statistics: E[x_j] is the mean over every calibration row (image or token) and Var[x_j] the population variance over all of them; the reference's mean is the sum over a sample's tokens averaged over samples (2048 tokens each, so on a token-level model its r, and the 0.1 compared with it, are 2048 times ours; on the MLPs a sample is one image and the units agree) and its variance an average of per-batch variances. An input with Var 0 and a non-zero contribution grows first; ties go to the lower index. (6) Count: each row keeps the base's count (Wanda: round(in·(1 − sparsity)); SparseGPT's unstructured mask may differ by row and each row keeps its own); a row without a grow candidate of r's sign or an allowed prune stops (the reference's pointers would run on into weights of the wrong sign). (7) Order: each Linear on its own in forward order, its statistics from inputs recomputed through the already-pruned layers (the reference hooks a transformer block's Linears at once). pow_of_var_pruning, which the reference declares but never reads, is left out. Calibration comes from the task (training split, seeded), not C4.",
  impl: {
    target: (params) => parseTarget(params.target),
    prune(model, calibration, target, params) {
      const start = performance.now();
      const summary = dsnotPrune(model, calibration, target, {
        base: oneOf(params.base, BASES, "base"),
        skip: oneOf(params.skip, SKIPS, "skip"),
        maxCycles: params.maxCycles,
        updateThreshold: params.updateThreshold,
        varPower: params.varPower,
        sameSign: params.sameSign,
      });
      return Promise.resolve({
        pruneMs: performance.now() - start,
        metrics: {
          dsnot_swaps: summary.swaps,
          dsnot_error_before: summary.errorBefore,
          dsnot_error_after: summary.errorAfter,
        },
      });
    },
  },
});
