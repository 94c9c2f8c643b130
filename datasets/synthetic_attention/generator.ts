// Seeded synthetic q, k, v with the structure real attention heads show: a few sink tokens that
// every query attends to, a local diagonal, and a handful of strong far tokens that only some
// queries seek out. Each head's structure is a model's (model seed), each prompt an input (input
// seed). README.md beside this file documents every parameter.
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
 * The two seeds behind one generated input. `model` fixes every head's structure (its sink
 * direction, far-token directions and the strengths of its sinks, locality and far tokens), as a
 * trained model's weights do; `input` fixes everything a prompt changes (noise, values, the
 * drifting context behind locality, where the far tokens sit and which queries seek them, the key
 * norms). Inputs of one model and other input seeds are held-out prompts to the same heads.
 */
export interface AttentionSeeds {
  model: number;
  input: number;
}

/**
 * The model seed of a task: one model per task and run seed, shared by all its cases (every
 * shape, causal or not, planted or randomized norms): head h of any case is the same head.
 *
 * @param taskSeed the run's seed for the task (TaskContext.taskSeed)
 */
export function modelSeed(taskSeed: number): number {
  return hashString("synthetic-attention model", taskSeed);
}

/** A case's parameters but `keyNorms`, in a fixed order: what names a case's input. */
function caseKey(caseParams: Readonly<Record<string, number | boolean | string | undefined>>) {
  return Object.keys(caseParams).filter((k) => k !== "keyNorms" && caseParams[k] !== undefined)
    .sort().map((k) => `${k}=${caseParams[k]}`).join(",");
}

/**
 * The input seed of a case: the task's seed and every case parameter but `keyNorms`, so a
 * case's planted and randomized inputs share their structure (every direction, sink and far
 * position) and differ only in their key norms: the two compare pairwise.
 *
 * @param taskSeed the run's seed for the task (TaskContext.taskSeed)
 * @param caseParams the case's parameters (any `keyNorms` among them is ignored)
 */
export function inputSeed(
  taskSeed: number,
  caseParams: Readonly<Record<string, number | boolean | string | undefined>>,
): number {
  return hashString(caseKey(caseParams), taskSeed);
}

/**
 * The input seed of the case's `index`-th held-out calibration input: a namespace of its own
 * (so never the evaluated input's seed, nor its check input's), one list per case.
 *
 * @param taskSeed the run's seed for the task
 * @param caseParams the case's parameters (`keyNorms` ignored, as by {@link inputSeed})
 * @param index which calibration input, from 0
 */
export function calibrationSeed(
  taskSeed: number,
  caseParams: Readonly<Record<string, number | boolean | string | undefined>>,
  index: number,
): number {
  return hashString(`calibration ${index}|${caseKey(caseParams)}`, taskSeed);
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
  /**
   * How much heads of one model differ: each head's sinkLogit, localLogit and farLogit are the
   * defaults times exp(σ·z − σ²/2), σ = headSpread, z ~ N(0, 1) from the model seed.
   */
  headSpread: number;
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
  headSpread: 0.2,
};

/** One head's fixed structure: what the model seed decides. */
export interface HeadModel {
  /** Unit direction every query shares and the sink keys carry. */
  sink: number[];
  /** Unit directions of the far tokens (their positions are the input's). */
  far: number[][];
  sinkLogit: number;
  localLogit: number;
  farLogit: number;
}

/**
 * Head `head` of the model `model`: drawn from its own stream (the model seed and the head's
 * index), so it is the same head in every input, shape and head count.
 */
export function headModel(
  headDim: number,
  at: { model: number; head: number },
  options: StructureOptions = DEFAULT_STRUCTURE,
): HeadModel {
  const gauss = normal(mulberry32(hashString(`head ${at.head}`, at.model)));
  const unitDirection = () => {
    const u = Array.from({ length: headDim }, gauss);
    const norm = Math.hypot(...u);
    return u.map((x) => x / norm);
  };
  const sigma = options.headSpread;
  const strength = (logit: number) => logit * Math.exp(sigma * gauss() - (sigma * sigma) / 2);
  return {
    sink: unitDirection(),
    far: Array.from({ length: options.farTokens }, unitDirection),
    sinkLogit: strength(options.sinkLogit),
    localLogit: strength(options.localLogit),
    farLogit: strength(options.farLogit),
  };
}

