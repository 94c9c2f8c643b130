// CoSpaDi (2025): each layer's weight as a sparse coefficient matrix times a dense dictionary,
// learned by K-SVD on the calibration-whitened weights so the layer's outputs, not its weights,
// are matched. In our [out × in] layout W ≈ left·right: right [k × in] holds k dictionary atoms
// (input-space directions), left [out × k] s coefficients per output unit (the paper's
// column-sparse coefficient matrix, transposed), so output units live in a union of subspaces.
import {
  COMPRESSION_PARAM,
  definePruningMethod,
  factorizeLayers,
  inputWhitening,
  type LayerFactors,
  type LayerToFactorize,
  parseCompression,
  truncatedSvd,
  unwhitenRows,
  whitenRows,
} from "../../bench/families/pruning/mod.ts";
import { mulberry32, normal } from "../../bench/random.ts";

/** A layer's dictionary size: `atoms` (k) rows of the dictionary, `nonzeros` (s) per output. */
export interface DictionarySize {
  atoms: number;
  nonzeros: number;
}

/**
 * The dictionary size whose stored values rows·s + k·cols come nearest `budget` with
 * k/s ≈ `ratio`: over every k, s = round(k/ratio) clamped to [1, min(k, cols)]; ties to the
 * smaller k.
 *
 * @param rows the layer's outputs
 * @param cols its inputs
 * @param budget values the factors may store, e.g. (1 − compression)·rows·cols
 * @param ratio atoms per nonzero coefficient, k/s (the paper's and COMPOT's choice is 2)
 * @returns k and s
 * @example
 * ```ts
 * import { dictionarySize } from "./cospadi.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 * // 300 × 784 at 30%: 300·88 + 176·784 = 164,384 of 235,200 stored (69.9%).
 * assertEquals(dictionarySize(300, 784, 0.7 * 300 * 784, 2), { atoms: 176, nonzeros: 88 });
 * ```
 */
export function dictionarySize(
  rows: number,
  cols: number,
  budget: number,
  ratio: number,
): DictionarySize {
  let best = { atoms: 1, nonzeros: 1 }, bestGap = Infinity;
  for (let atoms = 1; atoms * cols <= budget + cols; atoms++) {
    const nonzeros = Math.min(Math.max(Math.round(atoms / ratio), 1), atoms, cols);
    const gap = Math.abs(rows * nonzeros + atoms * cols - budget);
    if (gap < bestGap) {
      best = { atoms, nonzeros };
      bestGap = gap;
    }
  }
  return best;
}

/** What {@link ksvd} learns. */
export interface KsvdOptions {
  /** Dictionary atoms k. */
  atoms: number;
  /** Nonzero coefficients per signal s (OMP's step count). */
  nonzeros: number;
  /** Alternations of dictionary update and sparse coding after the first coding. */
  iterations: number;
  /**
   * Alternating rank-1 steps per atom update (atom ← Eᵀc/‖Eᵀc‖, then c ← E·atom), from the atom
   * and coefficients as they are (default 2; the exact K-SVD update is their limit).
   */
  powerSteps?: number;
}

/** A learned sparse representation: signals ≈ codes · dictionary. */
export interface KsvdResult {
  /** Unit-norm atoms as rows, [atoms × cols]. */
  dictionary: Float64Array;
  /** Coefficients, [rows × atoms], at most `nonzeros` per row. */
  codes: Float64Array;
  /**
   * ‖signals − codes·dictionary‖²_F / ‖signals‖²_F after the first sparse coding (index 0) and
   * after each iteration: never increasing.
   */
  errors: number[];
}

/** The seed of the random atoms added when k exceeds the rank of the signals. */
const EXTRA_ATOM_SEED = 1;

