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
    "The eviction head is trained offline, once per model and shape: on 4 held-out inputs the task hands over (the same model seed with other input seeds, or other sotu-lm trace windows; never the evaluated input, which the family refuses), at setup, outside timing; its wall time is the cell's `calibration_ms`. Input features per key slot j of a head: [k_j, v_j, 1] (the paper's head reads v_j only, A·softplus(v_j·δ); softplus is monotone so ranking by a linear score of v_j ranks as it does; k_j is added because the synthetic heads mark their sinks in the key). Target: log(m_j + 1e-9), m_j the mean dense softmax probability slot j receives over the query rows that can see it, from up to 256 evenly spaced rows per head and input (float64). Fit: closed-form ridge least squares (λ = 1e-3 per sample, on the weights only), deterministic, no seed needed. At inference the GPU scores every slot with one pass (2·headDim multiply-adds a key), the shared top-k keeps the best `budget` remainder per head; the CPU reference scores in the same float32 order. The paper trains the head end to end with the model's sparse attention and adds its score as a logit bias; neither is done here. Tasks without held-out inputs (needle retrieval) give none: the head then fits seeded random inputs and learns nothing of the model (`calibration_held_out` 0). The query-aware part, window, locality counting and costs are nosa-attention's (see its notes). Finding (attention-fidelity 3.0.0, smoke with seq 2048, 4 heads, causal, matched realized density 0.1, run 20261202T124941Z-fa6c1a; rel. L2 error [95% CI]): with randomized key norms the trained head is level with the ‖k‖₁ stand-in, 0.179 [0.117–0.236] vs 0.183 [0.123–0.238] (sliding window 0.582 [0.471–0.692]); with planted key norms, where importance is put in the norm by construction, it is worse, 0.261 [0.158–0.370] vs 0.142 [0.117–0.170] (window 0.718): a linear score of k cannot express a norm. Same at seq 1024 and density 0.2 (run 20261202T124852Z-c5ded5): 0.237 vs 0.197 randomized, 0.276 vs 0.132 planted. On sotu-lm's real heads (attention-sotu-trace smoke, 2 windows, budget 12, blocks of 4, window 8, run 20261202T125053Z-f96ea0) it is level too: 0.459 [0.424–0.498] at density 0.220 vs 0.446 [0.414–0.480] at 0.216; sliding window 0.493 at 0.234, 0.428 at 0.287. So the paper's trained head does not beat the norm heuristic here; fitted to predict mass alone and read linearly, it learns about what ‖k‖₁ already gives. Calibration: 0.67 s (sotu, 4 trace sets) to 2.4 s (seq 2048, 4 heads) on 2 cores, load 0.4–0.8.",
  trained: true,
});
