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
    "The projection is fitted offline, once per model and shape: on 4 held-out inputs the task hands over (never the evaluated input, which the family refuses), at setup, outside timing; its wall time is the cell's `calibration_ms`. Features per key slot: [v_j, 1] (DMA's projection reads the value only; its score exp(A·softplus(v·W_Δ)) ranks as v·W_Δ for A > 0, and the fitted bias ranks nothing, so it is dropped). Target: log(m_j + 1e-9), m_j the mean dense softmax probability slot j receives over up to 256 evenly spaced query rows that see it. Closed-form ridge least squares (λ = 1e-3 per sample), deterministic. The GPU pass and CPU reference are dynamic-mask-attention's with the fitted weights; the rest (per-head top keys shared by rows, the window, no logit bias) is as its notes say. Finding (smoke runs, rel. L2 error [95% CI] at matched realized density, load 0.8–1.3 on 2 cores): on attention-fidelity 3.0.0 (seq 1024, 4 heads, causal, randomized key norms, density 0.2, run 20261202T125457Z-4c9cb8) the fitted projection beats the random stand-in, 0.268 [0.158–0.364] at 0.203 vs 0.417 [0.303–0.517] at 0.208 (sliding window 0.394 at 0.200, NOSA's ‖k‖₁ stand-in 0.197 at 0.205, run 20261202T124852Z-c5ded5); on sotu-lm's real heads (attention-sotu-trace smoke, 2 windows, keep 12, window 8, run 20261202T125452Z-d3d0a2) 0.513 [0.477–0.549] at 0.189 vs 0.619 [0.574–0.668] at 0.210 (sliding window 0.493 at 0.234). So a trained value projection does carry where attention goes, as DMA claims, but from values alone it stays behind key-aware selection (NOSA, ‖k‖₁) at like density. Calibration 0.48 s (sotu) to 0.87 s (seq 1024, 4 heads).",
  trained: true,
});
