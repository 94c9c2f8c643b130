// A pruned Linear layer's y = x·Wᵀ (+ bias) on the CPU with W dense, CSR or N:M-compressed, on
// WebAssembly SIMD kernels (sparse_cpu.wat), beside the plain references they are tested against.
//
// Why the timings measure the kernel: one WebAssembly instance serves every call. A matrix's arrays are copied into its memory on
// the matrix's first use and stay there (up to RESIDENT_LIMIT bytes of matrices; past that the
// resident set starts over), and x and y go through one scratch region that is reused, so a
// timed loop over the same matrix copies only x in and y out: with `out` passed, nothing is
// allocated. Memory grows as needed and never shrinks (WebAssembly memory cannot).
import { SPARSE_CPU_WASM_BASE64 } from "./_sparse_cpu_wasm.ts";

/** A Linear layer's weight as the engine keeps it; a `Param` (`layer.weight`) is one. */
export interface MaskedWeight {
  /** W, [rows × cols] row-major: rows are output features, cols input features. */
  readonly data: Float32Array;
  /** Multiplies W entry by entry (1 keeps, 0 prunes; any non-zero keeps); null keeps all. */
  readonly mask: Float32Array | null;
  /** [rows, cols]. */
  readonly shape: readonly number[];
}

/** What every run function accepts beside the matrix and x. */
export interface CpuMatmulOptions {
  /** Rows of x (default: x.length / cols). */
  batch?: number;
  /** [rows], added to every output row after the product; default none. */
  bias?: Float32Array | null;
  /** Where y is written ([batch × rows]); default a new array. Pass one to time the kernel alone. */
  out?: Float32Array;
}

/** The N:M patterns {@link NmMatrix} stores: N kept of every M consecutive inputs. */
export interface NmPattern {
  n: number;
  m: number;
}

/** The largest M an {@link NmMatrix} stores (its in-group indices take at most 4 bits). */
export const NM_MAX_M = 16;

/** Bytes of matrices kept in the kernels' memory before the resident set starts over. */
export const RESIDENT_LIMIT = 512 * 2 ** 20;

/** W [rows × cols] stored whole, row-major: the dense baseline. */
export class DenseMatrix {
  readonly rows: number;
  readonly cols: number;
  /** [rows × cols] row-major; treat as read-only (the kernels keep a copy from the first use). */
  readonly data: Float32Array;

  /**
   * @param parts the shape and the row-major values, kept as given (not copied)
   * @throws {RangeError} when the shape is not non-negative integers or `data` does not fit it
   */
  constructor(parts: { rows: number; cols: number; data: Float32Array }) {
    checkShape("a dense matrix", parts.rows, parts.cols);
    checkLength(
      "a dense matrix",
      "data",
      parts.data.length,
      parts.rows * parts.cols,
      "rows × cols",
    );
    this.rows = parts.rows;
    this.cols = parts.cols;
    this.data = parts.data;
  }

  /**
   * The masked weight, data ⊙ mask, as a dense matrix (a copy).
   *
   * @param weight W, its mask and shape, e.g. `layer.weight`
   * @returns the dense matrix
   * @throws {RangeError} when the shape and the arrays disagree
   * @example
   * ```ts
   * import { assertEquals } from "../../../tests/assert.ts";
   * import { DenseMatrix } from "./mod.ts";
   * const w = DenseMatrix.fromMasked({
   *   data: new Float32Array([1, 2, 3, 4]),
   *   mask: new Float32Array([1, 0, 0, 1]),
   *   shape: [2, 2],
   * });
   * assertEquals([...w.data], [1, 0, 0, 4]);
   * ```
   */
  static fromMasked(weight: MaskedWeight): DenseMatrix {
    const [rows, cols] = checkWeight("a dense matrix", weight);
    const data = Float32Array.from(weight.data);
    const mask = weight.mask;
    if (mask) { for (let i = 0; i < data.length; i++) data[i] *= mask[i]; }
    return new DenseMatrix({ rows, cols, data });
  }

