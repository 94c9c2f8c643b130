// What every pruning cell reports beside its task's quality, written once for the tasks: what
// pruning did (densities, the method's own figures, prune time), the multiply-adds the scored
// inputs executed, the second engine's verdict, and under `--dump` the pruned model itself.
import { encodeCheckpoint } from "../../nn/checkpoint.ts";
import type { Linear } from "../../nn/layers.ts";
import type { Param } from "../../nn/param.ts";
import { encodeSafetensors, type NamedTensor } from "../../nn/safetensors.ts";
import type { ParamValues } from "../../metadata.ts";
import type { CheckResult, DumpFile } from "../../plugin.ts";
import { checkActivationTarget, combineChecks } from "./_gate.ts";
import type { PruneOutcome } from "./_prune_model.ts";
import { executedMacShare, layerDensities, zeroMacCounters } from "./_sparsity.ts";

/** |second engine − ours| allowed on a cell's main metric (accuracy, bits per byte). */
export const ENGINE_TOLERANCE = 1e-4;

/** The descriptions of the metrics {@link pruneMetrics} adds, for a task's metric list. */
export const PRUNE_CELL_METRICS = [
  {
    name: "executed_mac_share",
    description:
      "share of the dense multiply-adds the CPU engine executed on the scored inputs: 1 for masks (the dense product multiplies zeros too), below 1 for per-input kernels (R-Sparse, FTWT), their selection work included",
    higherIsBetter: false,
  },
  {
    name: "nonzero_mac_share",
    description:
      "share of the dense multiply-adds a kernel that skips every zero weight would execute: the kept weights' share, a factorization's stored share, or a per-input kernel's executed share",
    higherIsBetter: false,
  },
] as const;

/** A pruned model as the cell helpers see it. */
export interface PrunedModel {
  linears(): Linear[];
  parameters(): Param[];
}

/**
 * Scores a pruned model with its multiply-add counters zeroed first, so the executed share
 * afterwards is that of the scored inputs alone.
 *
 * @param model the pruned model
 * @param score the task's scoring, which runs the model forward
 * @returns the score and the share of dense multiply-adds its forward passes executed
 */
export async function scoreCounted<T>(
  model: PrunedModel,
  score: () => T | Promise<T>,
): Promise<{ value: T; executedShare: number }> {
  zeroMacCounters(model);
  const value = await score();
  return { value, executedShare: executedMacShare(model) };
}

/**
 * The figures a pruning cell publishes about pruning itself: the method's own metrics, the
 * realized density overall and per layer, prune time, the share of dense multiply-adds the
 * scored inputs executed (`executed_mac_share`: 1 for a mask on the dense engine, below 1 for a
 * per-input kernel) and the share the kept weights account for (`nonzero_mac_share`).
 */
export function pruneMetrics(
  model: PrunedModel,
  outcome: PruneOutcome,
  executedShare: number,
): Record<string, number> {
  return {
    ...outcome.report.metrics,
    density: outcome.realizedDensity,
    ...layerDensities(model),
    prune_ms: outcome.report.pruneMs,
    executed_mac_share: executedShare,
    nonzero_mac_share: nonzeroMacShare(outcome, executedShare),
  };
}

/**
 * The share of the dense multiply-adds a kernel that skips every zero would execute: the stored
 * share for factors (x·rightᵀ·leftᵀ costs their nonzeros), the executed share for per-input
 * kernels, else the kept weights' share.
 */
export function nonzeroMacShare(
  outcome: PruneOutcome,
  executedShare: number,
): number {
  return outcome.target.pattern === "activation" ? executedShare : outcome.realizedDensity;
}

/**
 * A cell's gate: the target check, the timed output's check, and for an activation target the
 * skipped share measured on the scored inputs.
 */
export function pruneCellCheck(
  outcome: PruneOutcome,
  output: CheckResult,
  executedShare: number,
): CheckResult {
  const target = combineChecks(outcome.targetCheck, output);
  if (outcome.target.pattern !== "activation") return target;
  return combineChecks(checkActivationTarget(executedShare, outcome.target), target);
}

/**
 * The check that a second engine (onnxruntime-web on the exported pruned model) reaches the
 * same main metric within {@link ENGINE_TOLERANCE}.
 *
 * @param metric the metric's name, e.g. "accuracy"
 * @param ours our engine's value
 * @param theirs onnxruntime-web's on the same inputs
 */
export function engineCheck(metric: string, ours: number, theirs: number): CheckResult {
  const error = Math.abs(ours - theirs);
  const passed = error <= ENGINE_TOLERANCE;
  return {
    passed,
    description: passed
      ? `onnxruntime-web on the exported model gives the same ${metric}`
      : `onnxruntime-web on the exported model gives ${metric} ${theirs}, ours ${ours}`,
    maxAbsError: error,
    tolerance: `|Δ${metric}| ≤ ${ENGINE_TOLERANCE}`,
  };
}

/** What {@link prunedModelDumps} writes. */
export interface PrunedModelDump {
  method: string;
  params: ParamValues;
  /** The calibration inputs the method was given, as the task fed them. */
  calibration: NamedTensor[];
}

/**
 * Under `--dump`: the pruned model as safetensors (every parameter, each mask as
 * `<name>.mask`, the method, its parameters and target as metadata), the calibration inputs,
 * and a factorizing method's factors (`<weight>.left`, `<weight>.right`), so anyone can
 * re-derive a mask or a factorization with their own code.
 */
export function prunedModelDumps(
  model: PrunedModel,
  outcome: PruneOutcome,
  dump: PrunedModelDump,
): DumpFile[] {
  const metadata = {
    method: dump.method,
    params: JSON.stringify(dump.params),
    target: JSON.stringify(outcome.target),
    prune_ms: String(outcome.report.pruneMs),
  };
  const files: DumpFile[] = [
    {
      name: "pruned_model",
      extension: "safetensors",
      format: "safetensors: every parameter, masks as <name>.mask",
      bytes: encodeCheckpoint(model.parameters(), metadata),
    },
    {
      name: "calibration",
      extension: "safetensors",
      format: "safetensors: the calibration inputs in the order the method saw them",
      bytes: encodeSafetensors(dump.calibration, { method: dump.method }),
    },
  ];
  const factors = outcome.report.factors ?? [];
  if (factors.length > 0) {
    files.push({
      name: "factors",
      extension: "safetensors",
      format: "safetensors: each weight = <name>.left · <name>.right",
      bytes: encodeSafetensors(
        factors.flatMap((f) => [
          {
            name: `${f.layer.weight.name}.left`,
            shape: [f.layer.outFeatures, f.rank],
            data: f.left,
          },
          {
            name: `${f.layer.weight.name}.right`,
            shape: [f.rank, f.layer.inFeatures],
            data: f.right,
          },
        ]),
        metadata,
      ),
    });
  }
  return files;
}
