// Structured pruning's units: the hidden neurons and attention heads a model can lose whole, how a
// method removes one (zero rows where it is made, zero columns where it is read), the gate of a
// structured target, and what the shrunk model keeps (rows, columns, multiply-adds).
import type { Linear } from "../../nn/layers.ts";
import type { CheckResult } from "../../plugin.ts";
import type { PrunableModel } from "./_interface.ts";
import { shrinkLayerWeights } from "./_submatrix.ts";

/**
 * Where one Linear layer holds a group's units: unit `u` owns rows (of a producer) or columns (of
 * a consumer) `offset + u·width` … `offset + (u + 1)·width − 1`.
 */
export interface UnitSlice {
  layer: Linear;
  /** The first unit's first row or column. */
  offset: number;
  /** Rows or columns each unit owns: 1 for a neuron, the head dimension for a head's q, k or v. */
  width: number;
}

/** What a unit is: a hidden neuron (one feature) or an attention head (head-dim features). */
export type UnitKind = "neuron" | "head";

/**
 * A group of prunable units of one kind at one place in the model, e.g. an MLP's hidden layer
 * or a transformer block's heads. Removing a unit zeroes its `producers` rows (and their bias
 * entries) and its `consumers` columns; the model's classifier outputs and residual stream are
 * no units.
 */
export interface UnitGroup {
  /** e.g. "fc1", "blocks.0.attn", "blocks.0.mlp". */
  name: string;
  kind: UnitKind;
  /** How many units the group has. */
  size: number;
  /** The layers that compute the units (a head: its q, k and v rows of the fused qkv). */
  producers: UnitSlice[];
  /** The layers that read them (a head: its columns of the output projection). */
  consumers: UnitSlice[];
}

/**
 * |removed share − target| a structured target allows per kind of unit: half a unit per
 * {@link UnitGroup} of that kind over its units (each group rounds its count), plus float slack.
 */
export function structuredTolerance(groups: readonly UnitGroup[], kind: UnitKind): number {
  const ofKind = groups.filter((g) => g.kind === kind);
  const units = ofKind.reduce((n, g) => n + g.size, 0);
  return units > 0 ? 0.5 * ofKind.length / units + 1e-9 : 0;
}

/**
 * Removes units of a group: masks (hard) every producer row and consumer column they own and
 * zeroes their bias entries, composing with masks already set. Both sides are needed: a removed
 * ReLU neuron with bias b would still emit relu(b) into columns left unmasked, and masked
 * columns alone leave the rows computing what nothing reads.
 *
 * @param group the units' group
 * @param removed one flag per unit, truthy where the unit goes
 * @throws {RangeError} when `removed` has not one flag per unit
 * @example
 * ```ts
 * import { removeUnits, removedUnits } from "./mod.ts";
 * import { Mlp } from "../../nn/mlp.ts";
 * const model = new Mlp([4, 3, 2]);
 * const [hidden] = model.units();
 * removeUnits(hidden, [false, true, false]);
 * removedUnits(hidden); // Uint8Array [0, 1, 0]
 * ```
 */
export function removeUnits(group: UnitGroup, removed: ArrayLike<boolean | number>): void {
  if (removed.length !== group.size) {
    throw new RangeError(
      `Cannot remove units of '${group.name}' as it needs ${group.size} flags: got ${removed.length}`,
    );
  }
  const masks = new Map<Linear, Float32Array>();
  const maskOf = (layer: Linear) => {
    let m = masks.get(layer);
    if (!m) {
      m = layer.weight.mask
        ? Float32Array.from(layer.weight.mask)
        : new Float32Array(layer.weight.size).fill(1);
      masks.set(layer, m);
    }
    return m;
  };
  for (let u = 0; u < group.size; u++) {
    if (!removed[u]) continue;
    for (const s of group.producers) {
      const m = maskOf(s.layer), cols = s.layer.inFeatures;
      for (let r = s.offset + u * s.width; r < s.offset + (u + 1) * s.width; r++) {
        m.fill(0, r * cols, (r + 1) * cols);
        if (s.layer.bias) s.layer.bias.data[r] = 0;
      }
    }
    for (const s of group.consumers) {
      const m = maskOf(s.layer), cols = s.layer.inFeatures;
      for (let r = 0; r < s.layer.outFeatures; r++) {
        m.fill(0, r * cols + s.offset + u * s.width, r * cols + s.offset + (u + 1) * s.width);
      }
    }
  }
  for (const [layer, m] of masks) layer.weight.setMask(m, "hard");
}

