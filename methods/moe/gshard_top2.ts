// GShard's top-2 gating (Lepikhin et al., 2020): the top expert always, the second with
// probability 2·g₂ during training (g normalized over the two), each expert taking at most
// ⌈cf·T/E⌉ slots (first choices placed before second ones), with the balance loss α·E·Σ fᵢ·Pᵢ.
import {
  argmaxRow,
  balanceLossGradient,
  defineMoeMethod,
  firstChoiceBalanceLoss,
  SoftmaxRouter,
} from "../../bench/families/moe/mod.ts";
import { mulberry32 } from "../../bench/random.ts";

export const gshardTop2 = defineMoeMethod({
  id: "gshard-top2",
  family: "moe",
  title: "GShard top-2 gating",
  fidelity: {
    level: "faithful",
    reason:
      "top-2 with the second expert sampled ∝ 2·g₂ in training, capacity ⌈cf·T/E⌉, α·E·Σfᵢ·Pᵢ",
  },
  description:
    "Top-2 of a softmax router, the two gate values renormalized to sum to 1; in training the second expert is used with probability min(1, 2·g₂) (random routing); each expert takes at most ⌈cf·T/E⌉ slots, first choices before second ones, the rest dropped; balance loss α·E·Σ fᵢ·Pᵢ over first choices.",
  paper: {
    title: "GShard: Scaling Giant Models with Conditional Computation and Automatic Sharding",
    year: 2020,
    link: "https://arxiv.org/abs/2006.16668",
  },
  version: "1.0.0",
  parameters: {
    capacityFactor: {
      type: "number",
      description:
        "capacity factor: each expert takes ⌈cf·T/E⌉ slots (2 = the paper's 2N/E; trained with it)",
      default: 2,
      min: 0.1,
      max: 64,
      sweep: [2],
    },
    alpha: {
      type: "number",
      description: "weight α of the balance loss α·E·Σ fᵢ·Pᵢ (trained with it)",
      default: 0.01,
      min: 0,
      max: 1,
      sweep: [0.01],
    },
  },
  capabilities: { requires: [], features: ["moe-layer", "layer-speed"] },
  notes:
    "At evaluation the second expert is always used (random routing is a training-time regularizer here, as in common implementations); capacity still applies. Group-level dispatch and the paper's sharding are out of scope. On mnist-moe (E = 8): 97.84%; at evaluation capacity 2T/E leaves 1.83 experts per token (one slot in twelve dropped, mostly second choices), no token loses both.",
  impl: {
    trainedParams: ["capacityFactor", "alpha"],
    nominalActive: (experts) => Math.min(2, experts),
    createGate(shape, params, ctx) {
      const E = shape.experts, k = Math.min(2, E);
      const router = new SoftmaxRouter(shape, ctx.seed);
      const uniform = mulberry32(ctx.seed ^ 0x72616e64);
      let cache: {
        p: Float32Array;
        tokens: number;
        top: Int32Array;
        f: Float64Array;
        used: Uint8Array;
      } | null = null;
      return {
        parameters: () => [router.router.weight],
        route({ x, tokens }, mode) {
          const p = router.probabilities(x, tokens, mode);
          const capacity = Math.ceil(params.capacityFactor * tokens / E);
          const top = new Int32Array(tokens * k).fill(-1);
          for (let t = 0; t < tokens; t++) {
            const a = top[t * k] = argmaxRow(p, t * E, E);
            if (k > 1) {
              let b = a === 0 ? 1 : 0;
              for (let e = 0; e < E; e++) if (e !== a && p[t * E + e] > p[t * E + b]) b = e;
              top[t * k + 1] = b;
            }
          }
          const balance = { tokens, experts: E, alpha: params.alpha };
          const { f, loss: auxLoss } = firstChoiceBalanceLoss(p, (t) => top[t * k], balance);
          const experts = new Int32Array(tokens * k).fill(-1),
            weights = new Float32Array(tokens * k);
          const used = new Uint8Array(tokens * k), fill = new Int32Array(E);
          // First choices fill capacity in token order, then second choices.
          for (let s = 0; s < k; s++) {
            for (let t = 0; t < tokens; t++) {
              const e = top[t * k + s];
              const g1 = p[t * E + top[t * k]], g2 = k > 1 ? p[t * E + top[t * k + 1]] : 0;
              const g = (s === 0 ? g1 : g2) / (g1 + g2);
              if (s === 1 && mode === "train" && !(2 * g > uniform())) continue;
              if (fill[e] >= capacity) continue;
              fill[e]++;
              used[t * k + s] = 1;
              experts[t * k + s] = e;
              weights[t * k + s] = g;
            }
          }
          cache = mode === "train" ? { p, tokens, top, f, used } : null;
          return { tokens, k, experts, weights, auxLoss, probabilities: p };
        },
        backward(dWeights) {
          if (!cache) throw new Error("gshard-top2: backward without a train-mode route");
          const { p, tokens, top, f, used } = cache;
          const dp = balanceLossGradient(f, { tokens, experts: E, alpha: params.alpha });
          for (let t = 0; t < tokens; t++) {
            // One expert (E = 1): its weight is 1 whatever the router says, so no gradient.
            if (k < 2) continue;
            const a = top[t * k], b = top[t * k + 1];
            const g1 = p[t * E + a], g2 = p[t * E + b], s2 = (g1 + g2) ** 2;
            // w₁ = g₁/(g₁+g₂), w₂ = g₂/(g₁+g₂); a dropped slot carries no gradient.
            const d1 = used[t * k] ? dWeights[t * k] : 0,
              d2 = used[t * k + 1] ? dWeights[t * k + 1] : 0;
            dp[t * E + a] += (d1 * g2 - d2 * g2) / s2;
            dp[t * E + b] += (d2 * g1 - d1 * g1) / s2;
          }
          cache = null;
          return router.backward(dp, "gshard-top2");
        },
        // Evaluation's routing in WGSL: the two highest float32 probabilities (ties to the lower
        // index), renormalized over the two, each expert's ⌈cf·T/E⌉ slots filled by first choices
        // in token order before second ones, as `route` fills them.
        gpuPlan: () => ({
          router: router.router.weight.data,
          select: "top-k",
          k,
          weighting: "renormalized",
          capacity: (tokens) => Math.ceil(params.capacityFactor * tokens / E),
          capacityOrder: "choice",
        }),
      };
    },
  },
});
