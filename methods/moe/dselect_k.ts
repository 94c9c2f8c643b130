// DSelect-k (Hazimeh et al., 2021): k single-expert selectors, each a binary code of ⌈log₂E⌉
// smooth-step bits computed from the token (the per-example gate), mixed by a softmax over the
// selectors; an entropy regularizer drives each selector to one expert, so a converged gate
// reaches at most k experts per token while staying differentiable.
import {
  defineMoeMethod,
  type SelectorPass,
  SmoothStepSelectors,
} from "../../bench/families/moe/mod.ts";

export const dselectK = defineMoeMethod({
  id: "dselect-k",
  family: "moe",
  title: "DSelect-k (smooth-step binary-code gate)",
  fidelity: {
    level: "faithful",
    reason:
      "per-example DSelect-k: k smooth-step binary codes over ⌈log₂E⌉ bits, softmax over selectors, entropy regularizer",
  },
  description:
    "Each of k selectors computes ⌈log₂E⌉ bits zᵢ = S(wᵢ·x) with the cubic smooth-step S (exactly 0 or 1 outside ±γ/2) and puts weight Πᵢ zᵢ^cᵢ(1−zᵢ)^(1−cᵢ) on the expert with binary code c; the selectors are mixed by softmax(A·x). The entropy of each selector's distribution, weighted λ, is added to the loss. Experts with weight 0 are not computed, so the realized experts per token (active_experts) falls to ≤ k as the selectors converge.",
  paper: {
    title:
      "DSelect-k: Differentiable Selection in the Mixture of Experts with Applications to Multi-Task Learning",
    year: 2021,
    link: "https://arxiv.org/abs/2106.03760",
  },
  version: "1.0.0",
  parameters: {
    k: {
      type: "int",
      description: "selectors k: at most k experts per token once converged (trained with it)",
      default: 2,
      min: 1,
      max: 16,
      sweep: [2],
    },
    gamma: {
      type: "number",
      description: "smooth-step width γ (trained with it)",
      default: 1,
      min: 0.01,
      max: 100,
      sweep: [1],
    },
    entropyWeight: {
      type: "number",
      description: "weight λ of the selectors' entropy regularizer (trained with it)",
      default: 0.05,
      min: 0,
      max: 10,
      sweep: [0.05],
    },
  },
  capabilities: { requires: [], features: ["moe-layer"] },
  notes:
    "γ = 1 and λ = 0.05 are fixed a priori, not tuned per task (the paper tunes both). Decision and mixing weights are linear in the layer input, no bias, initialized N(0, 0.1/d). Where E is not a power of two, code c belongs to expert c mod E (the tasks use E = 8, where codes and experts coincide). The layer computes only experts of non-zero weight, so active_experts reports the realized cardinality; nothing forces it to k at evaluation if a selector has not saturated. Measured: the committed routing-recovery checkpoint has the family's best recovery, sign ARI 0.948 [0.937–0.957] (that partition is a 3-bit code of linear thresholds, DSelect-k's own shape) and voronoi 0.513 [0.490–0.535] (top-k 0.491 and 0.278), but it is the luckiest of 4 training seeds (sign 0.217–0.948): over the seeds, paired with top-k, its ARI ties (+0.04 [−0.48, 0.56] sign, +0.11 [−0.08, 0.30] voronoi) and its voronoi error is higher (+0.026 [0.007, 0.044]; datasets/routing_recovery/seed_spread.json). mnist-moe E = 8: 97.79%, equal to top-k, but the selectors collapse onto three experts (5 of 8 dead, load CV 1.54, MaxVio 3.9): the expert collapse the COMET paper reports for DSelect-k. Timed in the quick run 20261202T063618Z-c9a6cb (mnist-moe, batch 256): on the CPU ×2.40 [1.98–2.76] the dense mixture's speed (noisy top-2 ×2.81 [2.30–3.42]; it computes 2.04 experts per token), the gate 36% of the layer's time; on WebGPU, gate untimed, ×2.77 [2.10–4.63].",
  impl: {
    trainedParams: ["k", "gamma", "entropyWeight"],
    nominalActive: (experts, params) => Math.min(params.k, experts),
    createGate(shape, params, ctx) {
      const E = shape.experts;
      const selectors = new SmoothStepSelectors("gate", shape, {
        selectors: params.k,
        layout: "binary-code",
        gamma: params.gamma,
        entropyWeight: params.entropyWeight,
        seed: ctx.seed,
      });
      let cache: SelectorPass | null = null;
      return {
        parameters: () => selectors.parameters(),
        route({ x, tokens }, mode) {
          const pass = selectors.forward(x, tokens);
          const experts = new Int32Array(tokens * E).fill(-1),
            weights = new Float32Array(tokens * E);
          for (let i = 0; i < tokens * E; i++) {
            if (pass.weights[i] > 0) {
              experts[i] = i % E;
              weights[i] = pass.weights[i];
            }
          }
          cache = mode === "train" ? pass : null;
          return {
            tokens,
            k: E,
            experts,
            weights,
            auxLoss: mode === "train" ? pass.entropyLoss : 0,
            probabilities: pass.weights,
          };
        },
        backward(dWeights) {
          if (!cache) throw new Error("dselect-k: backward without a train-mode route");
          const dx = selectors.backward(cache, dWeights);
          cache = null;
          return dx;
        },
        // Evaluation's gate in WGSL: the binary codes' smooth-steps, the softmax over selectors
        // and the experts of non-zero weight, as `route` computes them.
        gpuPlan: () => ({
          kind: "smooth-step-selectors",
          decisions: selectors.decisions.weight.data,
          mix: selectors.mix?.weight.data ?? null,
          selectors: params.k,
          layout: "binary-code",
          gamma: params.gamma,
          k: E,
        }),
      };
    },
  },
});
