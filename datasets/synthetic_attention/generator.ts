// Seeded synthetic q, k, v with the structure real attention heads show: a few sink tokens that
// every query attends to, a local diagonal, and a handful of strong far tokens that only some
// queries seek out. README.md beside this file documents every parameter.
import type { AttentionInputs, AttentionShape } from "../../methods/attention/interface.ts";
import { mulberry32, normal } from "../../bench/random.ts";

/** Generator settings; the defaults are the ones the tasks use. Logits are after the 1/√d scale. */
export interface StructureOptions {
  /** Number of sink tokens at the start of the sequence. */
  sinks: number;
  /** Logit every query gives each sink key. */
  sinkLogit: number;
  /** Logit of the positional component on the diagonal (it decays with distance, RoPE-like). */
  localLogit: number;
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
  sinkLogit: 8,
  localLogit: 7,
  farTokens: 8,
  farQueryFraction: 0.25,
  farLogit: 10,
  noise: 0.8,
};

/**
 * Generates q, k, v (heads × seq × headDim) for `shape` from `seed`.
 *
 * Every head is built the same way with its own random directions (c = d^¼, so that a
 * component a·c in q and b·c in k adds a·b to the scaled logit q·k/√d):
 * - noise: q, k ~ N(0, noise²) per component; v ~ N(0, 1).
 * - local diagonal: the first d/2 dimensions carry a rotary-style position code
 *   (cos, sin of pos·ω_f, ω_f = 10000^(-f/(d/4))), sized so the diagonal logit is localLogit;
 *   q_i·k_j shrinks as |i - j| grows.
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
  const freqs = Math.max(1, Math.floor(d / 4));
  const local = Math.sqrt(options.localLogit * Math.sqrt(d) / freqs);
  const farScale = Math.sqrt(options.farLogit) * c;
  for (let h = 0; h < heads; h++) {
    const base = h * seq * d;
    const sink = unitDirection();
    const far = Array.from({ length: options.farTokens }, () => ({
      pos: Math.floor(uniform() * seq),
      dir: unitDirection(),
    }));
    for (let t = 0; t < seq; t++) {
      const off = base + t * d;
      for (let i = 0; i < d; i++) {
        q[off + i] = options.noise * gauss() + c * sink[i];
        k[off + i] = options.noise * gauss();
        v[off + i] = gauss();
      }
      for (let f = 0; f < freqs; f++) {
        const angle = t * Math.pow(10000, -f / freqs);
        q[off + 2 * f] += local * Math.cos(angle);
        q[off + 2 * f + 1] += local * Math.sin(angle);
        k[off + 2 * f] += local * Math.cos(angle);
        k[off + 2 * f + 1] += local * Math.sin(angle);
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
  return { q, k, v };
}

/** The pinned sample whose sha256 the task's metadata records: a change to the generator shows. */
export const PINNED_SAMPLE = { shape: { heads: 2, seq: 64, headDim: 16, causal: true }, seed: 0 };
