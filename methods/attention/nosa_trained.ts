// NOSA with its query-agnostic eviction head trained (nosa_head.ts) on held-out inputs of the
// same model, in place of the ‖k‖₁ stand-in; everything else is nosa-attention's.
import { defineNosa } from "./nosa.ts";

export const nosaTrainedAttention = defineNosa({
  id: "nosa-trained-attention",
  title: "NOSA (trained eviction head)",
  fidelity: {
    level: "simplified",
    reason:
      "eviction head: per-head linear scorer on [k, v] fitted by least squares to key attention mass on held-out inputs, not trained end to end; no logit bias",
  },
  version: "1.0.0",
  description:
    "nosa-attention with NOSA's query-agnostic part chosen by a trained eviction head: per head, a linear score of each key slot's key and value, fitted offline on held-out inputs of the same model to predict the log attention mass the slot receives from later queries; the `budget` remainder of slots it scores highest is kept for every row, beside the query-aware blocks and the local window.",
  notes:
    "The eviction head is trained offline, once per model and shape: on 4 held-out inputs the task hands over (the same model seed with other input seeds, or other sotu-lm trace windows; never the evaluated input, which the family refuses), at setup, outside timing; its wall time is the cell's `calibration_ms`. Input features per key slot j of a head: [k_j, v_j, 1] (the paper's head reads v_j only, A·softplus(v_j·δ); softplus is monotone so ranking by a linear score of v_j ranks as it does; k_j is added because the synthetic heads mark their sinks in the key). Target: log(m_j + 1e-9), m_j the mean dense softmax probability slot j receives over the query rows that can see it, from up to 256 evenly spaced rows per head and input (float64). Fit: closed-form ridge least squares (λ = 1e-3 per sample, on the weights only), deterministic, no seed needed. At inference the GPU scores every slot with one pass (2·headDim multiply-adds a key), the shared top-k keeps the best `budget` remainder per head; the CPU reference scores in the same float32 order. The paper trains the head end to end with the model's sparse attention and adds its score as a logit bias; neither is done here. Tasks without held-out inputs (needle retrieval) give none: the head then fits seeded random inputs and learns nothing of the model (`calibration_held_out` 0). The query-aware part, window, locality counting and costs are nosa-attention's (see its notes).",
  trained: true,
});
