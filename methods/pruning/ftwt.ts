// FTWT (Fire Together Wire Together): per-input gating of hidden units by small mask predictors,
// trained self-supervised on the frozen model's calibration activations, run through the
// engine's Linear kernels (ftwt_kernel.ts) at a threshold that realizes the asked skipped share.
import {
  type Calibration,
  definePruningMethod,
  executedMacShare,
  type PrunableModel,
  zeroMacCounters,
} from "../../bench/families/pruning/mod.ts";
import { gemm } from "../../bench/nn/gemm.ts";
import { Linear } from "../../bench/nn/layers.ts";
import { AdamW } from "../../bench/nn/optim.ts";
import { initUniform } from "../../bench/nn/param.ts";
import { hashString, mulberry32 } from "../../bench/random.ts";
import { FtwtKernel, type FtwtPredictor } from "./ftwt_kernel.ts";

/** The skipped shares a cell may ask for. */
export const FTWT_SPARSITIES = ["30%", "50%", "70%"] as const;
/** A predictor's products per input, as a share of its layer's dense ones, by default. */
export const PREDICTOR_SHARE = 1 / 16;
/** Calibration rows a predictor trains on at most (every k-th row when there are more). */
export const MAX_TRAIN_ROWS = 8192;
const BATCH = 128;
const LR = 3e-3;
/** |measured − asked| on the calibration rows below which the threshold is kept. */
const SHARE_SLACK = 0.005;
const MAX_MEASURES = 4;

/** The elementwise activations FTWT recognises between two Linear layers (both keep 0 at 0). */
export type Activation = "relu" | "gelu";

const GELU_C = Math.sqrt(2 / Math.PI);

/** The activation, as the engine computes it (bench/nn/layers.ts). */
export function activate(kind: Activation, v: number): number {
  if (kind === "relu") return v > 0 ? v : 0;
  return v - v / (Math.exp(2 * GELU_C * (v + 0.044715 * v * v * v)) + 1);
}

/**
 * FTWT's self-supervised targets (the paper's heat-map mass criterion): for each row, the
 * smallest set of units, largest |activation| first, that holds `mass` of the row's total
 * |activation|; a row with no activation at all has none.
 *
 * @param acts post-activation outputs [rows × units]
 * @param units units per row
 * @param mass share of the row's total to cover, in (0, 1]
 * @returns 1 for the row's top-k units, 0 elsewhere
 * @throws {RangeError} when `mass` is outside (0, 1]
 * @example
 * ```ts
 * import { massLabels } from "./ftwt.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 * // 5 + 3 = 8 of 10 ≥ 0.8: two units.
 * assertEquals([...massLabels(Float32Array.of(3, 0, 5, 2), 4, 0.8)], [1, 0, 1, 0]);
 * ```
 */
export function massLabels(acts: Float32Array, units: number, mass: number): Uint8Array {
  if (!(mass > 0 && mass <= 1)) {
    throw new RangeError(
      `Cannot label units as 'mass' must be in (0, 1]: current value is ${mass}`,
    );
  }
  const rows = acts.length / units, labels = new Uint8Array(acts.length);
  const order = new Int32Array(units), mag = new Float64Array(units);
  for (let r = 0; r < rows; r++) {
    let total = 0;
    for (let u = 0; u < units; u++) {
      mag[u] = Math.abs(acts[r * units + u]);
      total += mag[u];
      order[u] = u;
    }
    if (total === 0) continue;
    order.sort((a, b) => mag[b] - mag[a] || a - b);
    let held = 0;
    for (let i = 0; i < units && held < mass * total * (1 - 1e-12); i++) {
      labels[r * units + order[i]] = 1;
      held += mag[order[i]];
    }
  }
  return labels;
}

/**
 * The predictor's hidden width for a layer: its products, hidden·(in + out), are about `share`
 * of the layer's in·out (at least 1, at most min(in, out)).
 *
 * @example
 * ```ts
 * import { predictorHidden } from "./ftwt.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 * assertEquals(predictorHidden(784, 300, 1 / 16), 14);
 * ```
 */
