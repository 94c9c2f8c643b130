/**
 * The attention family's package: the only thing attention methods and attention tasks import
 * of the family.
 *
 * - the contract: {@link AttentionMethod} (set up a GPU kernel; the plain CPU reference of its
 *   key selection), {@link defineAttentionMethod}, the shape helpers and FLOP counts;
 * - the plain CPU reference of attention, {@link attendRow};
 * - the correctness gate and its tolerance ({@link checkAgainstReference},
 *   {@link ATTENTION_TOLERANCE}), the other sides of near-ties it accepts ({@link nearTieSwaps}),
 *   the one run-and-read-back path ({@link runOnGpu}), a task's case
 *   ({@link prepareAttentionCase}) and the methods' GPU-vs-CPU test
 *   ({@link expectMatchesReference}, {@link randomInputs}, {@link TEST_SHAPES});
 *
 * What an attention cell's `sparsity.realizedDensity` counts: keys attended (the kernel's visited
 * counts, held to the size of its selection by the gate) over keys visible, summed over every
 * query row of the timed input; keys a method scores only to choose are not in it (they are in
 * its FLOPs ratio, through `extraFlops`). The cell repeats it as `attended_key_share`.
 * - trained KV-selection heads: {@link receivedMass} (the attention mass each key slot receives)
 *   and {@link fitHeadsOnHeldOut} (per head, ridge least squares of its log on per-slot features,
 *   on held-out inputs, cached);
 * - matched budgets: {@link tuneBudget} tunes a method's budget knob on its CPU reference to a
 *   target realized density, {@link matchDensity} binds every method of a case at its tuned value;
 * - the machinery methods build on: the tiled dense kernel (several query rows per invocation,
 *   chunked online softmax, variant autotuned at setup), the banded kernel (dense, window, sinks),
 *   block-sparse and staged block-sparse attention, key masks, the block-pooled attention map,
 *   float32 helpers in the kernels' order, and the WGSL they share (dot products, online softmax,
 *   row log-sum-exp, block selection).
 *
 * @module
 */
export * from "./_interface.ts";
export * from "./_reference.ts";
export { createAttentionOutputs } from "./_outputs.ts";
export * from "./_compare.ts";
export * from "./_gate.ts";
export * from "./_ties.ts";
export { type AttentionResult, executeOnce, readResults, runOnGpu } from "./_run.ts";
export * from "./_case.ts";
export * from "./_calibration.ts";
export * from "./_received_mass.ts";
export * from "./_attention_shift.ts";
export * from "./_boundary_fit.ts";
export { fitLogistic, type LogisticFit } from "./_logistic.ts";
export * from "./_budget.ts";
export * from "./_test_inputs.ts";
export * from "./_float32.ts";
export * from "./_cache.ts";
export * from "./_pipelines.ts";
export * from "./_wgsl.ts";
export * from "./_iteration_bound.ts";
export { setupBandedAttention, windowBand } from "./_banded.ts";
export {
  denseTiledIterations,
  denseTiledWgsl,
  type DenseTuning,
  type DenseVariant,
  denseVariantName,
  denseVariants,
  setupTiledDense,
} from "./_dense_tiled.ts";
export * from "./_block_sparse.ts";
export {
  BLOCK_WORKGROUP,
  blockAttendIterations,
  blockAttendPassWgsl,
  blockParamsWgsl,
  blockProbabilityIterations,
  blockProbabilityPassWgsl,
  rowLseIterations,
  rowLsePassWgsl,
} from "./_block_sparse_kernel.ts";
export * from "./_staged_block_sparse.ts";
export * from "./_block_attention_map.ts";
export * from "./_key_masks.ts";
export { MASKS_PARAMS, MASKS_WORKGROUP } from "./_key_masks_kernel.ts";