/**
 * Which units of a group are removed: 1 where every weight of the unit's producer rows and
 * consumer columns is masked.
 *
 * @param group the units' group
 * @returns one flag per unit
 */
export function removedUnits(group: UnitGroup): Uint8Array {
  const out = new Uint8Array(group.size);
  for (let u = 0; u < group.size; u++) {
    const { rows, columns } = unitMasking(group, u);
    out[u] = rows && columns ? 1 : 0;
  }
  return out;
}

/** Whether all of a unit's producer rows, and all of its consumer columns, are masked. */
function unitMasking(group: UnitGroup, u: number): { rows: boolean; columns: boolean } {
  const rows = group.producers.every((s) => {
    const m = s.layer.weight.mask, cols = s.layer.inFeatures;
    if (!m) return false;
    for (let i = (s.offset + u * s.width) * cols; i < (s.offset + (u + 1) * s.width) * cols; i++) {
      if (m[i] !== 0) return false;
    }
    return true;
  });
  const columns = group.consumers.every((s) => {
    const m = s.layer.weight.mask, cols = s.layer.inFeatures;
    if (!m) return false;
    for (let r = 0; r < s.layer.outFeatures; r++) {
      for (let c = s.offset + u * s.width; c < s.offset + (u + 1) * s.width; c++) {
        if (m[r * cols + c] !== 0) return false;
      }
    }
    return true;
  });
  return { rows, columns };
}

/**
 * A structured target's gate: every unit the model lists is fully kept or fully removed
 * (producer rows and consumer columns all masked), no other weight is masked, and each kind of
 * unit (neurons, heads) loses the target's share within {@link structuredTolerance}. Kinds are
 * checked apart so that removing neurons cannot stand in for keeping every head.
 *
 * @param model the pruned model, listing its units
 * @param target the structured target
 * @returns the verdict, with the first offending unit or weight when it fails
 */
export function checkStructuredTarget(
  model: Pick<PrunableModel, "linears" | "units">,
  target: { sparsity: number },
): CheckResult {
  const tolerance =
    "every unit fully kept or fully removed (producer rows and consumer columns), no other weight masked; per kind |removed share − target| ≤ ½·groups/units";
  const fail = (description: string): CheckResult => ({
    passed: false,
    description,
    maxAbsError: null,
    tolerance,
  });
  const groups = model.units?.() ?? [];
  if (groups.length === 0) return fail("the model lists no prunable units for a structured target");
  const expected = new Map<Linear, Float32Array>();
  for (const layer of model.linears()) {
    expected.set(layer, new Float32Array(layer.weight.size).fill(1));
  }
  const removedByKind = new Map<UnitKind, { removed: number; units: number }>();
  for (const g of groups) {
    const tally = removedByKind.get(g.kind) ?? { removed: 0, units: 0 };
    removedByKind.set(g.kind, tally);
    tally.units += g.size;
    for (let u = 0; u < g.size; u++) {
      const { rows, columns } = unitMasking(g, u);
      if (rows !== columns) {
        return fail(
          `${g.name} ${g.kind} ${u} is half removed: its producer rows are ${
            rows ? "" : "not "
          }all masked, its consumer columns ${
            columns ? "" : "not "
          }all masked; a removed unit needs both`,
        );
      }
      if (!rows) continue;
      tally.removed++;
      for (const s of g.producers) {
        const m = expected.get(s.layer), cols = s.layer.inFeatures;
        m?.fill(0, (s.offset + u * s.width) * cols, (s.offset + (u + 1) * s.width) * cols);
      }
      for (const s of g.consumers) {
        const m = expected.get(s.layer), cols = s.layer.inFeatures;
        if (!m) continue;
        for (let r = 0; r < s.layer.outFeatures; r++) {
          m.fill(0, r * cols + s.offset + u * s.width, r * cols + s.offset + (u + 1) * s.width);
        }
      }
    }
  }
  for (const [layer, want] of expected) {
    const mask = layer.weight.mask;
    if (!mask) continue;
    for (let i = 0; i < mask.length; i++) {
      if (mask[i] === 0 && want[i] !== 0) {
        const row = Math.floor(i / layer.inFeatures), col = i % layer.inFeatures;
        return fail(
          `${layer.weight.name} masks row ${row}, column ${col}, which belongs to no removed unit: a structured target masks whole units only`,
        );
      }
    }
  }
  let worst = 0, passed = true;
  const parts: string[] = [];
  for (const [kind, { removed, units }] of removedByKind) {
    const share = removed / units, error = Math.abs(share - target.sparsity);
    worst = Math.max(worst, error);
    if (error > structuredTolerance(groups, kind)) passed = false;
    parts.push(`${removed} of ${units} ${kind}s removed (${share.toFixed(4)})`);
  }
  return {
    passed,
    description: `${parts.join(", ")}, target ${target.sparsity.toFixed(4)}; every unit whole`,
    maxAbsError: worst,
    tolerance,
  };
}

