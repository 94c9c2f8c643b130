// MoE-LLaVA's gate (Lin et al., 2024), as its code runs it (DeepSpeed's top-2 gating): a linear
// float32 router, a softmax, the top expert plus a second one drawn by the Gumbel-max trick in
// training, each expert taking at most ⌈cf·k·T/E⌉ slots (first choices before second ones), the
// kept slots' probabilities renormalized to sum to 1, and the balance loss α·E·Σ fᵢ·Pᵢ. Its staged
// recipe (train dense, copy the FFN into every expert, train only the MoE layer) is declared by
// `denseShare` and run by the image tasks' recipe (`moeLlavaStages`).
import {
  argmaxRow,
  balanceLossGradient,
  defineMoeMethod,
  firstChoiceBalanceLoss,
  SoftmaxRouter,
} from "../../bench/families/moe/mod.ts";
import { initUniform } from "../../bench/nn/param.ts";
import type { ParamValues } from "../../bench/metadata.ts";
import { hashString, mulberry32 } from "../../bench/random.ts";

/**
 * Each expert's capacity for a batch, as DeepSpeed's gating computes it: ⌈cf·k·T/E⌉ slots (its
 * top-2 gating doubles the capacity factor), with MoE-LLaVA's minimum capacity of 0.
 *
 * @example
 * ```ts
 * import { moeLlavaCapacity } from "./moe_llava.ts";
 * moeLlavaCapacity(128, 8, 2, 1); // 32
 * ```
 */
export function moeLlavaCapacity(tokens: number, experts: number, k: number, cf: number): number {
  return Math.ceil(cf * k * tokens / experts);
}

/** The staged recipe a checkpoint of this gate is trained with (MoE-LLaVA's stages II and III). */
export interface MoeLlavaStages {
  /** Share of the training budget (steps) spent on the dense model before upcycling. */
  denseShare: number;
  /** What the MoE stage trains: the MoE layer (router and experts, the rest frozen) or all. */
  moeStageTrains: "moe-layer" | "all";
}

/**
 * The staged recipe for `params`, or null for `denseShare = 0` (the same gate trained from
 * scratch, every parameter from the first step).
 *
 * @example
 * ```ts
 * import { moeLlavaStages } from "./moe_llava.ts";
 * moeLlavaStages({ denseShare: 0.5 }); // { denseShare: 0.5, moeStageTrains: "moe-layer" }
 * ```
 */
export function moeLlavaStages(params: ParamValues): MoeLlavaStages | null {
  const share = Number(params.denseShare);
  const trains = params.moeStageTrains === "all" ? "all" : "moe-layer";
  return share > 0 ? { denseShare: share, moeStageTrains: trains } : null;
}

/** A standard Gumbel draw from a uniform one, kept off log(0). */
function gumbel(uniform: () => number): number {
  return -Math.log(-Math.log(Math.min(Math.max(uniform(), 1e-12), 1 - 1e-12)));
}