/**
 * K-SVD dictionary learning (Aharon, Elad & Bruckstein, 2006) for `rows` signals of length
 * `cols` (the rows of `signals`): the dictionary starts as the signals' top-k right singular
 * vectors (seeded Gaussian unit atoms past their rank); each signal is coded by batch OMP with
 * s atoms (kept only if it lowers that signal's error, so no step raises the total); then every
 * atom in turn is refit with its coefficients to the residual of the signals that use it (a
 * rank-1 approximation by alternating steps, or replaced by the worst-coded signal's normalized
 * residual when unused), and the signals are coded again. Deterministic.
 *
 * @param signals row-major [rows × cols]
 * @param rows signals
 * @param cols their length
 * @param options atoms, nonzeros, iterations
 * @returns the dictionary, the codes and the relative error after each iteration
 * @throws {RangeError} for sizes that do not fit
 * @example
 * ```ts
 * import { ksvd } from "./cospadi.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 * // Four 2-d signals on two directions: two atoms with one coefficient each fit them exactly.
 * const { errors } = ksvd(Float64Array.of(1, 0, 2, 0, 0, 3, 0, -1), 4, 2, {
 *   atoms: 2, nonzeros: 1, iterations: 1,
 * });
 * assertEquals(errors.map((e) => Math.round(e * 1e12)), [0, 0]);
 * ```
 */
export function ksvd(
  signals: Float64Array,
  rows: number,
  cols: number,
  options: KsvdOptions,
): KsvdResult {
  const { atoms, nonzeros, iterations } = options;
  const powerSteps = options.powerSteps ?? 2;
  checkKsvd(signals, rows, cols, options, powerSteps);
  // Every atom K-SVD makes is a combination of the signals (or of the initial singular vectors),
  // so it lives in their row space: learn in its coordinates, Y = (U·Σ)·Vᵀ, which keeps every
  // inner product and shrinks the signal length from cols to rank(Y) ≤ min(rows, cols).
  const svd = truncatedSvd(signals, rows, cols);
  const dim = svd.rank;
  const reduced = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < dim; j++) reduced[r * dim + j] = svd.u[r * dim + j] * svd.s[j];
  }
  const dictionary = initialDictionary(atoms, dim);
  const code: Codes = {
    index: new Int32Array(rows * nonzeros),
    value: new Float64Array(rows * nonzeros),
    count: new Int32Array(rows),
    nonzeros,
  };
  const residual = reduced.slice();
  let total = 0;
  for (let i = 0; i < signals.length; i++) total += signals[i] * signals[i];
  const relative = () => total > 0 ? squaredNorm(residual) / total : 0;
  sparseCode(reduced, residual, dictionary, code, rows, dim, atoms, true);
  const errors = [relative()];
  for (let t = 0; t < iterations; t++) {
    updateDictionary(residual, dictionary, code, rows, dim, atoms, powerSteps);
    sparseCode(reduced, residual, dictionary, code, rows, dim, atoms, false);
    errors.push(relative());
  }
  const codes = new Float64Array(rows * atoms);
  for (let i = 0; i < rows; i++) {
    for (let t = 0; t < code.count[i]; t++) {
      codes[i * atoms + code.index[i * nonzeros + t]] = code.value[i * nonzeros + t];
    }
  }
  // Back to the signals' coordinates: D = D̂·Vᵀ.
  const full = new Float64Array(atoms * cols);
  for (let j = 0; j < atoms; j++) {
    for (let t = 0; t < dim; t++) {
      const w = dictionary[j * dim + t];
      if (w === 0) continue;
      for (let c = 0; c < cols; c++) full[j * cols + c] += w * svd.vt[t * cols + c];
    }
  }
  return { dictionary: full, codes, errors };
}

/** Each signal's support (atom indices) and coefficients, `nonzeros` slots per signal. */
interface Codes {
  index: Int32Array;
  value: Float64Array;
  count: Int32Array;
  nonzeros: number;
}

