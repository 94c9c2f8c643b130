// What sparse-training methods share to build and change masks: Erdős–Rényi-Kernel layer
// densities, seeded random masks at a density, N:M masks by magnitude (along the inputs or the
// outputs), SR-STE's sparse-refined term, and the selections of lowest- and highest-scoring
// positions that drop-and-grow rules are made of. Ties go to the
// lower index everywhere, so a mask is the same on every machine.

/** A layer's shape as a density allocation sees it: outputs × inputs. */
export interface LayerShape {
  rows: number;
  cols: number;
}

/**
 * Erdős–Rényi-Kernel densities for a model-wide density (RigL's allocation; for a Linear layer
 * the kernel terms vanish and it is SET's Erdős–Rényi one): layer density ∝ (n_in + n_out) /
 * (n_in·n_out), one scale for all, so the layers together keep `density` of their weights; when
 * a layer would exceed 1, the layers at the largest raw density turn dense and the rest are
 * rescaled, until none exceeds 1.
 *
 * @param shapes the prunable layers' shapes, in order
 * @param density the share of all their weights to keep, in (0, 1]
 * @returns one density per layer, each in (0, 1]
 * @throws {RangeError} when `density` is outside (0, 1]
 * @example
 * ```ts
 * import { erkLayerDensities } from "./mod.ts";
 * // 10×10 and 100×100 at 10%: raw 0.2 and 0.02, scale ε with 100·0.2ε + 10,000·0.02ε = 1,010.
 * erkLayerDensities([{ rows: 10, cols: 10 }, { rows: 100, cols: 100 }], 0.1); // ≈ [0.918, 0.0918]
 * ```
 */
export function erkLayerDensities(shapes: readonly LayerShape[], density: number): number[] {
  if (!(density > 0 && density <= 1)) {
    throw new RangeError(`Cannot allocate a density of ${density}: it must be in (0, 1]`);
  }
  const sizes = shapes.map((s) => s.rows * s.cols);
  const raw = shapes.map((s, i) => (s.rows + s.cols) / sizes[i]);
  const budget = density * sizes.reduce((a, b) => a + b, 0);
  const dense = new Set<number>();
  for (;;) {
    let sparseBudget = budget, weighted = 0;
    sizes.forEach((size, i) => {
      if (dense.has(i)) sparseBudget -= size;
      else weighted += raw[i] * size;
    });
    const scale = sparseBudget / weighted;
    const sparse = sizes.map((_, i) => i).filter((i) => !dense.has(i));
    const top = Math.max(...sparse.map((i) => raw[i]));
    if (sparse.length === 0 || top * scale <= 1) {
      return sizes.map((_, i) => (dense.has(i) ? 1 : raw[i] * scale));
    }
    for (const i of sparse) if (raw[i] === top) dense.add(i);
  }
}

/**
 * The per-layer densities of an allocation: `uniform` (every layer at `density`) or `erk`.
 *
 * @param allocation "uniform" or "erk"
 * @param shapes the layers' shapes
 * @param density the model-wide share kept
 * @returns one density per layer
 * @throws {RangeError} for another allocation
 */
export function allocateLayerDensities(
  allocation: string,
  shapes: readonly LayerShape[],
  density: number,
): number[] {
  if (allocation === "erk") return erkLayerDensities(shapes, density);
  if (allocation === "uniform") return shapes.map(() => density);
  throw new RangeError(`Cannot allocate densities '${allocation}': expected 'uniform' or 'erk'`);
}

/**
 * A mask keeping exactly round(density·size) positions chosen uniformly at random: the first
 * draws of a seeded Fisher–Yates shuffle.
 *
 * @param size entries of the weight
 * @param density share to keep, in [0, 1]
 * @param random uniform [0, 1) numbers (seeded, e.g. mulberry32)
 * @returns 1 kept, 0 pruned
 */
export function randomMask(size: number, density: number, random: () => number): Float32Array {
  const keep = Math.round(size * density), order = Int32Array.from({ length: size }, (_, i) => i);
  const mask = new Float32Array(size);
  for (let i = 0; i < keep; i++) {
    const j = i + Math.floor(random() * (size - i));
    [order[i], order[j]] = [order[j], order[i]];
    mask[order[i]] = 1;
  }
  return mask;
}