  /** Bytes of the stored weights (4 per entry). */
  get bytes(): number {
    return this.data.byteLength;
  }
}

/** W in compressed sparse rows: each row's kept weights with their columns. */
export class CsrMatrix {
  readonly rows: number;
  readonly cols: number;
  /** [rows + 1]: row r's entries are rowPtr[r] … rowPtr[r + 1] − 1. */
  readonly rowPtr: Int32Array;
  /** [nnz]: the column of each entry. */
  readonly colIdx: Int32Array;
  /** [nnz]: the weight of each entry. */
  readonly values: Float32Array;

  /**
   * @param parts the shape and the three arrays, kept as given (not copied; treat as read-only)
   * @throws {RangeError} when the arrays do not describe a rows × cols CSR matrix
   */
  constructor(
    parts: {
      rows: number;
      cols: number;
      rowPtr: Int32Array;
      colIdx: Int32Array;
      values: Float32Array;
    },
  ) {
    const { rows, cols, rowPtr, colIdx, values } = parts;
    checkShape("a CSR matrix", rows, cols);
    checkLength("a CSR matrix", "rowPtr", rowPtr.length, rows + 1, "rows + 1");
    const nnz = rowPtr[rows];
    if (rowPtr[0] !== 0) {
      throw new RangeError(
        `Cannot build a CSR matrix as 'rowPtr' must start at 0: got ${rowPtr[0]}`,
      );
    }
    for (let r = 0; r < rows; r++) {
      if (rowPtr[r + 1] < rowPtr[r]) {
        throw new RangeError(
          `Cannot build a CSR matrix as 'rowPtr' must not decrease: row ${r} runs from ${
            rowPtr[r]
          } to ${rowPtr[r + 1]}`,
        );
      }
    }
    checkLength("a CSR matrix", "colIdx", colIdx.length, nnz, "rowPtr[rows]");
    checkLength("a CSR matrix", "values", values.length, nnz, "rowPtr[rows]");
    for (let p = 0; p < nnz; p++) {
      if (!(colIdx[p] >= 0 && colIdx[p] < cols)) {
        throw new RangeError(
          `Cannot build a CSR matrix as every column must be in 0…${cols - 1}: entry ${p} has ${
            colIdx[p]
          }`,
        );
      }
    }
    this.rows = rows;
    this.cols = cols;
    this.rowPtr = rowPtr;
    this.colIdx = colIdx;
    this.values = values;
  }

  /**
   * The kept weights of a masked weight in CSR (kept: mask ≠ 0, every entry without a mask;
   * value data ⊙ mask), each row in column order.
   *
   * @param weight W, its mask and shape, e.g. `layer.weight`
   * @returns the CSR matrix
   * @throws {RangeError} when the shape and the arrays disagree
   * @example
   * ```ts
   * import { assertEquals } from "../../../tests/assert.ts";
   * import { CsrMatrix } from "./mod.ts";
   * const csr = CsrMatrix.fromMasked({
   *   data: new Float32Array([1, 2, 3, 4]),
   *   mask: new Float32Array([1, 0, 0, 1]),
   *   shape: [2, 2],
   * });
   * assertEquals([...csr.colIdx], [0, 1]);
   * assertEquals(csr.bytes, 4 * 2 + 4 * 2 + 4 * 3); // values, columns, row pointers
   * ```
   */
  static fromMasked(weight: MaskedWeight): CsrMatrix {
    const [rows, cols] = checkWeight("a CSR matrix", weight);
    const { data, mask } = weight;
    const rowPtr = new Int32Array(rows + 1);
    let nnz = 0;
    for (let r = 0; r < rows; r++) {
      if (mask) { for (let i = r * cols; i < (r + 1) * cols; i++) if (mask[i] !== 0) nnz++; }
      else nnz += cols;
      rowPtr[r + 1] = nnz;
    }
    const colIdx = new Int32Array(nnz), values = new Float32Array(nnz);
    let p = 0;
    for (let i = 0; i < rows * cols; i++) {
      if (mask && mask[i] === 0) continue;
      colIdx[p] = i % cols;
      values[p++] = mask ? data[i] * mask[i] : data[i];
    }
    return new CsrMatrix({ rows, cols, rowPtr, colIdx, values });
  }

