// Pruning a task's model with a method, as every pruning task does it: the method's target from
// its parameters, its masks set with the task's calibration data, then what the masks realize.
import type { Linear } from "../../nn/layers.ts";
import type { Param } from "../../nn/param.ts";
import type { Method, ParamValues } from "../../metadata.ts";
import type { CheckResult } from "../../plugin.ts";
import { checkPruneTarget } from "./_gate.ts";
import type { Calibration, PruneReport, PruneTarget, PruningMethod } from "./_interface.ts";
import type { UnitGroup } from "./_structured.ts";
import { factorizedDensity, realizedDensity, targetDensity } from "./_sparsity.ts";

/** What {@link pruneModel} prunes. */
export interface PruneModelOptions {
  /** The model's id as methods see it, e.g. "mnist-mlp". */
  id: string;
  /** A fresh copy of the task's reference model (bench/nn), pruned in place. */
  model: { linears(): Linear[]; parameters(): Param[]; units?(): UnitGroup[] };
  /** The task's calibration data, fed through `model`. */
  calibration: Calibration;
}

/** What pruning did: the target, the method's report and what the masks realize. */
export interface PruneOutcome {
  target: PruneTarget;
  report: PruneReport;
  /** The share of prunable weights the target keeps. */
  nominalDensity: number;
  /**
   * The share the masks keep; for a factorized target the share of parameters its factors
   * store; for an activation target the masks' (the skipped share is measured on the scored
   * inputs, executedMacShare in _sparsity.ts).
   */
  realizedDensity: number;
  /** Whether the masks realize the target ({@link checkPruneTarget}). */
  targetCheck: CheckResult;
}

/**
 * Prunes `options.model` in place with a pruning method and its parameter values; gradients a
 * method left behind are zeroed, so evaluation starts clean.
 *
 * @param method a registered method of the pruning family
 * @param params its parameter values
 * @param options the model and its calibration data
 * @returns the target, the report, the nominal and realized densities and the target check
 */
export async function pruneModel(
  method: Method,
  params: ParamValues,
  options: PruneModelOptions,
): Promise<PruneOutcome> {
  const impl = method.impl as PruningMethod;
  const { model } = options;
  const target = impl.target(params);
  const prunable = {
    id: options.id,
    linears: () => model.linears(),
    parameters: () => model.parameters(),
    ...(model.units ? { units: () => model.units!() } : {}),
  };
  const report = await impl.prune(prunable, options.calibration, target, params);
  for (const p of model.parameters()) p.grad.fill(0);
  return {
    target,
    report,
    nominalDensity: targetDensity(target),
    realizedDensity: target.pattern === "factorized"
      ? factorizedDensity(prunable, report.factors ?? [])
      : realizedDensity(prunable),
    targetCheck: checkPruneTarget(prunable, target, report),
  };
}