function checkKsvd(
  signals: Float64Array,
  rows: number,
  cols: number,
  options: KsvdOptions,
  powerSteps: number,
): void {
  const { atoms, nonzeros, iterations } = options;
  if (signals.length !== rows * cols) {
    throw new RangeError(
      `Cannot learn a dictionary as the signals must hold rows × cols = ${rows} × ${cols} entries: got ${signals.length}`,
    );
  }
  if (!Number.isInteger(atoms) || atoms < 1) {
    throw new RangeError(
      `Cannot learn a dictionary as 'atoms' must be a positive integer: current value is ${atoms}`,
    );
  }
  if (!Number.isInteger(nonzeros) || nonzeros < 1 || nonzeros > Math.min(atoms, cols)) {
    throw new RangeError(
      `Cannot learn a dictionary as 'nonzeros' must be an integer in [1, min(atoms, cols) = ${
        Math.min(atoms, cols)
      }]: current value is ${nonzeros}`,
    );
  }
  for (const [name, value] of [["iterations", iterations], ["powerSteps", powerSteps]] as const) {
    if (!Number.isInteger(value) || value < 0) {
      throw new RangeError(
        `Cannot learn a dictionary as '${name}' must be an integer ≥ 0: current value is ${value}`,
      );
    }
  }
}

/**
 * The initial dictionary in the row space's coordinates: its first `dim` atoms are the top
 * right singular vectors (unit vectors there), the rest seeded Gaussian unit atoms.
 */
function initialDictionary(atoms: number, dim: number): Float64Array {
  const dictionary = new Float64Array(atoms * dim);
  const fromSvd = Math.min(atoms, dim);
  for (let j = 0; j < fromSvd; j++) dictionary[j * dim + j] = 1;
  const z = normal(mulberry32(EXTRA_ATOM_SEED));
  for (let j = fromSvd; j < atoms; j++) {
    const atom = dictionary.subarray(j * dim, (j + 1) * dim);
    for (let c = 0; c < dim; c++) atom[c] = z();
    normalize(atom);
  }
  return dictionary;
}

/**
 * Codes every signal by batch OMP over the dictionary's Gram D·Dᵀ and correlations Y·Dᵀ; a new
 * code replaces the old one only where it lowers that signal's residual (always on the first
 * call), and `residual` is kept equal to signals − codes·dictionary.
 */
function sparseCode(
  signals: Float64Array,
  residual: Float64Array,
  dictionary: Float64Array,
  code: Codes,
  rows: number,
  cols: number,
  atoms: number,
  first: boolean,
): void {
  const s = code.nonzeros;
  const gram = new Float64Array(atoms * atoms);
  for (let i = 0; i < atoms; i++) {
    for (let j = 0; j <= i; j++) {
      const g = dot(dictionary, i * cols, dictionary, j * cols, cols);
      gram[i * atoms + j] = g;
      gram[j * atoms + i] = g;
    }
  }
  const alpha0 = new Float64Array(atoms), candidate = new Float64Array(cols);
  const omp = new Omp(atoms, s);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < atoms; j++) alpha0[j] = dot(signals, r * cols, dictionary, j * cols, cols);
    const count = omp.run(alpha0, gram);
    for (let c = 0; c < cols; c++) candidate[c] = signals[r * cols + c];
    for (let t = 0; t < count; t++) {
      const g = omp.gamma[t], o = omp.support[t] * cols;
      for (let c = 0; c < cols; c++) candidate[c] -= g * dictionary[o + c];
    }
    const before = first ? Infinity : squaredNorm(residual.subarray(r * cols, (r + 1) * cols));
    if (!(squaredNorm(candidate) < before)) continue;
    residual.set(candidate, r * cols);
    code.count[r] = count;
    for (let t = 0; t < count; t++) {
      code.index[r * s + t] = omp.support[t];
      code.value[r * s + t] = omp.gamma[t];
    }
  }
}

/**
 * Batch OMP (Rubinstein, Zibulevsky & Elad, 2008) of one signal from its correlations α⁰ = D·y
 * and the dictionary Gram G = D·Dᵀ (unit atoms), in its Cholesky form: the support's atoms are
 * orthonormalized as they come (q_t), h_t = D·q_t is kept, so the residual's correlations are
 * α = α⁰ − Σ_t z_t·h_t with z_t = q_t·y, the Cholesky factor's new row is h_t[new] and the
 * least-squares coefficients γ = L⁻ᵀ·z are solved once at the end. The atom of largest |α| (the
 * first of equal ones) joins the support; one (numerically) in its span is skipped.
 */