  /** Stored (kept) weights. */
  get nnz(): number {
    return this.values.length;
  }

  /** Bytes of the values (4 per entry). */
  get valueBytes(): number {
    return this.values.byteLength;
  }

  /** Bytes of the indices: a 4-byte column per entry and 4-byte row pointers. */
  get indexBytes(): number {
    return this.colIdx.byteLength + this.rowPtr.byteLength;
  }

  /** Bytes of the whole format, values and indices. */
  get bytes(): number {
    return this.valueBytes + this.indexBytes;
  }
}

/**
 * W N:M-compressed: each row's inputs in groups of M consecutive columns (the last group shorter
 * when M does not divide cols), each group stored as N slots of (value, index in the group).
 * A group keeping fewer than N (the short last group may) fills its spare slots with value 0,
 * index 0, so every row has `slots` = groups·N slots and nothing past cols is read (a spare
 * slot multiplies its group's first input by 0).
 */
export class NmMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly n: number;
  readonly m: number;
  /** ⌈cols / m⌉. */
  readonly groups: number;
  /** Slots per row: groups·n. */
  readonly slots: number;
  /** Bits per in-group index: 2 for m ≤ 4, else 4. */
  readonly indexBits: 2 | 4;
  /** Bytes of one row's packed indices: ⌈slots·indexBits / 8⌉. */
  readonly indexRowBytes: number;
  /** [rows × slots]: slot j of a row is a weight of group ⌊j / n⌋ (kept ones in column order). */
  readonly values: Float32Array;
  /**
   * [rows × indexRowBytes]: slot j's in-group index is bits j·indexBits … of its row's bytes,
   * from the low bits of each byte up (see {@link NmMatrix.indexAt}).
   */
  readonly indices: Uint8Array;

  /**
   * @param parts the shape, the pattern and the two arrays, kept as given (not copied; treat
   *   as read-only)
   * @throws {RangeError} when the pattern is not 1 ≤ n ≤ m ≤ 16, an array has the wrong length
   *   or an index points past its group (the last group may be shorter than m)
   */
  constructor(
    parts: {
      rows: number;
      cols: number;
      n: number;
      m: number;
      values: Float32Array;
      indices: Uint8Array;
    },
  ) {
    const { rows, cols, n, m, values, indices } = parts;
    checkShape("an N:M matrix", rows, cols);
    checkPattern({ n, m });
    this.rows = rows;
    this.cols = cols;
    this.n = n;
    this.m = m;
    this.groups = Math.ceil(cols / m);
    this.slots = this.groups * n;
    this.indexBits = m <= 4 ? 2 : 4;
    this.indexRowBytes = Math.ceil(this.slots * this.indexBits / 8);
    checkLength("an N:M matrix", "values", values.length, rows * this.slots, "rows × slots");
    checkLength(
      "an N:M matrix",
      "indices",
      indices.length,
      rows * this.indexRowBytes,
      "rows × indexRowBytes",
    );
    this.values = values;
    this.indices = indices;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < this.slots; j++) {
        const first = Math.floor(j / n) * m, width = Math.min(m, cols - first);
        if (this.indexAt(r, j) >= width) {
          throw new RangeError(
            `Cannot build an N:M matrix as an in-group index must be below its group's width ${width}: row ${r}, slot ${j} has ${
              this.indexAt(r, j)
            }`,
          );
        }
      }
    }
  }

  /**
   * A masked weight N:M-compressed (kept: mask ≠ 0, every entry without a mask; value
   * data ⊙ mask).
   *
   * @param weight W, its mask and shape, e.g. `layer.weight`
   * @param pattern N kept of every M consecutive inputs, 1 ≤ N ≤ M ≤ 16
   * @returns the N:M matrix
   * @throws {RangeError} when a group of the mask keeps more than N, for a bad pattern, or when
   *   the shape and the arrays disagree
   * @example
   * ```ts
   * import { assertEquals } from "../../../tests/assert.ts";
   * import { NmMatrix } from "./mod.ts";
   * const nm = NmMatrix.fromMasked({
   *   data: new Float32Array([1, 2, 3, 4, 5, 6]),
   *   mask: new Float32Array([0, 1, 1, 0, 0, 1]),
   *   shape: [1, 6],
   * }, { n: 2, m: 4 });
   * assertEquals([...nm.values], [2, 3, 6, 0]); // groups 0…3 and 4…5, the second keeping one
   * assertEquals(nm.indexAt(0, 2), 1);
   * ```
   */
  static fromMasked(weight: MaskedWeight, pattern: NmPattern): NmMatrix {
    const [rows, cols] = checkWeight("an N:M matrix", weight);
    checkPattern(pattern);
    const { n, m } = pattern;
    const { data, mask } = weight;
    const groups = Math.ceil(cols / m), slots = groups * n, bits = m <= 4 ? 2 : 4;
    const rowBytes = Math.ceil(slots * bits / 8);
    const values = new Float32Array(rows * slots), indices = new Uint8Array(rows * rowBytes);
    for (let r = 0; r < rows; r++) {
      for (let g = 0; g < groups; g++) {
        const first = g * m, end = Math.min(cols, first + m);
        let j = g * n;
        for (let c = first; c < end; c++) {
          const i = r * cols + c;
          if (mask && mask[i] === 0) continue;
          if (j === (g + 1) * n) {
            throw new RangeError(
              `Cannot store the mask as ${n}:${m} as every group of ${m} inputs must keep at most ${n}: row ${r}, inputs ${first}…${
                end - 1
              } keep ${keptIn(mask, i - (c - first), end - first)}`,
            );
          }
          values[r * slots + j] = mask ? data[i] * mask[i] : data[i];
          const bit = j * bits;
          indices[r * rowBytes + (bit >> 3)] |= (c - first) << (bit & 7);
          j++;
        }
      }
    }
    return new NmMatrix({ rows, cols, n, m, values, indices });
  }

  /** The in-group index of slot `slot` of row `row`. */
  indexAt(row: number, slot: number): number {
    const bit = slot * this.indexBits;
    const byte = this.indices[row * this.indexRowBytes + (bit >> 3)];
    return (byte >> (bit & 7)) & ((1 << this.indexBits) - 1);
  }

  /** Bytes of the values (4 per slot, spare slots included). */
  get valueBytes(): number {
    return this.values.byteLength;
  }

  /** Bytes of the packed in-group indices. */
  get indexBytes(): number {
    return this.indices.byteLength;
  }

  /** Bytes of the whole format, values and indices. */
  get bytes(): number {
    return this.valueBytes + this.indexBytes;
  }
}