/**
 * The N:M mask of largest magnitude: in each row, of every M consecutive inputs the N with the
 * largest |w| are kept (a shorter last group keeps at most N), ties to the lower index.
 *
 * @param weight row-major [rows × cols]
 * @param cols inputs per row
 * @param pattern keep `n` of every `m`
 * @param out where to write the mask (a new array by default)
 * @returns 1 kept, 0 pruned
 * @example
 * ```ts
 * import { nmMagnitudeMask } from "./mod.ts";
 * nmMagnitudeMask(Float32Array.from([0.1, -0.9, 0.5, 0.2]), 4, { n: 2, m: 4 }); // [0, 1, 1, 0]
 * ```
 */
export function nmMagnitudeMask(
  weight: Float32Array,
  cols: number,
  pattern: { n: number; m: number },
  out: Float32Array = new Float32Array(weight.length),
): Float32Array {
  const { n, m } = pattern, rows = weight.length / cols;
  const picked = new Int32Array(m);
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < cols; g += m) {
      const base = r * cols + g, len = Math.min(m, cols - g);
      // Selection of the n largest by repeated maximum: m is small (4, 8).
      let count = 0;
      for (let k = 0; k < len; k++) out[base + k] = 0;
      for (; count < Math.min(n, len); count++) {
        let best = -1;
        for (let k = 0; k < len; k++) {
          let taken = false;
          for (let c = 0; c < count; c++) if (picked[c] === k) taken = true;
          if (taken) continue;
          if (best < 0 || Math.abs(weight[base + k]) > Math.abs(weight[base + best])) best = k;
        }
        picked[count] = best;
        out[base + best] = 1;
      }
    }
  }
  return out;
}

/**
 * The N:M mask of largest magnitude along the outputs: in each column (input), of every M
 * consecutive rows (outputs) the N with the largest |w| are kept (a shorter last group keeps at
 * most N), ties to the lower row. It is {@link nmMagnitudeMask} of the transposed weight, the
 * pattern a product reducing over the outputs (the input gradient ∂x = ∂y·W) can skip by.
 *
 * @param weight row-major [rows × cols]
 * @param cols inputs per row
 * @param pattern keep `n` of every `m`
 * @returns 1 kept, 0 pruned, row-major as the weight
 * @example
 * ```ts
 * import { nmMagnitudeMaskAlongOutputs } from "./mod.ts";
 * // 4 rows × 1 column: the column is one group of 4 outputs.
 * nmMagnitudeMaskAlongOutputs(Float32Array.from([0.1, -0.9, 0.5, 0.2]), 1, { n: 2, m: 4 }); // [0, 1, 1, 0]
 * ```
 */
export function nmMagnitudeMaskAlongOutputs(
  weight: Float32Array,
  cols: number,
  pattern: { n: number; m: number },
): Float32Array {
  const rows = weight.length / cols, transposed = new Float32Array(weight.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      transposed[c * rows + r] = weight[r * cols + c];
    }
  }
  const maskT = nmMagnitudeMask(transposed, rows, pattern), mask = new Float32Array(weight.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      mask[r * cols + c] = maskT[c * rows + r];
    }
  }
  return mask;
}

/**
 * Adds SR-STE's sparse-refined term (SR-STE's and BDWP's dense-weight update) to a straight-through gradient, in place:
 * g ← g + λ·(1 − mask)⊙w (the kept weights' gradients are unchanged).
 *
 * @param weight data, gradient (∂loss/∂effective weight, every entry) and the step's mask
 * @param lambda λ_W
 * @example
 * ```ts
 * import { addSparseRefinedDecay } from "./mod.ts";
 * const w = { data: Float32Array.from([2, -4]), grad: Float32Array.from([0.5, 0.5]), mask: Float32Array.from([1, 0]) };
 * addSparseRefinedDecay(w, 0.1); // grad = [0.5, 0.5 + 0.1·(−4)] = [0.5, 0.1]
 * ```
 */
