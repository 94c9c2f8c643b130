// Hash routing (Roller et al., 2021): each token's expert is a fixed hash of its identity, so
// the layer has no router parameters and no balancing loss.
import { defineMoeMethod } from "../../bench/families/moe/mod.ts";

/** The expert of a token id: a murmur3-style finalizer of (id ⊕ seed), modulo E. */
export function hashExpert(id: number, seed: number, experts: number): number {
  let h = (id ^ seed) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return h % experts;
}

export const hashGate = defineMoeMethod({
  id: "hash",
  family: "moe",
  title: "Hash routing",
  fidelity: {
    level: "simplified",
    reason:
      "a random hash of the token's identity, weight 1; images have no vocabulary, so the id is a pixel hash",
  },
  description:
    "Hash layers: a token goes to expert hash(id) mod E with weight 1; no router, no auxiliary loss. On images the task's id is a hash of the input's pixels, so the routing is a fixed random partition of inputs.",
  paper: {
    title: "Hash Layers For Large Sparse Models",
    year: 2021,
    link: "https://arxiv.org/abs/2106.04426",
  },
  version: "1.0.0",
  parameters: {},
  capabilities: { requires: [], features: ["moe-layer", "layer-speed"] },
  notes:
    "The paper hashes vocabulary ids, so the same word always meets the same expert; an image has no such identity, and a pixel hash sends two shifts of one digit to unrelated experts, so each expert sees a random eighth of the data: expect no gain from specialization on MNIST (a finding, not a bug). Random hash, not the paper's balanced or clustered hashes. Measured on mnist-moe: 97.12% at E = 4, 96.93% at E = 8, 96.16% at E = 16, each below the dense FFN of equal active parameters (97.69%): each expert trains on a random 1/E of the images.",
  impl: {
    trainedParams: [],
    nominalActive: () => 1,
    createGate(shape, _params, ctx) {
      const seed = ctx.seed;
      return {
        parameters: () => [],
        route({ tokens, ids }) {
          if (ids.length < tokens) {
            throw new RangeError(`hash: expected ${tokens} token ids, got ${ids.length}`);
          }
          const experts = new Int32Array(tokens);
          for (let t = 0; t < tokens; t++) experts[t] = hashExpert(ids[t], seed, shape.experts);
          return {
            tokens,
            k: 1,
            experts,
            weights: new Float32Array(tokens).fill(1),
            auxLoss: 0,
            probabilities: null,
          };
        },
        backward: (dWeights) => new Float32Array(dWeights.length * shape.dim),
        // The same finalizer in WGSL, over the token ids uploaded with the batch.
        gpuPlan: () => ({ kind: "hash", seed, experts: shape.experts, k: 1 }),
      };
    },
  },
});