/**
 * y = x·Wᵀ (+ bias) with W dense, on the WebAssembly SIMD kernels: batch 1 runs a GEMV over W
 * row-major (four rows per pass over x), larger batches a 4-row × 8-column register-blocked GEMM
 * over x transposed.
 *
 * @param w the weight
 * @param x [batch × cols] row-major
 * @param options `batch`, `bias`, `out` ({@link CpuMatmulOptions})
 * @returns y, [batch × rows] row-major (`out` when given)
 * @throws {RangeError} when x, bias or out do not fit the shape
 * @example
 * ```ts
 * import { assertEquals } from "../../../tests/assert.ts";
 * import { DenseMatrix, denseMatmul } from "./mod.ts";
 * const w = new DenseMatrix({ rows: 2, cols: 2, data: new Float32Array([1, 2, 3, 4]) });
 * assertEquals([...denseMatmul(w, new Float32Array([1, 1]))], [3, 7]);
 * ```
 */
export function denseMatmul(
  w: DenseMatrix,
  x: Float32Array,
  options: CpuMatmulOptions = {},
): Float32Array {
  const call = prepare("dense", w, x, options);
  if (call.batch === 0 || w.rows === 0) return call.out;
  const e = engine();
  const [data] = place(e, w, [w.data]);
  return execute(e, w, x, call, {
    single: (xp, yp) => e.kernels.dense_gemv(data, xp, yp, w.rows, w.cols),
    batched: (xt, yt, bp) => e.kernels.dense_gemm(data, xt, yt, w.rows, w.cols, bp),
  });
}