export function predictorHidden(inFeatures: number, outFeatures: number, share: number): number {
  const h = Math.round(share * inFeatures * outFeatures / (inFeatures + outFeatures));
  return Math.max(1, Math.min(h, inFeatures, outFeatures));
}

/** How a predictor is trained. */
export interface TrainOptions {
  hidden: number;
  epochs: number;
  seed: number;
}

/**
 * Trains a low-rank mask predictor (logits = up·(down·x) + bias) on binary targets with the
 * mean binary cross-entropy, AdamW without decay, minibatches of 128 in a seeded order.
 *
 * @param x inputs [rows × in]
 * @param labels targets [rows × out] (1: the unit is among the row's top-k)
 * @param dims the layer's in and out features and its name (for the parameters' names)
 * @param options hidden width, epochs and seed
 * @returns the predictor (threshold 0, the paper's sigmoid > 0.5) and the steps taken
 */
export function trainPredictor(
  x: Float32Array,
  labels: Uint8Array,
  dims: { in: number; out: number; name: string },
  options: TrainOptions,
): { predictor: FtwtPredictor; steps: number } {
  const n = x.length / dims.in, { hidden: h, epochs, seed } = options;
  const down = new Linear(`${dims.name}.ftwt_down`, dims.in, h, { bias: false });
  const up = new Linear(`${dims.name}.ftwt_up`, h, dims.out);
  initUniform(down.weight, 1 / Math.sqrt(dims.in), hashString(down.weight.name, seed));
  initUniform(up.weight, 1 / Math.sqrt(h), hashString(up.weight.name, seed));
  // Start from each unit's prior: logit of the share of rows where it is a target.
  for (let u = 0; u < dims.out; u++) {
    let on = 0;
    for (let r = 0; r < n; r++) on += labels[r * dims.out + u];
    const p = Math.min(Math.max(on / Math.max(n, 1), 1e-3), 1 - 1e-3);
    up.bias!.data[u] = Math.log(p / (1 - p));
  }
  const params = [...down.parameters(), ...up.parameters()];
  const opt = new AdamW(params, { lr: LR, weightDecay: 0 });
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const next = mulberry32(hashString(`${dims.name}.ftwt_order`, seed));
  const xb = new Float32Array(BATCH * dims.in);
  let steps = 0;
  for (let e = 0; e < epochs; e++) {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (let s = 0; s < n; s += BATCH) {
      const b = Math.min(BATCH, n - s);
      for (let i = 0; i < b; i++) {
        xb.set(x.subarray(order[s + i] * dims.in, (order[s + i] + 1) * dims.in), i * dims.in);
      }
      opt.zeroGrad();
      const logits = up.forward(down.forward(xb.subarray(0, b * dims.in), b), b);
      const dl = new Float32Array(logits.length), scale = 1 / logits.length;
      for (let i = 0; i < b; i++) {
        const lo = order[s + i] * dims.out;
        for (let u = 0; u < dims.out; u++) {
          const z = logits[i * dims.out + u];
          dl[i * dims.out + u] = (1 / (1 + Math.exp(-z)) - labels[lo + u]) * scale;
        }
      }
      down.backward(up.backward(dl));
      opt.step();
      steps++;
    }
  }
  return {
    predictor: {
      hidden: h,
      down: down.weight.data.slice(),
      up: up.weight.data.slice(),
      bias: up.bias!.data.slice(),
      threshold: 0,
    },
    steps,
  };
}

/** The predictor's logits [rows × out] for inputs [rows × in]. */
export function predictorLogits(
  p: FtwtPredictor,
  x: Float32Array,
  inFeatures: number,
): Float32Array {
  const rows = x.length / inFeatures, out = p.bias.length;
  const hid = new Float32Array(rows * p.hidden), logits = new Float32Array(rows * out);
  gemm({ m: rows, n: p.hidden, k: inFeatures, a: x, b: p.down, c: hid, transB: true });
  gemm({ m: rows, n: out, k: p.hidden, a: hid, b: p.up, c: logits, transB: true });
  for (let r = 0; r < rows; r++) for (let u = 0; u < out; u++) logits[r * out + u] += p.bias[u];
  return logits;
}

