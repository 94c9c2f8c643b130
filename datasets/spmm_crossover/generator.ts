// Seeded inputs of the `spmm-crossover` task: a Linear layer's weight W [out × in] with values
// N(0, 1), a mask at an exact density (unstructured, or N:M for the N:M kernel) and x N(0, 1).
import { type NmPattern } from "../../bench/families/pruning/mod.ts";
import { hashString, mulberry32, normal } from "../../bench/random.ts";

/** A layer's shape: `rows` outputs × `cols` inputs. */
export interface SpmmShape {
  rows: number;
  cols: number;
}

/**
 * Parses a shape written `<out>x<in>`, e.g. "300x784".
 *
 * @param text the shape
 * @returns rows (outputs) and cols (inputs)
 * @throws {RangeError} when the text is not two positive integers joined by "x"
 * @example
 * ```ts
 * import { assertEquals } from "../../tests/assert.ts";
 * import { parseShape } from "./generator.ts";
 * assertEquals(parseShape("300x784"), { rows: 300, cols: 784 });
 * ```
 */
export function parseShape(text: string): SpmmShape {
  const match = /^([1-9]\d*)x([1-9]\d*)$/.exec(text);
  if (!match) {
    throw new RangeError(
      `Cannot read the shape as it must be <out>x<in>, e.g. 300x784: got '${text}'`,
    );
  }
  return { rows: Number(match[1]), cols: Number(match[2]) };
}

/** Sub-seeds of one case: W, its masks and x come from independent streams of the case seed. */
function stream(seed: number, name: string): () => number {
  return mulberry32(hashString(name, seed >>> 0));
}

/** `count` N(0, 1) values drawn from `uniform` (a plain loop: Float32Array.from is far slower). */
function normals(count: number, uniform: () => number): Float32Array {
  const draw = normal(uniform);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = draw();
  return out;
}

/**
 * W [rows × cols] row-major, every value N(0, 1) from the seed.
 *
 * @param shape the layer
 * @param seed the case seed
 * @returns the weights
 */
export function generateWeights(shape: SpmmShape, seed: number): Float32Array {
  return normals(shape.rows * shape.cols, stream(seed, "weights"));
}

/**
 * x [batch × cols] row-major, every value N(0, 1) from the seed.
 *
 * @param cols inputs per row
 * @param batch rows
 * @param seed the case seed
 * @returns x
 */
export function generateInput(cols: number, batch: number, seed: number): Float32Array {
  return normals(cols * batch, stream(seed, "x"));
}

/** Inputs each row keeps at `density`: round(density·cols), at least one. */
export function keptPerRow(cols: number, density: number): number {
  return Math.min(cols, Math.max(1, Math.round(density * cols)));
}

/**
 * An unstructured mask: each row keeps exactly {@link keptPerRow} inputs, chosen uniformly at
 * random (a partial Fisher–Yates shuffle per row), so the density is exact per row up to the
 * rounding of density·cols and every CSR row is equally long.
 *
 * @param shape the layer
 * @param density the kept share, in (0, 1]
 * @param seed the case seed
 * @returns the mask, 1 kept and 0 pruned, [rows × cols]
 * @throws {RangeError} when density is not in (0, 1]
 * @example
 * ```ts
 * import { assertEquals } from "../../tests/assert.ts";
 * import { unstructuredMask } from "./generator.ts";
 * const mask = unstructuredMask({ rows: 2, cols: 10 }, 0.3, 1);
 * assertEquals(mask.reduce((a, b) => a + b, 0), 6);
 * ```
 */
export function unstructuredMask(shape: SpmmShape, density: number, seed: number): Float32Array {
  checkDensity(density);
  const { rows, cols } = shape;
  const u = stream(seed, "mask");
  const keep = keptPerRow(cols, density);
  const mask = new Float32Array(rows * cols);
  const order = new Int32Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) order[c] = c;
    for (let i = 0; i < keep; i++) {
      const j = i + Math.floor(u() * (cols - i));
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
      mask[r * cols + order[i]] = 1;
    }
  }
  return mask;
}

/**
 * An N:M mask: of every group of M consecutive inputs, N chosen uniformly at random (all of a
 * shorter last group up to N), so the density is N/M but for that last group.
 *
 * @param shape the layer
 * @param pattern N kept of every M
 * @param seed the case seed
 * @returns the mask, 1 kept and 0 pruned, [rows × cols]
 * @throws {RangeError} for a pattern that is not 1 ≤ N ≤ M
 * @example
 * ```ts
 * import { assertEquals } from "../../tests/assert.ts";
 * import { nmMask } from "./generator.ts";
 * const mask = nmMask({ rows: 1, cols: 8 }, { n: 2, m: 4 }, 1);
 * assertEquals(mask.slice(0, 4).reduce((a, b) => a + b, 0), 2);
 * ```
 */
export function nmMask(shape: SpmmShape, pattern: NmPattern, seed: number): Float32Array {
  const { n, m } = pattern;
  if (!Number.isInteger(n) || !Number.isInteger(m) || n < 1 || n > m) {
    throw new RangeError(`Cannot draw an N:M mask as it needs integers 1 ≤ N ≤ M: got ${n}:${m}`);
  }
  const { rows, cols } = shape;
  const u = stream(seed, `mask-${n}:${m}`);
  const mask = new Float32Array(rows * cols);
  const order = new Int32Array(m);
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < cols; g += m) {
      const width = Math.min(m, cols - g), keep = Math.min(n, width);
      for (let i = 0; i < width; i++) order[i] = i;
      for (let i = 0; i < keep; i++) {
        const j = i + Math.floor(u() * (width - i));
        const t = order[i];
        order[i] = order[j];
        order[j] = t;
        mask[r * cols + g + order[i]] = 1;
      }
    }
  }
  return mask;
}

/** The share of a mask's entries that are kept (non-zero). */
export function maskDensity(mask: Float32Array): number {
  let kept = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) kept++;
  return mask.length === 0 ? 0 : kept / mask.length;
}

function checkDensity(density: number): void {
  if (!(density > 0 && density <= 1)) {
    throw new RangeError(`Cannot draw a mask as the density must be in (0, 1]: got ${density}`);
  }
}
