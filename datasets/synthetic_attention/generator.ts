// Seeded synthetic q, k, v with the structure real attention heads show: a few sink tokens that
// every query attends to, a local diagonal, and a handful of strong far tokens that only some
// queries seek out. README.md beside this file documents every parameter.
import {
  type AttentionInputs,
  type AttentionShape,
  queryCount,
} from "../../bench/families/attention/mod.ts";
import { hashString, mulberry32, normal } from "../../bench/random.ts";
import { median } from "../../bench/stats.ts";

/**
 * How key norms come out: `planted` leaves them as the structure makes them (sinks and far keys
 * carry an extra component, so their norms are large and ‖k‖ alone finds them); `randomized`
 * redraws every key's norm independently of its role, so the structure is in the directions only.
 */
export const KEY_NORMS = ["randomized", "planted"] as const;
export type KeyNorms = typeof KEY_NORMS[number];

/**
 * A task's `keyNorms` parameter value as a {@link KeyNorms}.
 *
 * @throws {RangeError} naming the accepted values when `text` is not one of them
 */
export function keyNormsOf(text: string): KeyNorms {
  const found = KEY_NORMS.find((k) => k === text);
  if (!found) {
    throw new RangeError(`'keyNorms' must be one of ${KEY_NORMS.join(", ")}: got '${text}'`);
  }
  return found;
}

/**
 * The generator seed of a case: the task's seed and every case parameter but `keyNorms`, so a
 * case's planted and randomized inputs share their structure (every direction, sink and far
 * position) and differ only in their key norms: the two compare pairwise.
 *
 * @param taskSeed the run's seed for the task (TaskContext.taskSeed)
 * @param caseParams the case's parameters (any `keyNorms` among them is ignored)
 */
export function structureSeed(
  taskSeed: number,
  caseParams: Readonly<Record<string, number | boolean | string | undefined>>,
): number {
  const key = Object.keys(caseParams).filter((k) => k !== "keyNorms" && caseParams[k] !== undefined)
    .sort().map((k) => `${k}=${caseParams[k]}`).join(",");
  return hashString(key, taskSeed);
}

/** The `keyNorms` parameter the synthetic attention tasks declare. */
export const KEY_NORMS_PARAM: {
  type: "enum";
  description: string;
  values: string[];
  default: string;
  sweep: string[];
} = {
  type: "enum",
  description:
    "key norms: randomized (each key's norm drawn independently of whether it is a sink or far token, so ‖k‖ says nothing about importance) or planted (sinks and far keys have large norms, as the structure makes them)",
  values: [...KEY_NORMS],
  default: "randomized",
  sweep: [...KEY_NORMS],
};

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
  /** Whether key norms are left as planted or redrawn independently of the structure. */
  keyNorms: KeyNorms;
  /** With `randomized` norms: the standard deviation of log ‖k‖ around the head's median norm. */
  keyNormSpread: number;
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
  keyNorms: "randomized",
  keyNormSpread: 0.2,
};

/** The seed of the norm draws: a stream apart, so `planted` inputs are the same with or without. */
const KEY_NORM_SEED = 0x6b6e6f72;

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
 * - key norms (`keyNorms`): `planted` leaves them as the above makes them, so sinks and far keys
 *   have larger norms than the rest and ‖k‖ alone ranks them first. `randomized` (the default)
 *   then redraws every key's L2 norm as m·exp(σ·z − σ²/2), m the head's median key norm, σ =
 *   keyNormSpread, z ~ N(0, 1) from a separate stream (seed ^ 0x6b6e6f72), independently of the
 *   key's role; so that sinks and far keys keep their logits, the queries' sink and far components
 *   are scaled up by the norm those keys lost (their mean planted norm over m).
 */
export function generateAttentionInputs(
  shape: AttentionShape,
  seed: number,
  options: StructureOptions = DEFAULT_STRUCTURE,
): AttentionInputs {
  const { heads, seq, headDim: d } = shape;
  const uniform = mulberry32(seed);
  const gauss = normal(uniform);
  const normGauss = normal(mulberry32((seed ^ KEY_NORM_SEED) >>> 0));
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
    // Which far key each query seeks (-1: none), for the norm compensation of `randomized`.
    const seeks = new Int32Array(seq).fill(-1);
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
        const index = Math.floor(uniform() * far.length);
        const token = far[index];
        if (shape.causal && token.pos > t) continue;
        seeks[t] = index;
        const off = base + t * d;
        for (let i = 0; i < d; i++) q[off + i] += farScale * token.dir[i];
      }
    }
    if (options.keyNorms === "randomized") {
      randomizeKeyNorms({ q, k, base, seq, d, gauss: normGauss, spread: options.keyNormSpread }, {
        sink: options.sinks > 0
          ? { dir: sink, scale: c, count: Math.min(options.sinks, seq) }
          : null,
        far: far.map((f) => ({ ...f, scale: farScale })),
        seeks,
      });
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

/**
 * Redraws the key norms of one head independently of the planted structure, and scales the
 * queries' planted components by what their keys lost, so sink and far logits keep their sizes
 * (each key's logits now vary by its own random factor, as every other key's do).
 */
function randomizeKeyNorms(
  head: {
    q: Float32Array;
    k: Float32Array;
    base: number;
    seq: number;
    d: number;
    gauss: () => number;
    spread: number;
  },
  planted: {
    sink: { dir: number[]; scale: number; count: number } | null;
    far: { pos: number; dir: number[]; scale: number }[];
    seeks: Int32Array;
  },
): void {
  const { q, k, base, seq, d, gauss, spread } = head;
  const norms = Array.from({ length: seq }, (_, t) => {
    let s = 0;
    for (let i = 0; i < d; i++) s += k[base + t * d + i] ** 2;
    return Math.sqrt(s);
  });
  // The median is an ordinary key's norm: sinks and far keys are too few to move it.
  const m = median(norms);
  const addToQuery = (t: number, dir: number[], amount: number) => {
    const off = base + t * d;
    for (let i = 0; i < d; i++) q[off + i] += amount * dir[i];
  };
  if (planted.sink) {
    const { dir, scale, count } = planted.sink;
    let lost = 0;
    for (let t = 0; t < count; t++) lost += norms[t] / m / count;
    for (let t = 0; t < seq; t++) addToQuery(t, dir, (lost - 1) * scale);
  }
  for (let t = 0; t < seq; t++) {
    const index = planted.seeks[t];
    if (index < 0) continue;
    const token = planted.far[index];
    addToQuery(t, token.dir, (norms[token.pos] / m - 1) * token.scale);
  }
  for (let t = 0; t < seq; t++) {
    const target = m * Math.exp(spread * gauss() - (spread * spread) / 2);
    const factor = target / norms[t];
    const off = base + t * d;
    for (let i = 0; i < d; i++) k[off + i] *= factor;
  }
}

/** The pinned sample whose sha256 the task's metadata records: a change to the generator shows. */
export const PINNED_SAMPLE = { shape: { heads: 2, seq: 64, headDim: 16, causal: true }, seed: 0 };
