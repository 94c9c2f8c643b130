// Wanda: prune by |weight| × the norm of its input over calibration data, compared within each
// output row, layer by layer in forward order so each layer sees the inputs its pruned upstream
// layers produce. The score and the loop live in the family package (wandaScores, wandaPrune).
import {
  definePruningMethod,
  parseTarget,
  TARGET_PARAM,
  wandaPrune,
} from "../../bench/families/pruning/mod.ts";

export const wandaPruning = definePruningMethod({
  id: "wanda",
  family: "pruning",
  title: "Wanda (pruning by weights and activations)",
  fidelity: {
    level: "faithful",
    reason:
      "Wanda's |W|·‖X‖ score per output row and N:M; each Linear pruned on its own in forward order, the output head included",
  },
  description:
    "Scores each weight by |W_ij|·‖X_j‖₂, its magnitude times the L2 norm of its input feature over the calibration inputs of that layer, and keeps the top scores of each output row (each row ends exactly at the target; N:M: N of every M consecutive inputs per row). Layers are pruned in forward order, each with inputs recomputed through the layers already pruned. No weight update, no retraining.",
  paper: {
    title: "A Simple and Effective Pruning Approach for Large Language Models",
    year: 2023,
    link: "https://arxiv.org/abs/2306.11695",
  },
  version: "1.0.0",
  parameters: { target: TARGET_PARAM },
  capabilities: { requires: [], features: ["mlp", "gpt"] },
  notes:
    "Follows the paper and its reference code (locuslab/wanda, lib/prune.py prune_wanda) for the score, the per-output comparison group and N:M, with these departures. (1) Order: the reference code hooks every Linear of a transformer block at once, prunes them all from the block's inputs, then recomputes the block's outputs for the next block; here each Linear is pruned on its own in forward order (qkv, proj, fc, mlp.proj of each block, then the head; fc1, fc2, fc3 of an MLP), so a layer inside a block also sees its pruned predecessors in that block. (2) Cost: every layer runs the whole calibration set forward once, through the layers before it (a task's calibration stops each batch at the layer's input), so pruning costs about half a calibration pass per prunable layer — 17 layers on sotu-lm, about 8.5 full passes; 3 on the MLPs — where the reference code runs each transformer block twice. (3) Scope: every Linear the model lists is pruned, the sotu-lm's output head included, since the family's target covers them all; the reference code leaves the LLM's lm_head dense. (4) Count: a row keeps round(in·(1 − sparsity)) weights (the family's rowMask), the reference prunes floor(in·sparsity); ties go to the lower input index. (5) ‖X_j‖₂ is the plain norm over every calibration row (the reference keeps its square mean, which ranks a row's weights the same). (6) N:M: our N is the kept count (2:4 keeps 2), the reference code's first number is the pruned count; 2:4 and 4:8 are the same pattern either way. Calibration comes from the task (training split, seeded), not C4.",
  impl: {
    target: (params) => parseTarget(params.target),
    prune(model, calibration, target) {
      const start = performance.now();
      wandaPrune(model, calibration, target);
      return Promise.resolve({ pruneMs: performance.now() - start });
    },
  },
});
