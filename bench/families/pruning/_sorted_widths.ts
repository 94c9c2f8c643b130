// SortedNet's nested sub-networks of an MLP, shared by the method and the recipe that trains it:
// the sub-network of width w keeps the first round(w·h) units of every hidden layer (rows of the
// layer producing them, columns of the one reading them), so every narrower network is the
// leading block of every wider one and all of them share the full model's parameters.
import type { Mlp } from "../../nn/mlp.ts";
import type { Param } from "../../nn/param.ts";

/**
 * Layer sizes of the nested sub-network of width `fraction`: the input and output sizes stay, each
 * hidden size h becomes round(fraction·h).
 *
 * @throws {RangeError} when the fraction is not in (0, 1] or leaves a hidden layer empty
 * @example
 * ```ts
 * import { nestedSizes } from "./mod.ts";
 * nestedSizes([784, 300, 100, 10], 0.25); // [784, 75, 25, 10]
 * ```
 */
export function nestedSizes(sizes: readonly number[], fraction: number): number[] {
  if (!(fraction > 0 && fraction <= 1)) {
    throw new RangeError(`A sub-network width must be in (0, 1]: got ${fraction}`);
  }
  const out = sizes.map((s, i) => i === 0 || i === sizes.length - 1 ? s : Math.round(fraction * s));
  if (out.some((s) => s < 1)) {
    throw new RangeError(`Width ${fraction} leaves a hidden layer of [${sizes}] without units`);
  }
  return out;
}

/** Calls `visit(fullIndex, subIndex)` for every entry of `sub` inside the leading block of `full`. */
function forEachLeading(
  full: Param,
  sub: Param,
  visit: (fullIndex: number, subIndex: number) => void,
): void {
  if (full.shape.length === 1) {
    for (let i = 0; i < sub.size; i++) visit(i, i);
    return;
  }
  const [rows, cols] = sub.shape, fullCols = full.shape[1];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) visit(r * fullCols + c, r * cols + c);
  }
}

function pairedParameters(full: Mlp, sub: Mlp): [Param, Param][] {
  const a = full.parameters(), b = sub.parameters();
  if (a.length !== b.length || full.sizes.length !== sub.sizes.length) {
    throw new RangeError(
      `Cannot nest [${sub.sizes}] in [${full.sizes}]: the models have different layers`,
    );
  }
  full.sizes.forEach((s, i) => {
    const t = sub.sizes[i];
    const edge = i === 0 || i === full.sizes.length - 1;
    if (t > s || (edge && t !== s)) {
      throw new RangeError(`Cannot nest [${sub.sizes}] in [${full.sizes}]: size ${i} does not fit`);
    }
  });
  return a.map((p, k) => [p, b[k]]);
}

/**
 * Copies the leading block of the full model's parameters into the sub-network (its weights are
 * the full model's first rows and columns, its biases the first entries).
 *
 * @param full the full-width model
 * @param sub a model of {@link nestedSizes} of the full one's sizes
 * @throws {RangeError} when `sub` does not nest in `full`
 */
export function copyLeadingBlock(full: Mlp, sub: Mlp): void {
  for (const [p, q] of pairedParameters(full, sub)) {
    forEachLeading(p, q, (i, j) => q.data[j] = p.data[i]);
  }
}

/**
 * Adds `scale` × the sub-network's gradients into the leading block of the full model's gradients
 * (gradient accumulation over sampled sub-networks that share the parameters).
 *
 * @param full the full-width model
 * @param sub a nested sub-network whose backward has run
 * @param scale the factor (1/g for the mean over g sampled sub-networks)
 */
export function addLeadingGradients(full: Mlp, sub: Mlp, scale: number): void {
  for (const [p, q] of pairedParameters(full, sub)) {
    forEachLeading(p, q, (i, j) => p.grad[i] += scale * q.grad[j]);
  }
}

/**
 * Holds every full-model parameter entry outside the leading block of `active` (the widest
 * sub-network a step sampled), with its AdamW moments, so that an optimizer step updates only the
 * sampled sub-networks' parameters: call it before the step and `restore()` after. Without it,
 * AdamW would still move the unsampled units through their momentum and weight decay.
 *
 * @param full the full-width model
 * @param active the widest sub-network of the step (the full model itself: nothing is held)
 * @param moments the optimizer's moment estimates, one array per parameter of `full`
 * @returns restore(): puts the held values and moments back
 */
export function holdOutsideBlock(
  full: Mlp,
  active: Mlp,
  moments: { m: readonly Float32Array[]; v: readonly Float32Array[] },
): { restore(): void } {
  const held: {
    k: number;
    index: Int32Array;
    data: Float32Array;
    m: Float32Array;
    v: Float32Array;
  }[] = [];
  pairedParameters(full, active).forEach(([p, q], k) => {
    if (p.size === q.size) return;
    const inside = new Uint8Array(p.size);
    forEachLeading(p, q, (i) => inside[i] = 1);
    const index = new Int32Array(p.size - q.size);
    for (let i = 0, n = 0; i < p.size; i++) if (!inside[i]) index[n++] = i;
    held.push({
      k,
      index,
      data: Float32Array.from(index, (i) => p.data[i]),
      m: Float32Array.from(index, (i) => moments.m[k][i]),
      v: Float32Array.from(index, (i) => moments.v[k][i]),
    });
  });
  const params = full.parameters();
  return {
    restore() {
      for (const h of held) {
        const p = params[h.k];
        h.index.forEach((i, j) => {
          p.data[i] = h.data[j];
          moments.m[h.k][i] = h.m[j];
          moments.v[h.k][i] = h.v[j];
        });
      }
    },
  };
}

/**
 * SortedNet's probabilistic sampling: `draws` sub-networks drawn uniformly, with replacement,
 * from the `count` nested widths (indices into the sorted list).
 *
 * @param random a uniform stream in [0, 1)
 * @param count how many nested widths there are
 * @param draws sub-networks per optimizer step (gradient accumulation)
 */
export function sampleNestedWidths(random: () => number, count: number, draws: number): number[] {
  return Array.from({ length: draws }, () => Math.min(count - 1, Math.floor(random() * count)));
}
