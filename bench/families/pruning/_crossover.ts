// The kernel-crossover contract (task `spmm-crossover`): a method names the kernel that multiplies
// a pruned Linear layer's weight, the task runs it on seeded matrices across densities, and the
// gate compares its output with a plain float64 product over the kept weights.
import {
  defineMethod,
  type Method,
  type MethodDefinition,
  MethodMeta,
  type ParamSpecs,
} from "../../metadata.ts";
import type { MaskedWeight, NmPattern } from "./_sparse_cpu.ts";
import { NM_MAX_M } from "./_sparse_cpu.ts";

/**
 * The kernels a crossover method may name: the family's dense, CSR and N:M kernels (WebAssembly
 * SIMD or WebGPU, as the case's engine says), or onnxruntime-web's dense MatMul as a peer.
 */
export const SPMM_KERNELS = ["dense", "csr", "n:m", "onnxruntime"] as const;

/** One of {@link SPMM_KERNELS}. */
export type SpmmKernel = typeof SPMM_KERNELS[number];

/** The feature a method declares to run on the crossover task, and nowhere else. */
export const SPMM_FEATURE = "spmm";

/** What a crossover method implements: only which kernel; the task does the work. */
export interface SpmmMethod {
  readonly kernel: SpmmKernel;
}

/**
 * Declares a crossover method: metadata as any method's, `impl.kernel` one of
 * {@link SPMM_KERNELS}, and the feature {@link SPMM_FEATURE} among its features.
 *
 * @param definition metadata (family "pruning") and the kernel
 * @returns the frozen method
 * @throws {MetadataError} when the metadata does not satisfy the schema
 * @throws {RangeError} for an unknown kernel, or when the method does not declare "spmm"
 * @example
 * ```ts
 * import { assertEquals } from "../../../tests/assert.ts";
 * import { defineSpmmMethod } from "./mod.ts";
 * const csr = defineSpmmMethod({
 *   id: "my-csr",
 *   family: "pruning",
 *   title: "CSR",
 *   description: "the CSR kernel",
 *   paper: { title: "None", year: 2024, link: "https://example.org" },
 *   fidelity: { level: "faithful", reason: "a test fixture" },
 *   version: "1.0.0",
 *   parameters: {},
 *   capabilities: { requires: [], features: ["spmm"] },
 *   impl: { kernel: "csr" },
 * });
 * assertEquals(csr.impl.kernel, "csr");
 * ```
 */
export function defineSpmmMethod<P extends ParamSpecs>(
  definition: MethodDefinition<P, SpmmMethod>,
): Method<SpmmMethod> {
  const kernel = definition.impl.kernel;
  if (!SPMM_KERNELS.includes(kernel)) {
    throw new RangeError(
      `Cannot declare method '${definition.id}' as its kernel must be one of ${
        SPMM_KERNELS.join(", ")
      }: got '${kernel}'`,
    );
  }
  if (!definition.capabilities.features.includes(SPMM_FEATURE)) {
    throw new RangeError(
      `Cannot declare method '${definition.id}' as a crossover method must declare the feature '${SPMM_FEATURE}': got [${definition.capabilities.features}]`,
    );
  }
  return defineMethod({ ...definition, impl: Object.freeze({ kernel }) });
}

/**
 * The kernel a registered method names, for the task that receives it as a plain `Method`.
 *
 * @param method a method declared with {@link defineSpmmMethod}
 * @returns its kernel
 * @throws {TypeError} when the method names no kernel of {@link SPMM_KERNELS}
 * @example
 * ```ts
 * import { assertEquals } from "../../../tests/assert.ts";
 * import { spmmKernelOf } from "./mod.ts";
 * const method = { meta: {} as never, impl: { kernel: "n:m" } };
 * assertEquals(spmmKernelOf(method), "n:m");
 * ```
 */
export function spmmKernelOf(method: { readonly meta: MethodMeta; readonly impl: unknown }) {
  const kernel = (method.impl as Partial<SpmmMethod> | null)?.kernel;
  if (typeof kernel !== "string" || !(SPMM_KERNELS as readonly string[]).includes(kernel)) {
    throw new TypeError(
      `Cannot run method '${method.meta?.id}' on the crossover task as its impl must name a kernel of ${
        SPMM_KERNELS.join(", ")
      }: got ${JSON.stringify(kernel)}`,
    );
  }
  return kernel as SpmmKernel;
}

/** The group sizes tried first for an N:M pattern, in order: the ones hardware formats use. */
const PREFERRED_M = [4, 8, 16];