/**
 * y = x·Wᵀ (+ bias) with W in CSR, on the WebAssembly SIMD kernels: batch 1 runs an SpMV (four
 * nonzeros at a time, x gathered into lanes), larger batches an SpMM over x transposed to
 * [cols × batch], each nonzero a contiguous SIMD axpy over the batch.
 *
 * @param csr the weight
 * @param x [batch × cols] row-major
 * @param options `batch`, `bias`, `out` ({@link CpuMatmulOptions})
 * @returns y, [batch × rows] row-major (`out` when given)
 * @throws {RangeError} when x, bias or out do not fit the shape
 * @example
 * ```ts
 * import { assertEquals } from "../../../tests/assert.ts";
 * import { CsrMatrix, csrMatmul } from "./mod.ts";
 * const csr = CsrMatrix.fromMasked({
 *   data: new Float32Array([1, 2, 3, 4]),
 *   mask: new Float32Array([1, 0, 0, 1]),
 *   shape: [2, 2],
 * });
 * const y = csrMatmul(csr, new Float32Array([1, 1, 2, 3]), { batch: 2 });
 * assertEquals([...y], [1, 4, 2, 12]);
 * ```
 */
export function csrMatmul(
  csr: CsrMatrix,
  x: Float32Array,
  options: CpuMatmulOptions = {},
): Float32Array {
  const call = prepare("CSR", csr, x, options);
  if (call.batch === 0 || csr.rows === 0) return call.out;
  const e = engine();
  const [rp, ci, v] = place(e, csr, [csr.rowPtr, csr.colIdx, csr.values]);
  return execute(e, csr, x, call, {
    single: (xp, yp) => e.kernels.csr_spmv(rp, ci, v, xp, yp, csr.rows),
    batched: (xt, yt, bp) => e.kernels.csr_spmm(rp, ci, v, xt, yt, csr.rows, bp),
  });
}

/**
 * y = x·Wᵀ (+ bias) with W N:M-compressed, on the WebAssembly SIMD kernels: batch 1 gathers
 * four slots' x entries into lanes, larger batches run over x transposed to [cols × batch],
 * each slot a contiguous SIMD axpy over the batch.
 *
 * @param nm the weight
 * @param x [batch × cols] row-major
 * @param options `batch`, `bias`, `out` ({@link CpuMatmulOptions})
 * @returns y, [batch × rows] row-major (`out` when given)
 * @throws {RangeError} when x, bias or out do not fit the shape
 * @example
 * ```ts
 * import { assertEquals } from "../../../tests/assert.ts";
 * import { NmMatrix, nmMatmul } from "./mod.ts";
 * const nm = NmMatrix.fromMasked({
 *   data: new Float32Array([1, 2, 3, 4]),
 *   mask: new Float32Array([0, 1, 1, 0]),
 *   shape: [1, 4],
 * }, { n: 2, m: 4 });
 * const y = nmMatmul(nm, new Float32Array([1, 1, 1, 1]), { bias: new Float32Array([0.5]) });
 * assertEquals([...y], [5.5]);
 * ```
 */