class Omp {
  readonly support: Int32Array;
  readonly gamma: Float64Array;
  readonly #atoms: number;
  readonly #steps: number;
  readonly #lower: Float64Array;
  readonly #h: Float64Array;
  readonly #z: Float64Array;
  readonly #alpha: Float64Array;
  readonly #state: Uint8Array;

  constructor(atoms: number, steps: number) {
    this.#atoms = atoms;
    this.#steps = steps;
    this.support = new Int32Array(steps);
    this.gamma = new Float64Array(steps);
    this.#lower = new Float64Array(steps * steps);
    this.#h = new Float64Array(steps * atoms);
    this.#z = new Float64Array(steps);
    this.#alpha = new Float64Array(atoms);
    this.#state = new Uint8Array(atoms);
  }

  /** Codes one signal; returns the support size (support and gamma hold it). */
  run(alpha0: Float64Array, gram: Float64Array): number {
    return ompRun(
      alpha0,
      gram,
      this.#atoms,
      this.#steps,
      this.#lower,
      this.#h,
      this.#z,
      this.#alpha,
      this.#state,
      this.support,
      this.gamma,
    );
  }
}

// One plain function over typed arrays, so the engine compiles the hot loops once.
function ompRun(
  alpha0: Float64Array,
  gram: Float64Array,
  k: number,
  s: number,
  lower: Float64Array,
  h: Float64Array,
  z: Float64Array,
  alpha: Float64Array,
  state: Uint8Array,
  support: Int32Array,
  gamma: Float64Array,
): number {
  alpha.set(alpha0);
  state.fill(0);
  let count = 0;
  while (count < s) {
    let best = -1, bestAbs = 0;
    for (let j = 0; j < k; j++) {
      const a = Math.abs(alpha[j]);
      if (a > bestAbs && state[j] === 0) {
        best = j;
        bestAbs = a;
      }
    }
    if (best < 0) break;
    // L[count, t] = q_t·d_best = h_t[best].
    const row = count * s;
    let norm = 0;
    for (let t = 0; t < count; t++) {
      const v = h[t * k + best];
      lower[row + t] = v;
      norm += v * v;
    }
    const pivot = gram[best * k + best] - norm;
    if (!(pivot > 1e-10 * gram[best * k + best])) {
      state[best] = 2;
      continue;
    }
    const diag = Math.sqrt(pivot);
    lower[row + count] = diag;
    state[best] = 1;
    support[count] = best;
    let zt = alpha0[best];
    for (let t = 0; t < count; t++) zt -= lower[row + t] * z[t];
    zt /= diag;
    z[count] = zt;
    // h_new = (G[best, :] − Σ_t L[count, t]·h_t) / L[count, count]; α −= z_new·h_new.
    const hn = count * k, gb = best * k;
    for (let j = 0; j < k; j++) h[hn + j] = gram[gb + j];
    for (let t = 0; t < count; t++) {
      const w = lower[row + t], ht = t * k;
      if (w === 0) continue;
      for (let j = 0; j < k; j++) h[hn + j] -= w * h[ht + j];
    }
    const scale = 1 / diag;
    for (let j = 0; j < k; j++) {
      const v = h[hn + j] * scale;
      h[hn + j] = v;
      alpha[j] -= zt * v;
    }
    count++;
  }
  // γ = L⁻ᵀ·z.
  for (let t = count - 1; t >= 0; t--) {
    let v = z[t];
    for (let u = t + 1; u < count; u++) v -= lower[u * s + t] * gamma[u];
    gamma[t] = v / lower[t * s + t];
  }
  return count;
}

/**
 * K-SVD's dictionary stage: for each atom j in order, E = residual of its users + c·d_jᵀ, and
 * (d_j, c) ← a rank-1 fit of E by alternating steps from (d_j, c); an unused atom becomes the
 * normalized residual of the worst-coded signal not already taken this stage.
 */