export function addSparseRefinedDecay(
  weight: { data: Float32Array; grad: Float32Array; mask: Float32Array },
  lambda: number,
): void {
  const { data, grad, mask } = weight;
  for (let i = 0; i < grad.length; i++) if (mask[i] === 0) grad[i] += lambda * data[i];
}

/**
 * Positions among `candidates` with the `count` lowest scores, lower index first on ties.
 *
 * @param scores one score per position of the weight
 * @param candidates the positions to choose from
 * @param count how many to choose (all candidates when more)
 * @returns the chosen positions, lowest score first
 */
export function lowestScoring(
  scores: ArrayLike<number>,
  candidates: readonly number[],
  count: number,
): number[] {
  return [...candidates].sort((a, b) => scores[a] - scores[b] || a - b).slice(0, count);
}

/**
 * Positions among `candidates` with the `count` highest scores, lower index first on ties.
 *
 * @param scores one score per position of the weight
 * @param candidates the positions to choose from
 * @param count how many to choose (all candidates when more)
 * @returns the chosen positions, highest score first
 */
export function highestScoring(
  scores: ArrayLike<number>,
  candidates: readonly number[],
  count: number,
): number[] {
  return [...candidates].sort((a, b) => scores[b] - scores[a] || a - b).slice(0, count);
}

/** Positions whose mask entry is 1 (`kept`) or 0 (not kept). */
export function maskPositions(mask: Float32Array, kept: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < mask.length; i++) if ((mask[i] !== 0) === kept) out.push(i);
  return out;
}

/** What one drop-and-grow update changes in a weight. */
export interface TopologyChange {
  /** Positions that were kept and are now pruned. */
  dropped: number[];
  /** Positions newly kept that were pruned before the update (they start at zero). */
  grown: number[];
}

/**
 * RigL's drop-and-grow on a hard-masked weight, in place (GraNet's regeneration too): the `count`
 * kept connections of lowest |w| are dropped, then the `count` pruned positions of largest
 * |gradient| (those just dropped included, as in RigL's code) are grown. A grown position that
 * was kept before keeps its weight (its drop is undone); a new one starts at zero.
 *
 * @param weight data, dense gradient (∂loss/∂effective weight, every entry) and mask
 * @param count connections to replace (at most the kept ones)
 * @returns the positions dropped and grown (new connections only)
 */
export function dropByMagnitudeGrowByGradient(
  weight: { data: Float32Array; grad: Float32Array; mask: Float32Array },
  count: number,
): TopologyChange {
  const { data, grad, mask } = weight;
  if (count <= 0) return { dropped: [], grown: [] };
  const kept = maskPositions(mask, true);
  const dropping = lowestScoring(Float32Array.from(data, Math.abs), kept, count);
  const before = Float32Array.from(mask);
  for (const i of dropping) mask[i] = 0;
  const pruned = maskPositions(mask, false);
  const growing = highestScoring(Float32Array.from(grad, Math.abs), pruned, dropping.length);
  for (const i of growing) mask[i] = 1;
  const grown = growing.filter((i) => before[i] === 0);
  for (const i of grown) data[i] = 0;
  const dropped = dropping.filter((i) => mask[i] === 0);
  for (const i of dropped) data[i] = 0;
  return { dropped, grown };
}

/**
 * RigL's cosine-annealed update fraction at step t: α/2·(1 + cos(π·t/T_end)), 0 from T_end on.
 *
 * @param step the optimizer step
 * @param s α (the fraction at step 0) and T_end
 * @returns the fraction of kept connections an update at `step` replaces
 * @example
 * ```ts
 * import { cosineUpdateFraction } from "./mod.ts";
 * cosineUpdateFraction(500, { alpha: 0.3, endStep: 1000 }); // 0.15
 * ```
 */
export function cosineUpdateFraction(step: number, s: { alpha: number; endStep: number }): number {
  if (step >= s.endStep) return 0;
  return s.alpha / 2 * (1 + Math.cos(Math.PI * step / s.endStep));
}