/**
 * The N:M pattern whose density N/M is exactly `density`: M of 4, 8 or 16 where one fits
 * (25% → 1:4, 50% → 2:4), else the smallest M up to 16 (10% → 1:10, 20% → 1:5, 30% → 3:10,
 * 40% → 2:5, 60% → 3:5), else null (1%, 5%: no pattern of M ≤ 16 keeps that share).
 *
 * @param density the kept share, in (0, 1]
 * @returns the pattern, or null when none realizes the density exactly
 * @throws {RangeError} when density is not in (0, 1]
 * @example
 * ```ts
 * import { assertEquals } from "../../../tests/assert.ts";
 * import { nmPatternForDensity } from "./mod.ts";
 * assertEquals(nmPatternForDensity(0.5), { n: 2, m: 4 });
 * assertEquals(nmPatternForDensity(0.1), { n: 1, m: 10 });
 * assertEquals(nmPatternForDensity(0.05), null);
 * ```
 */
export function nmPatternForDensity(density: number): NmPattern | null {
  if (!(density > 0 && density <= 1)) {
    throw new RangeError(
      `Cannot find an N:M pattern as the density must be in (0, 1]: got ${density}`,
    );
  }
  const candidates = [
    ...PREFERRED_M,
    ...Array.from({ length: NM_MAX_M - 1 }, (_, i) => i + 2).filter((m) =>
      !PREFERRED_M.includes(m)
    ),
  ];
  for (const m of candidates) {
    const n = Math.round(density * m);
    if (n >= 1 && Math.abs(n / m - density) < 1e-9) return { n, m };
  }
  return null;
}

/**
 * Largest |kernel − reference| allowed on an output, as a share of that output's Σ|w||x| over
 * the kept weights: float32 products summed in any order stay far inside it at the sizes the
 * task runs (4096 inputs), while a dropped or misplaced weight of typical size does not.
 */
export const SPMM_TOLERANCE = 1e-5;

/** The plain product of some rows of x with a masked weight, and each output's scale. */
export interface SpmmReference {
  /** The rows of x (batch rows) the reference covers, ascending. */
  batchRows: number[];
  /** [batchRows.length × weight rows]: Σ w·x over the kept weights, in float64. */
  y: Float64Array;
  /** [batchRows.length × weight rows]: Σ |w|·|x| over the kept weights. */
  scale: Float64Array;
}

/**
 * The plain product y = x·(W⊙mask)ᵀ, output by output in float64 over the kept weights (mask ≠ 0;
 * all without a mask), for some rows of x, with Σ|w||x| of each output as its error scale.
 *
 * @param weight W [rows × cols], its mask and shape
 * @param x [batch × cols] row-major
 * @param batchRows the rows of x to cover (default all)
 * @returns the outputs and their scales
 * @throws {RangeError} when x does not hold whole rows of cols, or a batch row is out of range
 * @example
 * ```ts
 * import { assertEquals } from "../../../tests/assert.ts";
 * import { spmmReference } from "./mod.ts";
 * const ref = spmmReference(
 *   { data: new Float32Array([1, -2, 3, 4]), mask: new Float32Array([1, 1, 0, 1]), shape: [2, 2] },
 *   new Float32Array([1, 1]),
 * );
 * assertEquals([...ref.y], [-1, 4]);
 * assertEquals([...ref.scale], [3, 4]);
 * ```
 */
export function spmmReference(
  weight: MaskedWeight,
  x: Float32Array,
  batchRows?: readonly number[],
): SpmmReference {
  const [rows, cols] = weight.shape;
  const batch = x.length / cols;
  if (!Number.isInteger(batch)) {
    throw new RangeError(
      `Cannot multiply by the ${rows} × ${cols} weight as x must hold whole rows of ${cols}: got ${x.length} values`,
    );
  }
  const wanted = batchRows ? [...batchRows] : Array.from({ length: batch }, (_, b) => b);
  for (const b of wanted) {
    if (!Number.isInteger(b) || b < 0 || b >= batch) {
      throw new RangeError(
        `Cannot multiply row ${b} of x as it holds rows 0…${batch - 1}`,
      );
    }
  }
  const { data, mask } = weight;
  const n = wanted.length;
  const y = new Float64Array(n * rows), scale = new Float64Array(n * rows);
  // Each row's kept weights are gathered once, then multiplied with every wanted row of x.
  const keptCols = new Int32Array(cols), keptValues = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    let kept = 0;
    for (let c = 0; c < cols; c++) {
      const k = r * cols + c;
      if (mask && mask[k] === 0) continue;
      keptCols[kept] = c;
      keptValues[kept++] = mask ? data[k] * mask[k] : data[k];
    }
    for (let i = 0; i < n; i++) {
      const base = wanted[i] * cols;
      let sum = 0, abs = 0;
      for (let p = 0; p < kept; p++) {
        const term = keptValues[p] * x[base + keptCols[p]];
        sum += term;
        abs += Math.abs(term);
      }
      y[i * rows + r] = sum;
      scale[i * rows + r] = abs;
    }
  }
  return { batchRows: wanted, y, scale };
}