/**
 * Generates q, k, v (heads × seq × headDim) for `shape`: head h is head h of the model
 * `seeds.model` ({@link headModel}), given the prompt `seeds.input`.
 *
 * Every head is built the same way (c = d^¼, so that a component a·c in q and b·c in k adds a·b
 * to the scaled logit q·k/√d), with the head's own directions and strengths (sinkLogit_h,
 * localLogit_h, farLogit_h: the options' values times the head's log-normal factor):
 * - noise: q, k ~ N(0, noise²) per component; v ~ N(0, 1).
 * - local diagonal: a context vector x_t drifts along the sequence as an AR(1) process,
 *   x_t = ρ·x_{t-1} + √(1-ρ²)·ξ_t with ρ = localDecay and ξ_t ~ N(0, I/d), so x_i·x_j ≈ ρ^|i-j|;
 *   q_t and k_t both add √localLogit_h·c·x_t, giving a logit of about localLogit_h·ρ^|i-j|. The
 *   context is the input's (it is what the prompt says); its strength is the head's.
 * - sinks: the head's unit direction s; every query adds c·s, keys 0..sinks-1 add
 *   sinkLogit_h·c·s, so sinks draw mass from every row.
 * - far tokens: the head's farTokens directions u, each placed at a key position the input draws
 *   uniformly; its key adds √farLogit_h·c·u, and a farQueryFraction of queries (drawn by the
 *   input; not earlier than the key when causal) add √farLogit_h·c·u of one of them.
 * - key norms (`keyNorms`): `planted` leaves them as the above makes them, so sinks and far keys
 *   have larger norms than the rest and ‖k‖ alone ranks them first. `randomized` (the default)
 *   then redraws every key's L2 norm as m·exp(σ·z − σ²/2), m the head's median key norm, σ =
 *   keyNormSpread, z ~ N(0, 1) from a stream of its own (so `planted` inputs are the same with or
 *   without), independently of the key's role; so that sinks and far keys keep their logits, the
 *   queries' sink and far components are scaled up by the norm those keys lost (their mean
 *   planted norm over m).
 *
 * Each head draws from streams of its own (model: seed and head; input: seed and head), so a
 * head's q, k and v do not depend on how many heads the shape has.
 */
export function generateAttentionInputs(
  shape: AttentionShape,
  seeds: AttentionSeeds,
  options: StructureOptions = DEFAULT_STRUCTURE,
): AttentionInputs {
  const { heads, seq, headDim: d } = shape;
  const n = heads * seq * d;
  const q = new Float32Array(n);
  const k = new Float32Array(n);
  const v = new Float32Array(n);
  const c = Math.pow(d, 0.25);
  const drift = Math.sqrt(1 - options.localDecay ** 2);
  for (let h = 0; h < heads; h++) {
    const head = headModel(d, { model: seeds.model, head: h }, options);
    const uniform = mulberry32(hashString(`input head ${h}`, seeds.input));
    const gauss = normal(uniform);
    const unitDirection = () => {
      const u = Array.from({ length: d }, gauss);
      const norm = Math.hypot(...u);
      return u.map((x) => x / norm);
    };
    const local = Math.sqrt(head.localLogit) * c;
    const farScale = Math.sqrt(head.farLogit) * c;
    const base = h * seq * d;
    const far = head.far.map((dir) => ({ pos: Math.floor(uniform() * seq), dir }));
    // Which far key each query seeks (-1: none), for the norm compensation of `randomized`.
    const seeks = new Int32Array(seq).fill(-1);
    let context = unitDirection();
    for (let t = 0; t < seq; t++) {
      const off = base + t * d;
      for (let i = 0; i < d; i++) {
        q[off + i] = options.noise * gauss() + c * head.sink[i];
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
        for (let i = 0; i < d; i++) k[off + i] += head.sinkLogit * c * head.sink[i];
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
      const normGauss = normal(mulberry32(hashString(`key norms head ${h}`, seeds.input)));
      randomizeKeyNorms({ q, k, base, seq, d, gauss: normGauss, spread: options.keyNormSpread }, {
        sink: options.sinks > 0
          ? { dir: head.sink, scale: c, count: Math.min(options.sinks, seq) }
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
export const PINNED_SAMPLE: { shape: AttentionShape; seeds: AttentionSeeds } = {
  shape: { heads: 2, seq: 64, headDim: 16, causal: true },
  seeds: { model: 0, input: 0 },
};