function updateDictionary(
  residual: Float64Array,
  dictionary: Float64Array,
  code: Codes,
  rows: number,
  cols: number,
  atoms: number,
  powerSteps: number,
): void {
  const s = code.nonzeros;
  // Users of each atom as slots r·s + t, grouped by atom.
  const start = new Int32Array(atoms + 1);
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t < code.count[r]; t++) start[code.index[r * s + t] + 1]++;
  }
  for (let j = 0; j < atoms; j++) start[j + 1] += start[j];
  const slots = new Int32Array(start[atoms]), fill = start.slice(0, atoms);
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t < code.count[r]; t++) slots[fill[code.index[r * s + t]]++] = r * s + t;
  }
  const taken = new Uint8Array(rows);
  const d0 = new Float64Array(cols), d = new Float64Array(cols), g = new Float64Array(cols);
  for (let j = 0; j < atoms; j++) {
    const atom = dictionary.subarray(j * cols, (j + 1) * cols);
    const users = slots.subarray(start[j], start[j + 1]), m = users.length;
    if (m === 0) {
      replaceUnused(atom, residual, rows, cols, taken);
      continue;
    }
    d0.set(atom);
    d.set(atom);
    const c0 = Float64Array.from(users, (slot) => code.value[slot]), c = c0.slice();
    for (let step = 0; step < powerSteps; step++) {
      // g = Eᵀ·c = Σ_u c_u·residual_u + (c⁰·c)·d⁰.
      let c0c = 0;
      for (let u = 0; u < m; u++) c0c += c0[u] * c[u];
      for (let x = 0; x < cols; x++) g[x] = c0c * d0[x];
      for (let u = 0; u < m; u++) {
        const o = Math.floor(users[u] / s) * cols, w = c[u];
        for (let x = 0; x < cols; x++) g[x] += w * residual[o + x];
      }
      const norm = Math.sqrt(squaredNorm(g));
      if (!(norm > 0)) break;
      for (let x = 0; x < cols; x++) d[x] = g[x] / norm;
      // c = E·d = residual_u·d + c⁰_u·(d⁰·d).
      const d0d = dot(d0, 0, d, 0, cols);
      for (let u = 0; u < m; u++) {
        c[u] = dot(residual, Math.floor(users[u] / s) * cols, d, 0, cols) + c0[u] * d0d;
      }
    }
    for (let u = 0; u < m; u++) {
      const o = Math.floor(users[u] / s) * cols;
      for (let x = 0; x < cols; x++) residual[o + x] += c0[u] * d0[x] - c[u] * d[x];
      code.value[users[u]] = c[u];
    }
    atom.set(d);
  }
}

/** An unused atom becomes the normalized residual of the worst-coded signal not yet taken. */
function replaceUnused(
  atom: Float64Array,
  residual: Float64Array,
  rows: number,
  cols: number,
  taken: Uint8Array,
): void {
  let worst = -1, worstNorm = 0;
  for (let r = 0; r < rows; r++) {
    if (taken[r]) continue;
    const n = squaredNorm(residual.subarray(r * cols, (r + 1) * cols));
    if (n > worstNorm) {
      worst = r;
      worstNorm = n;
    }
  }
  if (worst < 0) return;
  taken[worst] = 1;
  atom.set(residual.subarray(worst * cols, (worst + 1) * cols));
  normalize(atom);
}

function dot(a: Float64Array, ao: number, b: Float64Array, bo: number, n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += a[ao + i] * b[bo + i];
  return sum;
}

function squaredNorm(a: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * a[i];
  return sum;
}

function normalize(a: Float64Array): void {
  const norm = Math.sqrt(squaredNorm(a));
  if (norm > 0) { for (let i = 0; i < a.length; i++) a[i] /= norm; }
}

/** How {@link cospadiLayer} factorizes. */
export interface CospadiOptions {
  /** Atoms per nonzero coefficient, k/s. */
  ratio: number;
  /** K-SVD iterations. */
  iterations: number;
  /** Share of the Gram's mean diagonal added to its diagonal before the Cholesky factor. */
  damping: number;
}

/** One layer's CoSpaDi factors and how the dictionary learning went. */
export interface CospadiLayerResult extends LayerFactors {
  /** Nonzero coefficients per output unit, s. */
  nonzeros: number;
  /** Relative whitened error after the first coding and after each K-SVD iteration. */
  errors: number[];
}