/** The gate's verdict on a kernel's output. */
export interface SpmmComparison {
  passed: boolean;
  /** Largest |kernel − reference| / Σ|w||x| over the compared outputs (0 where both are 0). */
  maxRelError: number;
  /** Largest |kernel − reference|. */
  maxAbsError: number;
  /** Outputs compared. */
  compared: number;
  /** Outputs that are not finite numbers. */
  nonFinite: number;
}

/**
 * Compares a kernel's y [batch × rows] with the reference on the batch rows it covers: every
 * output within `tolerance`·Σ|w||x| of the float64 product, and finite.
 *
 * @param output the kernel's y, [batch × rows] row-major
 * @param reference from {@link spmmReference} on the same weight and x
 * @param tolerance relative to each output's Σ|w||x| (default {@link SPMM_TOLERANCE})
 * @returns the verdict and the errors
 * @throws {RangeError} when the output is too short for the reference's rows
 * @example
 * ```ts
 * import { assert } from "../../../tests/assert.ts";
 * import { compareSpmm, spmmReference } from "./mod.ts";
 * const w = { data: new Float32Array([1, 2]), mask: null, shape: [1, 2] };
 * const ref = spmmReference(w, new Float32Array([1, 1]));
 * assert(compareSpmm(new Float32Array([3]), ref).passed);
 * assert(!compareSpmm(new Float32Array([3.1]), ref).passed);
 * ```
 */
export function compareSpmm(
  output: Float32Array,
  reference: SpmmReference,
  tolerance = SPMM_TOLERANCE,
): SpmmComparison {
  const rows = reference.batchRows.length > 0 ? reference.y.length / reference.batchRows.length : 0;
  const last = reference.batchRows.at(-1) ?? -1;
  if (output.length < (last + 1) * rows) {
    throw new RangeError(
      `Cannot compare the output as it must hold at least ${
        (last + 1) * rows
      } values (batch row ${last} of ${rows} outputs): got ${output.length}`,
    );
  }
  let maxRelError = 0, maxAbsError = 0, nonFinite = 0, passed = true;
  reference.batchRows.forEach((b, i) => {
    for (let r = 0; r < rows; r++) {
      const got = output[b * rows + r], want = reference.y[i * rows + r];
      if (!Number.isFinite(got)) {
        nonFinite++;
        passed = false;
        continue;
      }
      const abs = Math.abs(got - want), scale = reference.scale[i * rows + r];
      const rel = abs === 0 ? 0 : scale > 0 ? abs / scale : Infinity;
      if (abs > maxAbsError) maxAbsError = abs;
      if (rel > maxRelError) maxRelError = rel;
      if (rel > tolerance) passed = false;
    }
  });
  return { passed, maxRelError, maxAbsError, compared: reference.y.length, nonFinite };
}

/**
 * The batch rows a check covers within a budget of work: all when batch·perRow fits, else evenly
 * spaced rows, the first and the last among them, at least two.
 *
 * @param batch rows of x
 * @param perRow the reference's multiply-adds per row of x (the kept weights)
 * @param budget multiply-adds the check may spend (default 2²⁶, well under a second)
 * @returns ascending batch rows
 * @example
 * ```ts
 * import { assertEquals } from "../../../tests/assert.ts";
 * import { checkedBatchRows } from "./mod.ts";
 * assertEquals(checkedBatchRows(4, 10), [0, 1, 2, 3]);
 * assertEquals(checkedBatchRows(256, 2 ** 24), [0, 85, 170, 255]);
 * ```
 */
export function checkedBatchRows(batch: number, perRow: number, budget = 2 ** 26): number[] {
  if (batch * perRow <= budget || batch <= 2) {
    return Array.from({ length: batch }, (_, b) => b);
  }
  const k = Math.min(batch, Math.max(2, Math.floor(budget / Math.max(perRow, 1))));
  const rows = new Set<number>();
  for (let i = 0; i < k; i++) rows.add(Math.round(i * (batch - 1) / (k - 1)));
  return [...rows].sort((a, b) => a - b);
}