export function nmMatmul(
  nm: NmMatrix,
  x: Float32Array,
  options: CpuMatmulOptions = {},
): Float32Array {
  const call = prepare("N:M", nm, x, options);
  if (call.batch === 0 || nm.rows === 0) return call.out;
  const e = engine();
  const [v, ix] = place(e, nm, [nm.values, nm.indices]);
  const { rows, n, m, slots, indexRowBytes: irb, indexBits: bits } = nm;
  return execute(e, nm, x, call, {
    single: (xp, yp) => e.kernels.nm_gemv(v, ix, xp, yp, rows, n, m, slots, irb, bits),
    batched: (xt, yt, bp) => e.kernels.nm_gemm(v, ix, xt, yt, rows, n, m, slots, irb, bits, bp),
  });
}

/**
 * The plain product y = x·Wᵀ (+ bias) of a CSR matrix: each output a float64 sum over its
 * row's entries in stored order. The reference {@link csrMatmul} is tested against.
 *
 * @param csr the weight
 * @param x [batch × cols] row-major
 * @param options `batch`, `bias`, `out` ({@link CpuMatmulOptions})
 * @returns y, [batch × rows] row-major
 * @throws {RangeError} when x, bias or out do not fit the shape
 * @example
 * ```ts
 * import { assertEquals } from "../../../tests/assert.ts";
 * import { CsrMatrix, csrMatmulReference } from "./mod.ts";
 * const csr = CsrMatrix.fromMasked({ data: new Float32Array([2, 3]), mask: null, shape: [1, 2] });
 * assertEquals([...csrMatmulReference(csr, new Float32Array([1, 1]))], [5]);
 * ```
 */
export function csrMatmulReference(
  csr: CsrMatrix,
  x: Float32Array,
  options: CpuMatmulOptions = {},
): Float32Array {
  const { batch, out } = prepare("CSR", csr, x, options);
  const { rows, cols, rowPtr, colIdx, values } = csr;
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      for (let p = rowPtr[r]; p < rowPtr[r + 1]; p++) sum += values[p] * x[b * cols + colIdx[p]];
      out[b * rows + r] = sum + (options.bias ? options.bias[r] : 0);
    }
  }
  return out;
}

/**
 * The plain product y = x·Wᵀ (+ bias) of an N:M matrix: each output a float64 sum over its
 * row's groups and each group's slots (column = group·m + index). The reference
 * {@link nmMatmul} is tested against.
 *
 * @param nm the weight
 * @param x [batch × cols] row-major
 * @param options `batch`, `bias`, `out` ({@link CpuMatmulOptions})
 * @returns y, [batch × rows] row-major
 * @throws {RangeError} when x, bias or out do not fit the shape
 * @example
 * ```ts
 * import { assertEquals } from "../../../tests/assert.ts";
 * import { NmMatrix, nmMatmulReference } from "./mod.ts";
 * const nm = NmMatrix.fromMasked({
 *   data: new Float32Array([1, 2, 3, 4]),
 *   mask: new Float32Array([1, 0, 0, 1]),
 *   shape: [1, 4],
 * }, { n: 2, m: 4 });
 * assertEquals([...nmMatmulReference(nm, new Float32Array([1, 1, 1, 1]))], [5]);
 * ```
 */
export function nmMatmulReference(
  nm: NmMatrix,
  x: Float32Array,
  options: CpuMatmulOptions = {},
): Float32Array {
  const { batch, out } = prepare("N:M", nm, x, options);
  const { rows, cols, n, m, groups, slots, values } = nm;
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      for (let g = 0; g < groups; g++) {
        for (let t = 0; t < n; t++) {
          const j = g * n + t;
          sum += values[r * slots + j] * x[b * cols + g * m + nm.indexAt(r, j)];
        }
      }
      out[b * rows + r] = sum + (options.bias ? options.bias[r] : 0);
    }
  }
  return out;
}

/** Bytes of WebAssembly memory the kernels hold now (0 before the first call). */
export function sparseCpuMemoryBytes(): number {
  return loaded ? loaded.memory.buffer.byteLength : 0;
}