export const moeLlava = defineMoeMethod({
  id: "moe-llava",
  family: "moe",
  title: "MoE-LLaVA top-k router with sparse upcycling",
  fidelity: {
    level: "simplified",
    reason:
      "DeepSpeed top-2 gating as MoE-LLaVA runs it and its dense → upcycle → MoE-only stages, on our image MLP (no vision-language model); deterministic eval",
  },
  description:
    "Softmax router (linear, float32), the top expert plus a second one (Gumbel-max sample of the others in training, the next highest at evaluation); each expert takes at most ⌈cf·k·T/E⌉ slots, first choices before second ones; the kept probabilities renormalized to sum to 1; balance loss α·E·Σ fᵢ·Pᵢ (α = 0.01). Trained in stages: a dense model with one FFN of an expert's width for `denseShare` of the budget, its FFN copied into every expert, then only the router and experts trained.",
  paper: {
    title: "MoE-LLaVA: Mixture of Experts for Large Vision-Language Models",
    year: 2024,
    link: "https://arxiv.org/abs/2401.15947",
  },
  version: "1.0.0",
  parameters: {
    k: {
      type: "int",
      description: "experts per token (1 or 2, DeepSpeed's top-1 or top-2 gating; trained with it)",
      default: 2,
      min: 1,
      max: 2,
      sweep: [2],
    },
    capacityFactor: {
      type: "number",
      description:
        "capacity factor at evaluation: each expert takes ⌈cf·k·T/E⌉ slots (MoE-LLaVA's eval_capacity_factor 2)",
      default: 2,
      min: 0.1,
      max: 64,
      sweep: [2],
    },
    trainCapacityFactor: {
      type: "number",
      description: "capacity factor in training (MoE-LLaVA's capacity_factor 1; trained with it)",
      default: 1,
      min: 0.1,
      max: 64,
      sweep: [1],
    },
    alpha: {
      type: "number",
      description:
        "weight α of the balance loss α·E·Σ fᵢ·Pᵢ (router_aux_loss_coef; trained with it)",
      default: 0.01,
      min: 0,
      max: 1,
      sweep: [0.01],
    },
    denseShare: {
      type: "number",
      description:
        "share of the training budget spent on the dense model before its FFN is copied into the experts (0: trained from scratch; trained with it)",
      default: 0.5,
      min: 0,
      max: 0.9,
      sweep: [0.5],
    },
    moeStageTrains: {
      type: "enum",
      description:
        "what the MoE stage trains: 'moe-layer' (router and experts, the rest frozen, as MoE-LLaVA) or 'all' (an ablation; trained with it)",
      values: ["moe-layer", "all"],
      default: "moe-layer",
      sweep: ["moe-layer"],
    },
  },
  capabilities: { requires: [], features: ["moe-layer", "layer-speed"] },
  notes:
    "We have no vision-language model: the gate and the staged recipe are applied to our own image MLP (784 → 64 → MoE layer → 10). MoE-LLaVA's stage I (projector only) has no counterpart; its stage II (the whole dense model trained) is our dense stage, a model with one FFN of an expert's width, for half the shared budget (3,225 of 6,450 steps on MNIST); its stage III copies that FFN into every expert, starts the router from a seeded init (PyTorch's Linear default, U(±1/√d)), and trains only the MoE layers — its scripts pass train_modules = the expert FFNs and the router wg, every other weight frozen — which we follow: stem and head frozen for the second half, with a fresh AdamW and its own warm-up + cosine schedule, as a separate run would have. The gate follows DeepSpeed's top2gating, which MoE-LLaVA calls: top-1 of the softmax, the second expert the argmax of logits + Gumbel noise over the others (sampled ∝ the remaining probabilities), capacity ⌈2·cf·T/E⌉ with cf 1.0 in training and 2.0 at evaluation (its train.py defaults), first choices placed before second ones, then the kept gate values renormalized — so a token whose second slot is dropped keeps weight 1 on its first; the paper's formula (a softmax over the top-k logits) is the same when nothing is dropped. l_aux = E·Σ fᵢ·Pᵢ with fᵢ the first choices' share, times router_aux_loss_coef 0.01. Departure: DeepSpeed draws the Gumbel noise at inference too; here evaluation takes the second-highest probability, so routing is deterministic. k = 1 is DeepSpeed's top-1 (weight = the probability, no random token selection). denseShare = 0 trains the same gate from scratch; moeStageTrains = 'all' unfreezes the stem and head in the MoE stage (an ablation). The routing-recovery checkpoints are trained from scratch (that recipe has no dense stage). Finding (one seed, paired bootstrap over the test images, datasets/mnist_moe/upcycling_study.json): at equal steps and tokens the paper's claim that upcycling is at least as good as training the MoE from scratch does not hold here. The staged model trails the same gate from scratch by 0.35 points [0.09, 0.61] on MNIST E = 8 (97.62% vs 97.97%; 0.15 [−0.12, 0.41] at E = 4, 0.32 [0.06, 0.57] at E = 16) and by 1.05 [0.62, 1.49] on Fashion-MNIST, and is level with noisy top-k on MNIST (−0.17 [−0.44, 0.09]) but 1.03 [0.60, 1.45] below it on Fashion-MNIST. It does spend 32% fewer training FLOPs (199 G vs 291 G: half the steps on the dense model, no stem backward later). Most of the gap is the freezing: with every weight trained in the MoE stage it trails from-scratch by only 0.04 [−0.21, 0.30] (MNIST) and 0.44 [0.04, 0.84] (Fashion-MNIST). The upcycled router stays close to uniform (router entropy 0.94 of ln E vs 0.46 from scratch): with identical experts and weights summing to 1 the task loss gives the router no gradient at first, so only the balance loss moves it.",
  impl: {
    trainedParams: ["k", "trainCapacityFactor", "alpha", "denseShare", "moeStageTrains"],
    nominalActive: (experts, params) => Math.min(params.k, experts),
    createGate(shape, params, ctx) {
      const E = shape.experts, k = Math.min(params.k, E);
      const router = new SoftmaxRouter(shape, ctx.seed);
      // PyTorch's nn.Linear default (DeepSpeed's wg): U(−1/√d, 1/√d).
      initUniform(
        router.router.weight,
        1 / Math.sqrt(shape.dim),
        hashString("moe-llava.router", ctx.seed),
      );
      const uniform = mulberry32(ctx.seed ^ 0x67756d62);
      let cache: {
        p: Float32Array;
        tokens: number;
        top: Int32Array;
        kept: Uint8Array;
        f: Float64Array;
      } | null = null;
      return {
        parameters: () => [router.router.weight],
        route({ x, tokens }, mode) {
          const train = mode === "train";
          const p = router.probabilities(x, tokens, mode);
          const top = new Int32Array(tokens * k).fill(-1);
          for (let t = 0; t < tokens; t++) {
            const a = top[t * k] = argmaxRow(p, t * E, E);
            if (k < 2) continue;
            // Gumbel-max over log p (= the logits up to a per-token constant): a sample of the
            // other experts in proportion to their probabilities.
            let b = -1, best = -Infinity;
            for (let e = 0; e < E; e++) {
              if (e === a) continue;
              const v = train ? Math.log(p[t * E + e]) + gumbel(uniform) : p[t * E + e];
              if (v > best) [b, best] = [e, v];
            }
            top[t * k + 1] = b < 0 ? (a === 0 ? 1 : 0) : b;
          }
          const balance = { tokens, experts: E, alpha: params.alpha };
          const { f, loss: auxLoss } = firstChoiceBalanceLoss(p, (t) => top[t * k], balance);
          const cf = train ? params.trainCapacityFactor : params.capacityFactor;
          const capacity = moeLlavaCapacity(tokens, E, k, cf);
          const kept = new Uint8Array(tokens * k), fill = new Int32Array(E);
          for (let s = 0; s < k; s++) {
            for (let t = 0; t < tokens; t++) {
              const e = top[t * k + s];
              if (fill[e] < capacity) {
                fill[e]++;
                kept[t * k + s] = 1;
              }
            }
          }
          const experts = new Int32Array(tokens * k).fill(-1);
          const weights = new Float32Array(tokens * k);
          for (let t = 0; t < tokens; t++) {
            let sum = 0;
            for (let s = 0; s < k; s++) if (kept[t * k + s]) sum += p[t * E + top[t * k + s]];
            for (let s = 0; s < k; s++) {
              if (!kept[t * k + s]) continue;
              const g = p[t * E + top[t * k + s]];
              experts[t * k + s] = top[t * k + s];
              // Top-1 weighs by the probability; top-2 renormalizes over the kept slots.
              weights[t * k + s] = k === 1 ? g : g / sum;
            }
          }
          cache = train ? { p, tokens, top, kept, f } : null;
          return { tokens, k, experts, weights, auxLoss, probabilities: p };
        },
        backward(dWeights) {
          if (!cache) throw new Error("moe-llava: backward without a train-mode route");
          const { p, tokens, top, kept, f } = cache;
          const dp = balanceLossGradient(f, { tokens, experts: E, alpha: params.alpha });
          for (let t = 0; t < tokens; t++) {
            if (k === 1) {
              if (kept[t]) dp[t * E + top[t]] += dWeights[t];
              continue;
            }
            // w_s = p_s / S over the kept slots: ∂p_s = (∂w_s − Σ w·∂w) / S.
            let sum = 0, dot = 0;
            for (let s = 0; s < k; s++) if (kept[t * k + s]) sum += p[t * E + top[t * k + s]];
            if (sum === 0) continue;
            for (let s = 0; s < k; s++) {
              if (kept[t * k + s]) dot += p[t * E + top[t * k + s]] / sum * dWeights[t * k + s];
            }
            for (let s = 0; s < k; s++) {
              if (kept[t * k + s]) dp[t * E + top[t * k + s]] += (dWeights[t * k + s] - dot) / sum;
            }
          }
          cache = null;
          return router.backward(dp, "moe-llava");
        },
        // Evaluation's routing in WGSL: the top k float32 probabilities (the deterministic second
        // choice, ties to the lower index), capacity ⌈cf·k·T/E⌉ filled by first choices before
        // second ones, and for top-2 the kept probabilities renormalized after the cut.
        gpuPlan: () => ({
          router: router.router.weight.data,
          select: "top-k",
          k,
          weighting: "probability",
          capacity: (tokens) => moeLlavaCapacity(tokens, E, k, params.capacityFactor),
          capacityOrder: "choice",
          renormalizeKept: k > 1,
        }),
      };
    },
  },
});