/**
 * One layer's CoSpaDi: k and s from {@link dictionarySize}; W̃ = W·L (L the lower Cholesky factor
 * of G + damping·mean(diag G)·I, G = Σ xᵀx, so ‖(W − Ŵ)·Xᵀ‖ = ‖(W̃ − Ŵ̃)‖ up to the damping);
 * K-SVD ({@link ksvd}) learns W̃ ≈ C·D̃ with s nonzeros per row of C; then left = C and
 * right = D̃·L⁻¹ (the dictionary unwhitened). Index data: one atom index per stored coefficient,
 * 1 byte when k ≤ 256, else 2.
 *
 * @param layer the weights and the calibration Gram
 * @param options k/s, iterations and damping
 * @returns the factors (rank = k), s and the K-SVD error history
 * @throws {RangeError} when the damped Gram is not positive definite
 */
export function cospadiLayer(layer: LayerToFactorize, options: CospadiOptions): CospadiLayerResult {
  const { rows, cols } = layer;
  const { atoms, nonzeros } = dictionarySize(rows, cols, layer.budget, options.ratio);
  const lower = inputWhitening(layer.gram, cols, options.damping);
  const whitened = whitenRows(layer.weights, rows, lower);
  const learned = ksvd(whitened, rows, cols, { atoms, nonzeros, iterations: options.iterations });
  const left = Float32Array.from(learned.codes);
  const right = Float32Array.from(unwhitenRows(learned.dictionary, atoms, lower));
  let stored = 0;
  for (const v of left) if (v !== 0) stored++;
  return {
    left,
    right,
    rank: atoms,
    indexBytes: stored * (atoms <= 256 ? 1 : 2),
    nonzeros,
    errors: learned.errors,
  };
}