/** A layer's dense output x·Wᵀ + b [rows × out]. */
function denseOutput(layer: Linear, x: Float32Array): Float32Array {
  const rows = x.length / layer.inFeatures, o = layer.outFeatures;
  const z = new Float32Array(rows * o);
  gemm({
    m: rows,
    n: o,
    k: layer.inFeatures,
    a: x,
    b: layer.weight.effective(),
    c: z,
    transB: true,
  });
  if (layer.bias) {
    for (let r = 0; r < rows; r++) for (let u = 0; u < o; u++) z[r * o + u] += layer.bias.data[u];
  }
  return z;
}

/**
 * Which activation turns `z` into `a` elementwise (within float rounding), if either does.
 *
 * @example
 * ```ts
 * import { detectActivation } from "./ftwt.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 * assertEquals(detectActivation(Float32Array.of(-1, 2), Float32Array.of(0, 2)), "relu");
 * assertEquals(detectActivation(Float32Array.of(-1, 2), Float32Array.of(-1, 2)), null);
 * ```
 */
export function detectActivation(z: Float32Array, a: Float32Array): Activation | null {
  if (z.length !== a.length || z.length === 0) return null;
  for (const kind of ["relu", "gelu"] as const) {
    let ok = true;
    for (let i = 0; i < z.length && ok; i++) {
      const f = activate(kind, z[i]);
      ok = Math.abs(a[i] - f) <= 1e-4 * (1 + Math.abs(f));
    }
    if (ok) return kind;
  }
  return null;
}

/** Every `stride`-th input row a layer sees (at most `cap`), and the first rows of its first batch. */
function collectRows(layer: Linear, stride: number, cap: number) {
  const f = layer.inFeatures, rows = new Float32Array(cap * f);
  let seen = 0, kept = 0, first: Float32Array | null = null;
  const hook = (x: Float32Array, n: number) => {
    first ??= x.slice(0, Math.min(n, 64) * f);
    for (let r = 0; r < n; r++, seen++) {
      if (seen % stride === 0 && kept < cap) rows.set(x.subarray(r * f, (r + 1) * f), f * kept++);
    }
  };
  layer.inputHooks.push(hook);
  return {
    detach: () => void layer.inputHooks.splice(layer.inputHooks.indexOf(hook), 1),
    rows: () => rows.subarray(0, kept * f),
    first: () => first ?? new Float32Array(0),
  };
}

/** One gated layer as the threshold search sees it. */
interface Gate {
  index: number;
  layer: Linear;
  activation: Activation;
  predictor: FtwtPredictor;
  /** Calibration logits, each row sorted in decreasing order [rows × out]. */
  sorted: Float32Array;
  logits: Float32Array;
  labels: Uint8Array;
}

/** Units of row `r` whose logit is above `t`, from its decreasingly sorted logits. */
function unitsAbove(sorted: Float32Array, r: number, out: number, t: number): number {
  let lo = 0, hi = out;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[r * out + mid] > t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The skipped share of the model's dense multiply-adds the kernels would reach on the sampled
 * calibration rows at threshold `t`, from the logits on the dense model's inputs (a layer's
 * logits at inference see its gated upstream, so the measured share differs a little).
 */
function predictedSkip(
  layers: Linear[],
  gates: Map<number, Gate>,
  rows: number,
  t: number,
): number {
  let executed = 0, dense = 0;
  for (let r = 0; r < rows; r++) {
    let upstream = -1;
    for (let i = 0; i < layers.length; i++) {
      const l = layers[i], g = gates.get(i);
      const active = upstream >= 0 ? upstream : l.inFeatures;
      dense += l.inFeatures * l.outFeatures;
      if (g) {
        const k = unitsAbove(g.sorted, r, l.outFeatures, t);
        executed += g.predictor.hidden * (active + l.outFeatures) + k * active;
        upstream = k;
      } else {
        executed += active * l.outFeatures;
        upstream = -1;
      }
    }
  }
  return 1 - executed / dense;
}