function checkShape(what: string, rows: number, cols: number): void {
  for (const [name, value] of [["rows", rows], ["cols", cols]] as const) {
    if (!Number.isInteger(value) || value < 0) {
      throw new RangeError(
        `Cannot build ${what} as '${name}' must be a non-negative integer: got ${value}`,
      );
    }
  }
}

function checkLength(what: string, name: string, got: number, want: number, rule: string) {
  if (got !== want) {
    throw new RangeError(
      `Cannot build ${what} as '${name}' must hold ${rule} = ${want} values: got ${got}`,
    );
  }
}

function checkWeight(what: string, weight: MaskedWeight): [number, number] {
  if (weight.shape.length !== 2) {
    throw new RangeError(
      `Cannot build ${what} as the weight must be a matrix [rows, cols]: got shape [${weight.shape}]`,
    );
  }
  const [rows, cols] = weight.shape;
  checkShape(what, rows, cols);
  checkLength(what, "data", weight.data.length, rows * cols, "rows × cols");
  if (weight.mask) checkLength(what, "mask", weight.mask.length, rows * cols, "rows × cols");
  return [rows, cols];
}

function checkPattern({ n, m }: NmPattern): void {
  if (!Number.isInteger(n) || !Number.isInteger(m) || n < 1 || n > m || m > NM_MAX_M) {
    throw new RangeError(
      `Cannot use ${n}:${m} as N:M needs integers 1 ≤ N ≤ M ≤ ${NM_MAX_M}: got N = ${n}, M = ${m}`,
    );
  }
}

function keptIn(mask: Float32Array | null, start: number, width: number): number {
  let kept = 0;
  for (let i = start; i < start + width; i++) if (!mask || mask[i] !== 0) kept++;
  return kept;
}

interface Call {
  batch: number;
  out: Float32Array;
  bias: Float32Array | null;
}

function prepare(
  format: string,
  w: { rows: number; cols: number },
  x: Float32Array,
  options: CpuMatmulOptions,
): Call {
  const what = `Cannot multiply by the ${w.rows} × ${w.cols} ${format} matrix`;
  const batch = options.batch ?? (w.cols > 0 ? x.length / w.cols : 0);
  if (!Number.isInteger(batch) || batch < 0) {
    throw new RangeError(
      options.batch === undefined
        ? `${what} as x must hold a whole number of rows of ${w.cols}: got ${x.length} values`
        : `${what} as 'batch' must be a non-negative integer: got ${batch}`,
    );
  }
  if (x.length !== batch * w.cols) {
    throw new RangeError(
      `${what} as x must hold batch × cols = ${batch * w.cols} values: got ${x.length}`,
    );
  }
  const bias = options.bias ?? null;
  if (bias && bias.length !== w.rows) {
    throw new RangeError(`${what} as 'bias' must hold ${w.rows} values: got ${bias.length}`);
  }
  const out = options.out ?? new Float32Array(batch * w.rows);
  if (out.length !== batch * w.rows) {
    throw new RangeError(
      `${what} as 'out' must hold batch × rows = ${batch * w.rows} values: got ${out.length}`,
    );
  }
  return { batch, out, bias };
}

type Kernel = (...pointers: number[]) => void;

interface Kernels {
  dense_gemv: Kernel;
  dense_gemm: Kernel;
  csr_spmv: Kernel;
  csr_spmm: Kernel;
  nm_gemv: Kernel;
  nm_gemm: Kernel;
}

interface Engine {
  memory: WebAssembly.Memory;
  kernels: Kernels;
  /** Bytes of memory the resident matrices take, from offset 0; scratch starts after them. */
  top: number;
  /** Bumped when the resident set starts over, invalidating every placement before it. */
  epoch: number;
}

let loaded: Engine | null = null;

/** Where each resident matrix's arrays are (byte offsets), and in which epoch. */
const placements = new WeakMap<object, { epoch: number; offsets: number[] }>();

