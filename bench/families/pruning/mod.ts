/**
 * The pruning family's package: what its methods and tasks share, and the only thing either
 * side imports of the family. A method prunes a trained model with calibration data to a target
 * (`prune(model, calibration, target) → masks`, kept weights possibly updated); the unpruned
 * model is the baseline.
 *
 * - the contract: {@link PruningMethod}, {@link PrunableModel}, {@link Calibration},
 *   {@link PruneTarget}, {@link definePruningMethod};
 * - the plain CPU reference is the engine in `bench/nn`: tasks score pruned models with it and
 *   compare the timed output with it ({@link compareLogits});
 * - the correctness gate: masks realize the target ({@link checkPruneTarget}), output within
 *   the logit tolerance;
 * - shared helpers: {@link pruneModel}, {@link targetDensity}, {@link realizedDensity}, and what
 *   training-free methods share to turn scores into masks: the `target` parameter
 *   ({@link TARGET_PARAM}, {@link parseTarget}) and per-row, per-layer and global selections
 *   ({@link rowMask}, {@link layerMask}, {@link globalMasks}); per-layer densities as metrics
 *   ({@link layerDensities});
 * - what tasks share to calibrate: the seeded draw of training rows ({@link calibrationSample})
 *   and a {@link Calibration} over batches that can stop at a layer ({@link batchCalibration}).
 * - structured targets: the units a model can lose whole ({@link UnitGroup}: neurons, heads),
 *   {@link removeUnits}, their gate ({@link checkStructuredTarget}) and what the shrunk model
 *   keeps ({@link shrunkLayers}, {@link keptRows}, {@link keptColumns}, {@link shrunkMacsPerRow}).
 * - WebGPU kernels that realize a pruned Linear layer's sparsity, chained over one
 *   batch-packed activation layout: dense ({@link uploadDenseLinear}), CSR
 *   ({@link uploadCsrLinear}) and N:M ({@link uploadNmLinear}), each with a plain CPU reference.
 * - a pruned model timed with every layer in the format fastest on it at the timed batch: on the
 *   CPU ({@link installFastestCpuKernels}: dense, CSR, N:M or shrunk dense as Linear kernels) and
 *   on WebGPU ({@link createGpuChain}); what a cell reports of it ({@link cpuKernelMetrics},
 *   {@link gpuChainMetrics}).
 * - what every pruning cell reports and checks: {@link pruneMetrics}, {@link scoreCounted},
 *   {@link pruneCellCheck}, {@link engineCheck}, and under `--dump` {@link prunedModelDumps}.
 * - WebAssembly SIMD kernels that realize it on the CPU: y = x·Wᵀ with W in a
 *   {@link DenseMatrix}, {@link CsrMatrix} or {@link NmMatrix} ({@link denseMatmul},
 *   {@link csrMatmul}, {@link nmMatmul}), with plain references and each format's bytes.
 * - the kernel-crossover task's contract: a method names a kernel ({@link defineSpmmMethod},
 *   {@link SpmmKernel}); the gate compares its output with {@link spmmReference}
 *   ({@link compareSpmm}); {@link nmPatternForDensity} picks an N:M pattern for a density.
 * - what methods that store a weight as factors share: the `compression` parameter
 *   ({@link COMPRESSION_PARAM}, {@link parseCompression}), {@link symmetricEigen},
 *   {@link truncatedSvd}, the calibration Gram's whitening ({@link inputWhitening},
 *   {@link whitenRows}, {@link unwhitenRows}) and the forward-order loop {@link factorizeLayers}.
 * - sparse training: methods whose masks are learned while the model trains
 *   ({@link defineSparseTrainingMethod}, {@link SparseTraining}, {@link SparseTrainer}: hooks a
 *   task's training loop calls around each step), their FLOPs count ({@link trainingStepFlops}),
 *   the card's training cost the bench shows ({@link TrainedCard}, {@link trainingCostMetrics}),
 *   compact checkpoints ({@link encodeSparseCheckpoint}, {@link loadSparseCheckpoint}) and the
 *   mask rules they share ({@link erkLayerDensities}, {@link randomMask}, {@link nmMagnitudeMask},
 *   {@link lowestScoring}, {@link highestScoring}); distillation from a dense teacher
 *   ({@link distillationLoss}).
 *
 * @module
 */
export * from "./_interface.ts";
export * from "./_sparsity.ts";
export * from "./_gate.ts";
export * from "./_prune_model.ts";
export * from "./_structured.ts";
export * from "./_targets.ts";
export * from "./_calibration.ts";
export * from "./_hessian.ts";
export * from "./_cell.ts";
export * from "./_pruned_cache.ts";
export * from "./_realize_cpu.ts";
export * from "./_realize_gpu.ts";
export * from "./_wanda.ts";
export * from "./_sparsegpt.ts";
export * from "./_sparse_gpu.ts";
export * from "./_sparse_cpu.ts";
export * from "./_crossover.ts";
export * from "./_svd.ts";
export * from "./_sparse_training.ts";
export * from "./_distillation.ts";
export * from "./_sparse_topology.ts";
export * from "./_sparse_checkpoint.ts";
export * from "./_model_soup.ts";
export * from "./_sorted_widths.ts";
export * from "./_param_specs.ts";