/** What a Linear layer keeps once the model is shrunk: its kept rows and columns, ascending. */
export interface ShrunkLayer {
  layer: Linear;
  /** Output rows kept (rows of removed units' producers dropped). */
  rows: Int32Array;
  /** Input columns kept (columns of removed units' consumers dropped). */
  columns: Int32Array;
}

/**
 * The rows of `layer` a shrunk model keeps: all but those of removed units it produces.
 *
 * @param model the pruned model, listing its units
 * @param layer one of its Linear layers
 * @returns the kept row indices, ascending
 */
export function keptRows(model: Pick<PrunableModel, "units">, layer: Linear): Int32Array {
  return kept(layer.outFeatures, model, layer, "producers");
}

/**
 * The input columns of `layer` a shrunk model keeps: all but those of removed units it reads.
 *
 * @param model the pruned model, listing its units
 * @param layer one of its Linear layers
 * @returns the kept column indices, ascending
 */
export function keptColumns(model: Pick<PrunableModel, "units">, layer: Linear): Int32Array {
  return kept(layer.inFeatures, model, layer, "consumers");
}

function kept(
  count: number,
  model: Pick<PrunableModel, "units">,
  layer: Linear,
  side: "producers" | "consumers",
): Int32Array {
  const keep = new Uint8Array(count).fill(1);
  for (const g of model.units?.() ?? []) {
    const slices = g[side].filter((s) => s.layer === layer);
    if (slices.length === 0) continue;
    const removed = removedUnits(g);
    for (let u = 0; u < g.size; u++) {
      if (!removed[u]) continue;
      for (const s of slices) keep.fill(0, s.offset + u * s.width, s.offset + (u + 1) * s.width);
    }
  }
  const out: number[] = [];
  keep.forEach((k, i) => k && out.push(i));
  return Int32Array.from(out);
}

/**
 * Every prunable layer as the shrunk model keeps it: the dense matrices W[rows, columns] and
 * bias[rows] compute what the masked layer computes on its kept outputs, given its kept inputs.
 *
 * @param model the pruned model
 * @returns one entry per layer of `model.linears()`, in order
 */
export function shrunkLayers(model: Pick<PrunableModel, "linears" | "units">): ShrunkLayer[] {
  return model.linears().map((layer) => ({
    layer,
    rows: keptRows(model, layer),
    columns: keptColumns(model, layer),
  }));
}

/**
 * The smaller dense weight [rows × columns] (effective weights, row-major) and bias of a shrunk
 * layer, for a kernel that runs the shrunk model.
 *
 * @param shrunk a layer and what it keeps ({@link shrunkLayers})
 * @returns the kept weights and bias entries (null for a layer without bias)
 */
export function shrinkLinear(
  shrunk: ShrunkLayer,
): { weight: Float32Array; bias: Float32Array | null } {
  return shrinkLayerWeights(shrunk.layer, shrunk.rows, shrunk.columns);
}

/**
 * Multiply-adds per input row (image or token) of the prunable layers, dense and shrunk (kept
 * rows × kept columns). Only Linear layers count, as their `macs` counters do: a transformer's
 * attention products (q·k and p·v) are left out, though removing heads removes them too.
 *
 * @param model the pruned model
 * @returns both counts; `shrunk / dense` is the share the shrunk model runs
 */
export function shrunkMacsPerRow(
  model: Pick<PrunableModel, "linears" | "units">,
): { shrunk: number; dense: number } {
  let shrunk = 0, dense = 0;
  for (const s of shrunkLayers(model)) {
    shrunk += s.rows.length * s.columns.length;
    dense += s.layer.outFeatures * s.layer.inFeatures;
  }
  return { shrunk, dense };
}