function engine(): Engine {
  if (loaded) return loaded;
  const bytes = Uint8Array.from(atob(SPARSE_CPU_WASM_BASE64), (ch) => ch.charCodeAt(0));
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  loaded = {
    memory: instance.exports.memory as WebAssembly.Memory,
    kernels: instance.exports as unknown as Kernels,
    top: 0,
    epoch: 0,
  };
  return loaded;
}

function align16(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}

/** Makes the memory at least `bytes` long. */
function reserve(e: Engine, bytes: number): void {
  const have = e.memory.buffer.byteLength;
  if (have >= bytes) return;
  try {
    e.memory.grow(Math.ceil((bytes - have) / 65536));
  } catch (error) {
    throw new RangeError(
      `Cannot run the sparse CPU kernels as they need ${bytes} bytes of WebAssembly memory: ${
        (error as Error).message
      }`,
    );
  }
}

/** The byte offsets of a matrix's arrays in the kernels' memory, copying them on first use. */
function place(e: Engine, matrix: object, arrays: ArrayBufferView[]): number[] {
  const known = placements.get(matrix);
  if (known && known.epoch === e.epoch) return known.offsets;
  const size = arrays.reduce((sum, a) => sum + align16(a.byteLength), 0);
  if (e.top > 0 && e.top + size > RESIDENT_LIMIT) {
    e.top = 0;
    e.epoch++;
  }
  reserve(e, e.top + size);
  const offsets: number[] = [];
  const bytes = new Uint8Array(e.memory.buffer);
  for (const a of arrays) {
    offsets.push(e.top);
    bytes.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), e.top);
    e.top += align16(a.byteLength);
  }
  placements.set(matrix, { epoch: e.epoch, offsets });
  return offsets;
}

interface Dispatch {
  /** x [cols] at byte offset xp, y [rows] at yp. */
  single: (xp: number, yp: number) => void;
  /** xt [cols × bp] at xt, yt [rows × bp] at yt. */
  batched: (xt: number, yt: number, bp: number) => void;
}

// Copies x into the scratch region after the resident matrices (transposed and padded for a
// batch above 1), runs the kernel, and copies y out, adding the bias: O(batch·(rows + cols)).
function execute(
  e: Engine,
  w: { rows: number; cols: number },
  x: Float32Array,
  call: Call,
  dispatch: Dispatch,
): Float32Array {
  const { rows, cols } = w, { batch, out, bias } = call;
  const xp = align16(e.top);
  if (batch === 1) {
    const yp = align16(xp + cols * 4);
    reserve(e, yp + rows * 4);
    const f = new Float32Array(e.memory.buffer);
    f.set(x, xp >> 2);
    dispatch.single(xp, yp);
    const y = f.subarray(yp >> 2, (yp >> 2) + rows);
    if (bias) { for (let o = 0; o < rows; o++) out[o] = y[o] + bias[o]; }
    else out.set(y);
    return out;
  }
  const bp = Math.ceil(batch / 4) * 4;
  const yp = xp + cols * bp * 4;
  reserve(e, yp + rows * bp * 4);
  const f = new Float32Array(e.memory.buffer);
  const xt = xp >> 2, yt = yp >> 2;
  for (let b = 0; b < batch; b++) {
    const src = b * cols;
    for (let k = 0; k < cols; k++) f[xt + k * bp + b] = x[src + k];
  }
  for (let b = batch; b < bp; b++) for (let k = 0; k < cols; k++) f[xt + k * bp + b] = 0;
  dispatch.batched(xp, yp, bp);
  for (let b = 0; b < batch; b++) {
    const dst = b * rows;
    if (bias) { for (let o = 0; o < rows; o++) out[dst + o] = f[yt + o * bp + b] + bias[o]; }
    else for (let o = 0; o < rows; o++) out[dst + o] = f[yt + o * bp + b];
  }
  return out;
}
