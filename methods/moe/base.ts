// BASE layers (Lewis et al., 2021): at training time each batch's tokens are assigned to experts by
// a balanced linear assignment maximizing Σ hₜ·w_e (every expert takes an equal share), solved by
// the auction algorithm; the expert's output is scaled by σ(hₜ·w_e), which trains the expert
// embeddings w. At test time each token goes greedily to its highest-scoring expert, as the paper
// does, so evaluation needs no batch-wide assignment.
import {
  balancedAssignment,
  defineMoeMethod,
  Router,
  softmaxRows,
} from "../../bench/families/moe/mod.ts";

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

export const baseLayer = defineMoeMethod({
  id: "base",
  family: "moe",
  title: "BASE layers (balanced assignment, auction)",
  fidelity: {
    level: "faithful",
    reason:
      "training tokens assigned by a balanced linear assignment (auction) on hₜ·w_e, output gated by σ(hₜ·w_e); greedy argmax at test time, as the paper",
  },
  description:
    "Balanced assignment of experts: in training, the batch's T tokens go to E experts of ⌈T/E⌉ slots each so that Σ hₜ·w_{e(t)} is maximal (Bertsekas's auction with ε-scaling), with no auxiliary loss; the expert's output enters the residual scaled by σ(hₜ·w_{e(t)}), through which the expert embeddings learn. At evaluation, each token goes to argmax_e hₜ·w_e (the paper's test-time rule: greedy, unbalanced).",
  paper: {
    title: "BASE Layers: Simplifying Training of Large, Sparse Models",
    year: 2021,
    link: "https://arxiv.org/abs/2103.16716",
  },
  version: "1.0.0",
  parameters: {},
  capabilities: { requires: [], features: ["moe-layer", "layer-speed"] },
  notes:
    "The paper assigns over all workers' tokens after a random shuffle and runs one expert per worker; here the assignment is over one training batch (128 tokens), capacity ⌈T/E⌉. The auction stops at ε = 1e-7 of the score range (within T·ε of the optimum). The router entropy figure is the softmax of the scores hₜ·w_e, which BASE itself never normalizes. Because evaluation is greedy, nothing balances it there: load CV and MaxVio at evaluation show how far the learned embeddings alone balance. Measured: mnist-moe E = 8 97.72% (top-1 Switch 97.67%, the dense FFN of equal active parameters 97.69%), load CV 0.12 at greedy evaluation; routing-recovery sign ARI 0.260 [0.248–0.274] and MSE 0.213 [0.190–0.237] (top-k 0.491 and 0.071), voronoi 0.150 and 0.297: only hash routing does worse. Finding: the train/test mismatch costs here: at evaluation the greedy rule sends tokens where the balanced training assignment did not (load CV 1.12 on sign), so experts meet inputs they were not trained on. Timed in the quick run 20261202T063618Z-c9a6cb (mnist-moe, batch 256): on the CPU ×5.68 [4.45–6.55] the dense mixture's speed (Switch at cf 1.25 ×4.92 [3.94–5.66]), on WebGPU ×6.59 [5.50–9.88]; on the Zipf-skewed stream (s = 1.5) the greedy rule's load CV rises to 0.81, with no drops since nothing caps it.",
  impl: {
    trainedParams: [],
    nominalActive: () => 1,
    createGate(shape, _params, ctx) {
      const E = shape.experts;
      const router = new Router("gate.experts", shape, {
        std: Math.sqrt(0.1 / shape.dim),
        seed: ctx.seed,
      });
      let cache: {
        x: Float32Array;
        tokens: number;
        chosen: Int32Array;
        gate: Float32Array;
      } | null = null;
      return {
        parameters: () => [router.weight],
        route({ x, tokens }, mode) {
          const scores = router.logits(x, tokens);
          let chosen: Int32Array;
          if (mode === "train" && tokens > 0) {
            chosen = balancedAssignment(scores, {
              tokens,
              experts: E,
              capacity: Math.ceil(tokens / E),
            });
          } else {
            chosen = new Int32Array(tokens);
            for (let t = 0; t < tokens; t++) {
              let best = 0;
              for (let e = 1; e < E; e++) if (scores[t * E + e] > scores[t * E + best]) best = e;
              chosen[t] = best;
            }
          }
          const gate = new Float32Array(tokens);
          for (let t = 0; t < tokens; t++) gate[t] = sigmoid(scores[t * E + chosen[t]]);
          cache = mode === "train" ? { x, tokens, chosen, gate } : null;
          return {
            tokens,
            k: 1,
            experts: chosen.slice(),
            weights: gate.slice(),
            auxLoss: 0,
            probabilities: softmaxRows(scores, tokens, E),
          };
        },
        backward(dWeights) {
          if (!cache) throw new Error("base: backward without a train-mode route");
          const { x, tokens, chosen, gate } = cache;
          // The assignment is a discrete choice (no gradient); σ(score) carries one.
          const dScores = new Float32Array(tokens * E);
          for (let t = 0; t < tokens; t++) {
            dScores[t * E + chosen[t]] = dWeights[t] * gate[t] * (1 - gate[t]);
          }
          cache = null;
          return router.backward(dScores, x, tokens);
        },
        // Evaluation's greedy rule in WGSL: argmax of the float32 scores (ties to the lower
        // index), weighted σ(score); training's balanced assignment stays on the CPU.
        gpuPlan: () => ({
          router: router.weight.data,
          select: "top-k",
          k: 1,
          weighting: "sigmoid",
          capacity: () => null,
        }),
      };
    },
  },
});
