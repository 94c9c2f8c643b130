// Float32 arithmetic in the kernels' order of operations, for CPU references whose selections
// compare scores: computed this way, ties and near-ties resolve as they do on the GPU.

/** Where the two vectors of {@link float32Dot4} start, and their length. */
export interface DotAt {
  /** Offset of the first vector in `a`. */
  a: number;
  /** Offset of the second vector in `b`. */
  b: number;
  length: number;
}

/**
 * Σ a_i·b_i in float32 as the kernels' vec4 dots compute it: four lanes (i mod 4), each a running
 * float32 sum of float32 products, then ((l0 + l1) + l2) + l3.
 *
 * @param a the first vector's array
 * @param b the second vector's array
 * @param at where each vector starts and how long they are
 * @returns the dot product, a float32 value
 * @example
 * ```ts
 * import { float32Dot4 } from "./mod.ts";
 * float32Dot4([1, 2, 3, 4, 5], [0, 1, 1, 1, 1, 1], { a: 1, b: 2, length: 4 }); // 14
 * ```
 */
export function float32Dot4(a: ArrayLike<number>, b: ArrayLike<number>, at: DotAt): number {
  const f = Math.fround;
  let l0 = 0, l1 = 0, l2 = 0, l3 = 0;
  let i = 0;
  for (; i + 3 < at.length; i += 4) {
    l0 = f(l0 + f(a[at.a + i] * b[at.b + i]));
    l1 = f(l1 + f(a[at.a + i + 1] * b[at.b + i + 1]));
    l2 = f(l2 + f(a[at.a + i + 2] * b[at.b + i + 2]));
    l3 = f(l3 + f(a[at.a + i + 3] * b[at.b + i + 3]));
  }
  if (i < at.length) l0 = f(l0 + f(a[at.a + i] * b[at.b + i]));
  if (i + 1 < at.length) l1 = f(l1 + f(a[at.a + i + 1] * b[at.b + i + 1]));
  if (i + 2 < at.length) l2 = f(l2 + f(a[at.a + i + 2] * b[at.b + i + 2]));
  return f(f(f(l0 + l1) + l2) + l3);
}

/**
 * How many of `visible` items (keys, blocks) a share `density` keeps: rounded half up in
 * float32, at least one and at most all, exactly as the WGSL selection passes compute it.
 *
 * @example
 * ```ts
 * import { keepCount } from "./mod.ts";
 * keepCount(15, 0.1); // 2
 * keepCount(3, 0.01); // 1
 * ```
 */
export function keepCount(visible: number, density: number): number {
  const wanted = Math.floor(Math.fround(Math.fround(density) * visible) + 0.5);
  return Math.min(visible, Math.max(1, wanted));
}
