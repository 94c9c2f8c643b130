// SparseGPT (Frantar & Alistarh, 2023): one-shot pruning that reconstructs each layer's output,
// choosing masks block by block from w²/[U]_jj² and spreading each pruned weight's error over the
// later columns with OBS updates from the upper Cholesky factor U of the inverse Hessian. The
// per-layer core and the loop live in the family package (sparseGptLayer, sparseGptPrune).
import {
  definePruningMethod,
  parseTarget,
  sparseGptPrune,
  TARGET_PARAM,
} from "../../bench/families/pruning/mod.ts";

export const sparseGptPruning = definePruningMethod({
  id: "sparsegpt",
  family: "pruning",
  title: "SparseGPT",
  fidelity: {
    level: "faithful",
    reason:
      "the reference fasterprune with its defaults (OBS updates, blocks of 128); float64, and each Linear pruned on its own in forward order",
  },
  description:
    "One-shot pruning that reconstructs each layer's outputs: masks chosen block by block from w²/[H⁻¹ factor]², each pruned weight's error spread over the later inputs by OBS updates from the inverse Hessian of the calibration inputs, layer after layer in forward order.",
  paper: {
    title: "SparseGPT: Massive Language Models Can Be Accurately Pruned in One-Shot",
    year: 2023,
    link: "https://arxiv.org/abs/2301.00774",
  },
  version: "1.0.0",
  parameters: {
    target: TARGET_PARAM,
    blockSize: {
      type: "int",
      description:
        "input columns per block: the mask is chosen over a block at a time and the OBS errors reach the later blocks once per block (for N:M rounded up to a multiple of M)",
      default: 128,
      min: 1,
      max: 4096,
      sweep: [128],
    },
    damping: {
      type: "number",
      description: "share of the Hessian's mean diagonal added to its diagonal before inverting",
      default: 0.01,
      min: 0,
      max: 1,
      sweep: [0.01],
    },
  },
  capabilities: { requires: [], features: ["mlp", "gpt"] },
  notes:
    "Follows the reference code's fasterprune (IST-DASLab/sparsegpt, sparsegpt.py) and keeps its defaults: H = 2/n·XᵀX; dead inputs (H_jj = 0) set to 1 with their weight column zeroed, then damping 0.01·mean(diag H) added to the diagonal (dead entries in the mean, as there); U the upper Cholesky factor of H⁻¹ (H⁻¹ = UᵀU), through Cholesky, inverse, Cholesky; scores w²/U_jj² on the weights as updated so far; blocks of 128 columns; the unstructured mask chosen per block over all its rows at once (the reference's adaptive mask selection), an N:M group's at its first column, N kept per row; per column err = (w − q)/U_jj applied to the rest of the block, the lazy update of the later columns after each block; no quantization (the reference's joint GPTQ step is left out). Changed: (1) float64 throughout, float32 weights out (the reference works in float32). (2) Order: each Linear is pruned on its own in forward order (qkv, proj, fc, mlp.proj of each block, then the head; fc1, fc2, … of an MLP), from calibration inputs recomputed through every already-pruned and updated layer, so a layer inside a transformer block sees its pruned predecessors in that block (the reference hooks every Linear of a block at once, prunes them from the unpruned block's inputs, then recomputes the block's outputs); one calibration pass, stopped at the layer's input, per prunable layer. (3) Scope: every Linear the model lists, the sotu-lm's output head included (the reference leaves lm_head dense). (4) Count: each block keeps round(the target's share of every weight seen so far) minus what earlier blocks kept, ties to the lower index, so a layer ends at its target whatever the block size (the reference prunes every score ≤ the sorted score at int(numel·sparsity), one more than its share plus ties, block by block). (5) N:M: N is the kept count (2:4 keeps 2; the reference's first number is the pruned count); groups count from input 0 and blocks are rounded up to a multiple of M so no group straddles two blocks (as in the reference when M divides 128); a short last group keeps min(N, its width). The reference's OBS loss estimate is computed (sparseGptLayer's obsLoss) but not reported. Calibration comes from the task (training split, seeded), not the reference's C4 or WikiText-2 samples.",
  impl: {
    target: (params) => parseTarget(params.target),
    prune(model, calibration, target, params) {
      const start = performance.now();
      sparseGptPrune(model, calibration, target, {
        blockSize: params.blockSize,
        damping: params.damping,
      });
      return Promise.resolve({ pruneMs: performance.now() - start });
    },
  },
});
