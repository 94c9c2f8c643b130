/**
 * The MoE family's package: what its methods and tasks share, and the only thing either side
 * imports of the family. A method is a trainable gate (`route(x) → (expert ids, weights)`);
 * tasks train and evaluate a small MoE model with it against the dense mixture of every expert.
 *
 * - the contract: {@link MoeMethod}, {@link Gate}, {@link Routing}, {@link defineMoeMethod};
 * - the layer and the model tasks build ({@link MoeLayer}: gate → permutation by expert →
 *   one GEMM pair per expert over its tokens → weighted combine into the residual;
 *   {@link MoeMlp}), which is also the timed path;
 * - the plain CPU reference {@link moeLayerReference} (float64, token by token) and the gate:
 *   {@link routingProblem} (well-formed routings) and {@link compareWithReference} within
 *   {@link MOE_TOLERANCE};
 * - the routing figures every cell reports ({@link RoutingTally}: load CV, MaxVio, dropped share,
 *   dead experts, router entropy);
 * - the layer after its gate on WebGPU ({@link createGpuMoeLayer}: permutation by expert,
 *   grouped expert FFN in one dispatch per product, combine), checked against the same reference;
 * - a trained model's layer bound as a timed trial on either engine ({@link bindMoeLayerTrial}),
 *   every MoE task's timed part;
 * - what learned gates share: {@link Router}, {@link SoftmaxRouter}, {@link softmaxRows},
 *   {@link softmaxBackward}, {@link topKIndices}, {@link argmaxRow}, {@link cvSquared}, the
 *   balance loss α·E·Σ fᵢPᵢ ({@link firstChoiceBalanceLoss}), the auction's balanced assignment
 *   ({@link balancedAssignment}: BASE, COMET's hardened permutation) and the smooth-step
 *   selectors of DSelect-k and COMET ({@link SmoothStepSelectors}).
 *
 * @module
 */
export * from "./_interface.ts";
export * from "./_layer.ts";
export * from "./_reference.ts";
export * from "./_router.ts";
export * from "./_gpu_layer.ts";
export * from "./_assignment.ts";
export * from "./_smooth_step.ts";
export * from "./_layer_trial.ts";
export * from "./_balance_loss.ts";
export * from "./_gpu_gate.ts";
export * from "./_gate_reference.ts";
export * from "./_phase_times.ts";
export * from "./_engine_param.ts";
export * from "./_checkpoint_file.ts";
export * from "./_adapter.ts";
export * from "./_adapter_net.ts";
export * from "./_adapter_optim.ts";
export * from "./_gpu_gate_route.ts";
export * from "./_gpu_gate_hash.ts";
export * from "./_gpu_gate_expert_choice.ts";
export * from "./_gpu_gate_expert_choice_reference.ts";
export * from "./_gpu_gate_selectors.ts";