/** The threshold at which {@link predictedSkip} reaches `goal` (bisection; it grows with t). */
function thresholdFor(layers: Linear[], gates: Map<number, Gate>, rows: number, goal: number) {
  let lo = Infinity, hi = -Infinity;
  for (const g of gates.values()) {
    for (const v of g.logits) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  lo -= 1;
  hi += 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (predictedSkip(layers, gates, rows, mid) < goal) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** The part of a weight name a metric uses: "blocks.0.mlp.fc.weight" → "blocks_0_mlp_fc". */
function stem(weightName: string): string {
  return weightName.replace(/\.weight$/, "").toLowerCase().replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "") || "layer";
}

/** What {@link ftwtPrune} does, beyond the kernels it installs. */
export interface FtwtResult {
  threshold: number;
  metrics: Record<string, number>;
}

/**
 * FTWT on a model: finds each Linear whose output reaches the next Linear through ReLU or GELU,
 * trains a mask predictor for it on the calibration rows of the frozen model, and installs
 * kernels (gated layers and the layers they feed) at the one logit threshold that realizes
 * `sparsity` of the prunable layers' multiply-adds on the calibration rows.
 *
 * @param model the model; its Linear layers get kernels
 * @param calibration training rows, run forward through the model
 * @param options the skipped share, the heat-map mass, epochs and seed
 * @returns the threshold and the metrics the cell publishes
 * @throws {Error} when no layer can be gated, or the share is out of reach even with every unit off
 */
export function ftwtPrune(
  model: Pick<PrunableModel, "linears">,
  calibration: Calibration,
  options: {
    sparsity: number;
    mass: number;
    epochs: number;
    seed: number;
    predictorShare?: number;
  },
): FtwtResult {
  const layers = model.linears();
  const stride = Math.max(1, Math.ceil(calibration.rows / MAX_TRAIN_ROWS));
  const cap = Math.ceil(calibration.rows / stride);
  const collectors = layers.map((l) => collectRows(l, stride, cap));
  try {
    calibration.run();
  } finally {
    for (const c of collectors) c.detach();
  }
  const sampled = collectors[0].rows().length / layers[0].inFeatures;
  const gates = new Map<number, Gate>();
  const metrics: Record<string, number> = {};
  const trainStart = performance.now();
  let steps = 0;
  for (let i = 0; i + 1 < layers.length; i++) {
    const l = layers[i], next = layers[i + 1];
    if (l.outFeatures !== next.inFeatures) continue;
    const activation = detectActivation(
      denseOutput(l, collectors[i].first()),
      collectors[i + 1].first(),
    );
    if (!activation) continue;
    const x = collectors[i].rows();
    const z = denseOutput(l, x);
    for (let k = 0; k < z.length; k++) z[k] = activate(activation, z[k]);
    const labels = massLabels(z, l.outFeatures, options.mass);
    const trained = trainPredictor(x, labels, {
      in: l.inFeatures,
      out: l.outFeatures,
      name: l.weight.name,
    }, {
      hidden: predictorHidden(
        l.inFeatures,
        l.outFeatures,
        options.predictorShare ?? PREDICTOR_SHARE,
      ),
      epochs: options.epochs,
      seed: options.seed,
    });
    steps += trained.steps;
    const logits = predictorLogits(trained.predictor, x, l.inFeatures);
    const sorted = logits.slice();
    for (let r = 0; r < sampled; r++) {
      sorted.subarray(r * l.outFeatures, (r + 1) * l.outFeatures).sort().reverse();
    }
    gates.set(i, {
      index: i,
      layer: l,
      activation,
      predictor: trained.predictor,
      sorted,
      logits,
      labels,
    });
  }
  const trainMs = performance.now() - trainStart;
  if (gates.size === 0) {
    throw new Error(
      "Cannot gate any layer: FTWT needs a Linear whose output reaches the next Linear through ReLU or GELU",
    );
  }
  const reach = predictedSkip(layers, gates, sampled, Infinity);
  if (reach < options.sparsity - 0.05) {
    throw new Error(
      `Cannot skip ${
        fmt(options.sparsity)
      } of the multiply-adds with FTWT: its gated layers and the layers they feed (${
        [...gates.values()].map((g) => g.layer.weight.name).join(", ")
      } and their successors) skip at most ${fmt(reach)} with every unit off`,
    );
  }

  const install = (t: number) => {
    const kernels = new Map<number, FtwtKernel>();
    layers.forEach((l, i) => {
      const g = gates.get(i), upstream = kernels.get(i - 1) ?? null;
      const gatedUpstream = gates.has(i - 1) ? upstream : null;
      if (!g && !gatedUpstream) return;
      const predictor = g ? { ...g.predictor, threshold: t } : null;
      const kernel = new FtwtKernel(l, { predictor, upstream: gatedUpstream });
      kernels.set(i, kernel);
      l.kernel = kernel;
    });
  };
  const measure = () => {
    zeroMacCounters(model);
    calibration.run();
    const skipped = 1 - executedMacShare(model);
    const perLayer = layers.map((l) => 1 - l.macs.executed / Math.max(1, l.macs.dense));
    zeroMacCounters(model);
    return { skipped, perLayer };
  };
  let goal = options.sparsity,
    best: { t: number; skipped: number; perLayer: number[] } | null = null;
  for (let tries = 0; tries < MAX_MEASURES; tries++) {
    const t = thresholdFor(layers, gates, sampled, Math.min(goal, reach));
    install(t);
    const m = measure();
    if (
      !best || Math.abs(m.skipped - options.sparsity) < Math.abs(best.skipped - options.sparsity)
    ) {
      best = { t, ...m };
    }
    if (Math.abs(m.skipped - options.sparsity) <= SHARE_SLACK) break;
    goal += options.sparsity - m.skipped;
  }
  install(best!.t);

  metrics.ftwt_threshold = best!.t;
  metrics.ftwt_mass = options.mass;
  metrics.skipped_share_calibration = best!.skipped;
  layers.forEach((l, i) => {
    if (l.kernel) metrics[`skipped_${stem(l.weight.name)}`] = best!.perLayer[i];
  });
  for (const g of gates.values()) {
    const s = stem(g.layer.weight.name), o = g.layer.outFeatures;
    let on = 0, labelled = 0, hit = 0;
    for (let k = 0; k < g.logits.length; k++) {
      const p = g.logits[k] > best!.t;
      on += p ? 1 : 0;
      labelled += g.labels[k];
      hit += p && g.labels[k] ? 1 : 0;
    }
    metrics[`ftwt_units_${s}`] = on / (sampled * o);
    metrics[`ftwt_topk_units_${s}`] = labelled / (sampled * o);
    metrics[`ftwt_recall_${s}`] = labelled > 0 ? hit / labelled : 1;
    metrics[`ftwt_hidden_${s}`] = g.predictor.hidden;
    metrics[`ftwt_relu_${s}`] = g.activation === "relu" ? 1 : 0;
  }
  metrics.ftwt_train_steps = steps;
  metrics.ftwt_train_rows = sampled;
  metrics.ftwt_train_ms = trainMs;
  return { threshold: best!.t, metrics };
}

function fmt(share: number): string {
  return `${(100 * share).toFixed(1)}%`;
}

export const ftwtPruning = definePruningMethod({
  id: "ftwt",
  family: "pruning",
  title: "FTWT (Fire Together Wire Together: dynamic pruning with self-supervised mask prediction)",
  fidelity: {
    level: "simplified",
    reason:
      "FTWT's mass targets and BCE-trained predictors, but a low-rank linear head, one global logit threshold and a frozen backbone",
  },
  description:
    "Per-input gating of hidden units. Each Linear whose output reaches the next Linear through ReLU or GELU gets a small mask predictor on its input (low-rank: in → hidden → out logits, hidden sized so its products are `predictorShare` of the layer's), trained with binary cross-entropy on the frozen model's calibration rows to predict the paper's targets: the smallest set of the layer's units, largest |activation| first, holding `mass` of the row's total activation. At inference each input computes its predicted units only (the others are 0), and the next layer skips the inputs that were not computed. One logit threshold over all predictors, chosen on the calibration rows, realizes `sparsity` of all prunable layers' multiply-adds (predictor products included).",
  paper: {
    title:
      "Fire Together Wire Together: A Dynamic Pruning Approach with Self-Supervised Mask Prediction",
    year: 2021,
    link: "https://arxiv.org/abs/2110.08232",
  },
  version: "1.0.0",
  parameters: {
    sparsity: {
      type: "enum",
      description:
        "share of all prunable layers' dense multiply-adds skipped per input on average (layers left dense included)",
      values: [...FTWT_SPARSITIES],
      default: "50%",
      sweep: [...FTWT_SPARSITIES],
    },
    mass: {
      type: "number",
      description:
        "heat-map mass of the training targets: a row's target units are the fewest holding this share of its total |activation|",
      default: 0.9,
      min: 0.5,
      max: 1,
      sweep: [0.9],
    },
    predictorShare: {
      type: "number",
      description:
        "a mask predictor's products per input as a share of its layer's dense ones (sets its hidden width)",
      default: PREDICTOR_SHARE,
      min: 0.001,
      max: 0.5,
      sweep: [PREDICTOR_SHARE],
    },
    epochs: {
      type: "int",
      description: "passes of predictor training over the calibration rows",
      default: 30,
      min: 1,
      max: 1000,
      sweep: [30],
    },
    seed: {
      type: "int",
      description: "seed of the predictors' initialization and batch order",
      default: 0,
      min: 0,
      max: 2 ** 31 - 1,
      sweep: [0],
    },
  },
  capabilities: { requires: [], features: ["mlp", "gpt"] },
  notes:
    "Follows the paper (CVPR 2022; its code selkerdawy/FTWT, utils/layers.py) for the self-supervised targets by heat-map mass, the decoupled predictor training with binary cross-entropy on the frozen backbone's activations, and the FLOPs count (a gated layer over the previous layer's active units). Departures: (1) the paper gates ReLU CNN filters with a 1×1-conv head on the pooled input (in → out logits); a Linear layer has no spatial axis to pool, and a full in → out head would cost as much as the layer, so the head is low-rank (in → hidden → out, no nonlinearity), hidden = round(predictorShare·in·out / (in+out)), so its products are about predictorShare (1/16 by default) of the layer's; on sotu-lm at 30% a share of 1/4 scored 1.83 bits per byte against 1.95 at 1/16 (dense 1.77, 32 calibration windows), while on the MLPs a larger head eats the budget. (2) Targets are the smallest set holding at least `mass` (the code keeps units while the cumulative share stays at or below it). (3) The code thresholds sigmoid at 0.5 and reaches a FLOPs budget through `mass`; here one logit threshold shared by every predictor is searched on the calibration rows (predicted from the dense model's logits, then measured with the kernels installed, up to 4 times) so the cell skips the asked share, and `mass` only shapes the targets. (4) The backbone stays frozen (the paper fine-tunes it jointly first), and predictors train on the dense model's inputs, not on their gated upstream's. (5) Where gates apply: every Linear whose output reaches the next Linear through an elementwise ReLU or GELU, recognised from the calibration activations — the MLP's fc1 and fc2 (fc2 and fc3 also skip the gated-off inputs), the GPT's MLP fc in each block (mlp.proj skips its gated-off inputs); attention and the head run dense, so on sotu-lm at most about 64% can be skipped and 70% is refused. (6) GELU is not zero-sparse: unlike ReLU, where a gated-off unit that would not have fired is exactly what the dense layer gives, every GELU unit contributes something (down to −0.17), so every gated-off GELU unit changes the output; the targets use |GELU(z)| as the heat-map value. Predictors train on at most 8,192 calibration rows (every k-th row, tokens for sotu-lm), 30 epochs of minibatches of 128, AdamW lr 3e-3; training steps, rows and time are reported (ftwt_train_*), with per-layer skipped shares (skipped_<layer>), predicted and target unit shares and recall of the targets on the calibration rows.",
  impl: {
    target: (params) => ({
      pattern: "activation" as const,
      sparsity: Number(params.sparsity.replace("%", "")) / 100,
    }),
    prune(model, calibration, target, params) {
      const start = performance.now();
      const { metrics } = ftwtPrune(model, calibration, {
        sparsity: target.sparsity,
        mass: params.mass,
        epochs: params.epochs,
        seed: params.seed,
        predictorShare: params.predictorShare,
      });
      return Promise.resolve({ pruneMs: performance.now() - start, metrics });
    },
  },
});