export const cospadiPruning = definePruningMethod({
  id: "cospadi",
  family: "pruning",
  title: "CoSpaDi (calibration-guided sparse dictionary learning)",
  fidelity: {
    level: "simplified",
    reason:
      "CoSpaDi's whitened K-SVD dictionary; k/s fixed at 2 (unchecked against the paper), approximate atom updates, no dictionary sharing",
  },
  description:
    "Replaces each prunable weight W [out × in] by a sparse coefficient matrix [out × k] (s nonzeros per output unit) times a dense dictionary [k × in] of k atoms, so each output unit's weights are a combination of its own s atoms (a union of subspaces, where truncated SVD gives every unit the same r). Learned per layer by K-SVD (batch OMP with s atoms, then a rank-1 refit of each atom with its coefficients) on the whitened weights W·L, L the Cholesky factor of the layer's damped calibration input Gram, so the layer's outputs on the calibration inputs are matched; the dictionary is unwhitened by L⁻¹. k/s = 2 and out·s + k·in nearest the target share of out·in. Layers in forward order, each from inputs recomputed through the layers factorized before it.",
  paper: {
    title: "CoSpaDi: Compressing LLMs via Calibration-Guided Sparse Dictionary Learning",
    year: 2025,
    link: "https://arxiv.org/abs/2509.22075",
  },
  version: "1.0.0",
  parameters: {
    compression: COMPRESSION_PARAM,
    iterations: {
      type: "int",
      description:
        "K-SVD iterations (each a dictionary update then a sparse coding) after the first coding over the SVD-initialized dictionary",
      default: 10,
      min: 0,
      max: 200,
      sweep: [10],
    },
    ratio: {
      type: "number",
      description:
        "atoms per nonzero coefficient k/s; k and s then follow from the parameter budget out·s + k·in",
      default: 2,
      min: 1,
      max: 16,
      sweep: [2],
    },
    damping: {
      type: "number",
      description:
        "share of the input Gram's mean diagonal added to its diagonal before the Cholesky factor (inputs the calibration never excites make the Gram singular)",
      default: 0.01,
      min: 0,
      max: 1,
      sweep: [0.01],
    },
  },
  capabilities: { requires: [], features: ["mlp", "gpt"] },
  notes:
    "Follows the paper's per-layer, data-aware formulation: min ‖X·(W − D·C)‖ over a dense dictionary D and column-sparse C, turned into plain dictionary learning on the whitened weights and solved with K-SVD. Layout: the paper's weight is [in × out] with y = x·W, each column (an output unit) a combination of s atoms of an [in × k] dictionary; ours is its transpose, so left = Cᵀ [out × k] with s nonzeros per row and right = Dᵀ [k × in]. Whitening: G = Σ xᵀx over the layer's calibration inputs, G' = G + damping·mean(diag G)·I (damping 0.01, so never-lit MNIST pixels need no special case), G' = L·Lᵀ (Cholesky), K-SVD on W·L, right = D̃·L⁻¹; the paper's Gram orthonormalization, with a relative damping always added. Sizes: k/s = 2, from the authors' ablation of the ratio (reported best at 2 in their follow-up COMPOT, which reuses it; the reference text here holds only the abstract, so the ratio was not checked against the CoSpaDi paper's own table); stored values out·s + k·in with k chosen so they come nearest the layer's budget, s = round(k/2), budget = round((1 − compression)·the parameters of this and the earlier layers) − what the earlier layers' factors store (svd-lowrank's rule, so the two compare at equal stored parameters); index data (not counted as parameters, reported as indexBytes) one atom index per coefficient, 1 byte for k ≤ 256, else 2. Initialization: the top-k right singular vectors of W·L (seeded Gaussian atoms, seed 1, past its rank), the initialization the authors favour over random. Iterations: 10 (parameter), each a dictionary update then a sparse coding; the paper's count was not checked. Departures: (1) atom update by 2 alternating rank-1 steps from the current atom and coefficients (approximate K-SVD; the exact update is the rank-1 SVD of the restricted residual); (2) a signal's new OMP code is kept only where it lowers that signal's residual, so the whitened error never increases; (3) an unused atom is replaced by the worst-coded signal's normalized residual; (4) no cross-layer dictionary sharing (the paper's per-group variant) and no quantization of the coefficients; (5) layers in forward order, each one's Gram from inputs recomputed through the layers factorized before it; every Linear, the sotu-lm's output head included. Float64 throughout, factors rounded to float32, the weight set to their float32 product. Metrics: atoms_mean, nonzeros_mean (s), coefficient_density (stored coefficients / (out·k), all layers), whitened_error_initial_mean (after the first coding: SVD atoms, s of k kept per row) and whitened_error_final_mean (after K-SVD), output_error_mean and output_error_max (tr(Δ·G·Δᵀ)/tr(W·G·Wᵀ) per layer on its calibration inputs, undamped), index_bytes.",
  impl: {
    target: (params) => parseCompression(params.compression),
    prune(model, calibration, target, params) {
      const start = performance.now();
      const layers: CospadiLayerResult[] = [];
      const { factors, outputErrors } = factorizeLayers(model, calibration, {
        share: 1 - target.compression,
        factorize: (layer) => {
          const result = cospadiLayer(layer, {
            ratio: params.ratio,
            iterations: params.iterations,
            damping: params.damping,
          });
          layers.push(result);
          return result;
        },
      });
      const pruneMs = performance.now() - start;
      let coefficients = 0, slots = 0;
      for (const f of factors) {
        for (const v of f.left) if (v !== 0) coefficients++;
        slots += f.left.length;
      }
      return Promise.resolve({
        pruneMs,
        factors,
        metrics: {
          atoms_mean: mean(layers.map((l) => l.rank)),
          nonzeros_mean: mean(layers.map((l) => l.nonzeros)),
          coefficient_density: slots > 0 ? coefficients / slots : 0,
          whitened_error_initial_mean: mean(layers.map((l) => l.errors[0])),
          whitened_error_final_mean: mean(layers.map((l) => l.errors[l.errors.length - 1])),
          output_error_mean: mean(outputErrors),
          output_error_max: Math.max(...outputErrors),
          index_bytes: layers.reduce((s, l) => s + l.indexBytes, 0),
        },
      });
    },
  },
});

function mean(values: readonly number[]): number {
  return values.length > 0 ? values.reduce((s, v) => s + v, 0) / values.length : 0;
}
