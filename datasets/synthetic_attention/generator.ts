// Seeded synthetic q, k, v with the structure real attention heads show: a few sink tokens that
// every query attends to, a local diagonal, and a handful of strong far tokens that only some
// queries seek out. README.md beside this file documents every parameter.
import {
  type AttentionInputs,
  type AttentionShape,
  queryCount,
} from "../../bench/families/attention/mod.ts";
import { mulberry32, normal } from "../../bench/random.ts";

/** Generator settings; the defaults are the ones the tasks use. Logits are after the 1/√d scale. */
export interface StructureOptions {
  /** Number of sink tokens at the start of the sequence. */
  sinks: number;
  /** Logit every query gives each sink key. */
  sinkLogit: number;
  /** Logit of the local component on the diagonal; it decays as localDecay^|i - j|. */
  localLogit: number;
  /** Per-token correlation of the slowly drifting context vector behind the local diagonal. */
  localDecay: number;
  /** Number of "far" keys carrying a private direction. */
  farTokens: number;
  /** Fraction of queries that seek one of the far keys. */
  farQueryFraction: number;
  /** Logit a seeking query gives its far key. */
  farLogit: number;
  /** Standard deviation of the isotropic noise in q and k (v is always N(0, 1)). */
  noise: number;
}

export const DEFAULT_STRUCTURE: StructureOptions = {
  sinks: 4,
  sinkLogit: 6,
  localLogit: 8,
  localDecay: 0.97,
  farTokens: 8,
  farQueryFraction: 0.25,
  farLogit: 8,
  noise: 0.8,
};

/**
 * Generates q, k, v (heads × seq × headDim) for `shape` from `seed`.
 *
 * Every head is built the same way with its own random directions (c = d^¼, so that a
 * component a·c in q and b·c in k adds a·b to the scaled logit q·k/√d):
 * - noise: q, k ~ N(0, noise²) per component; v ~ N(0, 1).
 * - local diagonal: a context vector x_t drifts along the sequence as an AR(1) process,
 *   x_t = ρ·x_{t-1} + √(1-ρ²)·ξ_t with ρ = localDecay and ξ_t ~ N(0, I/d), so x_i·x_j ≈ ρ^|i-j|;
 *   q_t and k_t both add √localLogit·c·x_t, giving a logit of about localLogit·ρ^|i-j|.
 * - sinks: a unit direction s per head; every query adds c·s, keys 0..sinks-1 add
 *   sinkLogit·c·s, so sinks draw mass from every row.
 * - far tokens: farTokens key positions drawn uniformly, each with a unit direction u; its key
 *   adds √farLogit·c·u, and a farQueryFraction of queries (not earlier than the key when causal)
 *   add √farLogit·c·u of one of them.
 */
export function generateAttentionInputs(
  shape: AttentionShape,
  seed: number,
  options: StructureOptions = DEFAULT_STRUCTURE,
): AttentionInputs {
  const { heads, seq, headDim: d } = shape;
  const uniform = mulberry32(seed);
  const gauss = normal(uniform);
  const n = heads * seq * d;
  const q = new Float32Array(n);
  const k = new Float32Array(n);
  const v = new Float32Array(n);
  const unitDirection = () => {
    const u = Array.from({ length: d }, gauss);
    const norm = Math.hypot(...u);
    return u.map((x) => x / norm);
  };
  const c = Math.pow(d, 0.25);
  const local = Math.sqrt(options.localLogit) * c;
  const drift = Math.sqrt(1 - options.localDecay ** 2);
  const farScale = Math.sqrt(options.farLogit) * c;
  for (let h = 0; h < heads; h++) {
    const base = h * seq * d;
    const sink = unitDirection();
    const far = Array.from({ length: options.farTokens }, () => ({
      pos: Math.floor(uniform() * seq),
      dir: unitDirection(),
    }));
    let context = unitDirection();
    for (let t = 0; t < seq; t++) {
      const off = base + t * d;
      for (let i = 0; i < d; i++) {
        q[off + i] = options.noise * gauss() + c * sink[i];
        k[off + i] = options.noise * gauss();
        v[off + i] = gauss();
      }
      if (t > 0) {
        context = context.map((x) => options.localDecay * x + (drift * gauss()) / Math.sqrt(d));
      }
      for (let i = 0; i < d; i++) {
        q[off + i] += local * context[i];
        k[off + i] += local * context[i];
      }
      if (t < options.sinks) {
        for (let i = 0; i < d; i++) k[off + i] += options.sinkLogit * c * sink[i];
      }
    }
    for (const token of far) {
      const off = base + token.pos * d;
      for (let i = 0; i < d; i++) k[off + i] += farScale * token.dir[i];
    }
    if (far.length > 0) {
      for (let t = 0; t < seq; t++) {
        if (uniform() >= options.farQueryFraction) continue;
        const token = far[Math.floor(uniform() * far.length)];
        if (shape.causal && token.pos > t) continue;
        const off = base + t * d;
        for (let i = 0; i < d; i++) q[off + i] += farScale * token.dir[i];
      }
    }
  }
  // Decoding: the queries are the last positions' rows, against the whole KV cache.
  const queries = queryCount(shape);
  if (queries === seq) return { q, k, v };
  const qLast = new Float32Array(heads * queries * d);
  for (let h = 0; h < heads; h++) {
    qLast.set(q.subarray((h * seq + seq - queries) * d, (h + 1) * seq * d), h * queries * d);
  }
  return { q: qLast, k, v };
}

/** The pinned sample whose sha256 the task's metadata records: a change to the generator shows. */
export const PINNED_SAMPLE = { shape: { heads: 2, seq: 64, headDim: 16, causal: true }, seed: 0 };
