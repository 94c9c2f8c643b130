// Dynamic Mask Attention with its value projection W_Δ fitted (dynamic_mask_head.ts) on held-out
// inputs of the same model, in place of the seeded random direction; the rest is
// dynamic-mask-attention's.
import { defineDynamicMask } from "./dynamic_mask.ts";

export const dynamicMaskTrainedAttention = defineDynamicMask({
  id: "dynamic-mask-trained-attention",
  title: "Dynamic Mask Attention (trained value projection)",
  fidelity: {
    level: "simplified",
    reason:
      "W_Δ is a per-head direction fitted by least squares to key attention mass on held-out inputs, not trained end to end; no logit bias; top keys per head, not per row",
  },
  version: "1.0.0",
  description:
    "Per head, every key scored by its value's projection v·w_h, w_h fitted offline on held-out inputs of the same model to predict the log attention mass a key receives from later queries; every row attends to the `keep` best-scoring keys it may see plus the local window.",
  notes:
    "The projection is fitted offline, once per model and shape: on 4 held-out inputs the task hands over (never the evaluated input, which the family refuses), at setup, outside timing; its wall time is the cell's `calibration_ms`. Features per key slot: [v_j, 1] (DMA's projection reads the value only; its score exp(A·softplus(v·W_Δ)) ranks as v·W_Δ for A > 0, and the fitted bias ranks nothing, so it is dropped). Target: log(m_j + 1e-9), m_j the mean dense softmax probability slot j receives over up to 256 evenly spaced query rows that see it. Closed-form ridge least squares (λ = 1e-3 per sample), deterministic. The GPU pass and CPU reference are dynamic-mask-attention's with the fitted weights; the rest (per-head top keys shared by rows, the window, no logit bias) is as its notes say. On the synthetic tasks values are noise independent of where attention goes, so a value-only projection has nothing to learn there; sotu-lm's traces are where it can.",
  trained: true,
});
