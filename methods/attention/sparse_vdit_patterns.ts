// Sparse-vDiT's pattern library and its offline search, at key-block granularity: each head runs
// one of a few fixed sparse patterns (diagonal, multi-diagonal, vertical stripe) or dense, chosen
// once per head from calibration rows as the cheapest candidate whose mass recall meets a threshold.
import { mulberry32 } from "../../bench/random.ts";
import {
  type AttentionShape,
  type BlockGeometry,
  blockGeometry,
  keepCount,
  queryCount,
  queryOffset,
  stepCount,
} from "../../bench/families/attention/mod.ts";

export const PATTERN_KINDS = ["diagonal", "multi-diagonal", "vertical-stripe", "dense"] as const;
export type PatternKind = typeof PATTERN_KINDS[number];

/** One head's pattern: its kind, how much of the density budget it uses, and its layout. */
export interface HeadPattern {
  kind: PatternKind;
  /** Share of the density budget kept (band width, number of diagonals or stripes). */
  level: number;
  /** Multi-diagonal: distance between neighbouring diagonals, in key blocks. */
  period?: number;
  /** Vertical stripe: every key block by calibration mass, highest first. */
  stripes?: Int32Array;
}

/** The widths the search tries for every sparse pattern, as shares of the density budget. */
export const LEVELS = [0.25, 0.5, 1];
/** Multi-diagonal periods tried: 2 key blocks up to this (or the number of blocks − 1). */
export const MAX_PERIOD = 64;
/** Calibration rows per head (and per step): a seeded sample, the same on every path. */
export const CALIBRATION_ROWS = 64;
const CALIBRATION_SEED = 0x5d17;

/**
 * The cost model, measured on this machine's block attend kernel (the family's block attend
 * pass, lavapipe on 2 cores, 8 heads, d = 64, seq 2048): 145–152 ns per attended (query,
 * key) pair from own-block-only to all blocks, with no per-block overhead that showed above the
 * noise. So a candidate costs its attended pairs times this; dense is costed the same way.
 */
export const PAIR_COST_NS = 150;

/**
 * The order in which a pattern takes the key blocks a query block can see; the query block's own
 * (diagonal) block always comes first, so every row sees at least itself.
 */
export function blockOrder(geometry: BlockGeometry, pattern: HeadPattern, qb: number): Int32Array {
  const own = geometry.own(qb);
  const visible = geometry.visible(qb);
  const n = geometry.blocks;
  switch (pattern.kind) {
    case "dense":
      return sortBy(visible, n, (kb) => (kb === own ? 0 : 1));
    case "diagonal":
      // A band centred on the own block (one-sided when causal), nearer blocks first.
      return sortBy(visible, n, (kb) => Math.abs(own - kb));
    case "multi-diagonal": {
      // Bands at every multiple of the period: blocks nearest a diagonal first, then nearer ones.
      const p = pattern.period!;
      return sortBy(visible, n, (kb) => {
        const m = (((own - kb) % p) + p) % p;
        return Math.min(m, p - m) * n + Math.abs(own - kb);
      });
    }
    case "vertical-stripe": {
      const stripes = pattern.stripes!.filter((kb) => kb !== own && kb < visible);
      return Int32Array.from([own, ...stripes]);
    }
  }
}

/**
 * Blocks 0..count-1 by a non-negative integer priority, ties to the lower block: priority and
 * block packed into one number, so a native numeric sort does it (the search sorts thousands).
 */
function sortBy(count: number, blocks: number, priority: (kb: number) => number): Int32Array {
  const keys = new Float64Array(count);
  for (let kb = 0; kb < count; kb++) keys[kb] = priority(kb) * blocks + kb;
  keys.sort();
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[i] = keys[i] % blocks;
  return order;
}

/** Blocks a query block keeps under `pattern`: dense keeps all, others a share of the budget. */
export function patternBudget(visible: number, pattern: HeadPattern, density: number): number {
  return pattern.kind === "dense" ? visible : keepCount(visible, density * pattern.level);
}

/** The key blocks query block `qb` attends to under `pattern`, ascending. */
export function patternBlocks(
  geometry: BlockGeometry,
  pattern: HeadPattern,
  density: number,
  qb: number,
): Int32Array {
  const order = blockOrder(geometry, pattern, qb);
  return order.slice(0, patternBudget(order.length, pattern, density)).sort();
}

/** Attended (query, key) pairs of query block `qb` in key block `kb`, causal bounds included. */
export function blockPairCount(
  shape: AttentionShape,
  block: number,
  qb: number,
  kb: number,
): number {
  const firstRow = qb * block;
  const lastRow = Math.min((qb + 1) * block, queryCount(shape)) - 1;
  const firstKey = kb * block;
  const lastKey = Math.min((kb + 1) * block, shape.seq) - 1;
  const offset = queryOffset(shape);
  if (!shape.causal || lastKey <= offset + firstRow) {
    return (lastRow - firstRow + 1) * (lastKey - firstKey + 1);
  }
  let pairs = 0;
  for (let row = firstRow; row <= lastRow; row++) {
    pairs += Math.max(0, Math.min(lastKey, offset + row) - firstKey + 1);
  }
  return pairs;
}

/** Seeded, distinct query rows to calibrate on, ascending (all rows when there are few). */
export function calibrationRows(queries: number, count = CALIBRATION_ROWS): Int32Array {
  const all = Int32Array.from({ length: queries }, (_, r) => r);
  if (queries <= count) return all;
  const uniform = mulberry32(CALIBRATION_SEED);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(uniform() * (queries - i));
    [all[i], all[j]] = [all[j], all[i]];
  }
  return all.slice(0, count).sort();
}

/**
 * Dense softmax mass of one query row per key block, in float64: what a pattern that keeps a
 * block recovers of the row's attention.
 */
export function rowBlockMass(
  shape: AttentionShape,
  qk: { q: Float32Array; k: Float32Array },
  at: { slice: number; row: number; block: number },
): Float64Array {
  const { q, k } = qk;
  const { slice, row, block } = at;
  const d = shape.headDim;
  const visible = shape.causal ? queryOffset(shape) + row + 1 : shape.seq;
  const qOff = (slice * queryCount(shape) + row) * d;
  const kBase = slice * shape.seq * d;
  const scale = 1 / Math.sqrt(d);
  const scores = new Float64Array(visible);
  let max = -Infinity;
  for (let j = 0; j < visible; j++) {
    let s = 0;
    for (let i = 0; i < d; i++) s += q[qOff + i] * k[kBase + j * d + i];
    scores[j] = s * scale;
    if (scores[j] > max) max = scores[j];
  }
  const mass = new Float64Array(Math.ceil(shape.seq / block));
  let sum = 0;
  for (let j = 0; j < visible; j++) {
    const w = Math.exp(scores[j] - max);
    mass[Math.floor(j / block)] += w;
    sum += w;
  }
  return mass.map((m) => m / sum);
}

export interface SearchSettings {
  /** Keys (and query rows) per block. */
  blockSize: number;
  /** Share of the visible key blocks a pattern may keep at most (its width at level 1). */
  density: number;
  /** Mean mass recall on the calibration rows a pattern must reach, else the head runs dense. */
  threshold: number;
}

/** The search's verdict for one head: its pattern, calibration recall and estimated cost. */
export interface HeadChoice {
  pattern: HeadPattern;
  recall: number;
  costMs: number;
  denseCostMs: number;
}

export interface PatternPlan {
  /** Per head of one step (a pattern serves every step of its head). */
  heads: HeadChoice[];
  /** Per folded head slice and query block, the chosen key blocks, ascending. */
  blocks: Int32Array[][];
}

interface Sample {
  qb: number;
  mass: Float64Array;
}

/** The candidates of one head, cheapest-tie order: per level, diagonal, multi-diagonals, stripes. */
function candidates(geometry: BlockGeometry, stripes: Int32Array): HeadPattern[] {
  const periods = Array.from(
    { length: Math.max(0, Math.min(MAX_PERIOD, geometry.blocks - 1) - 1) },
    (_, i) => i + 2,
  );
  return [
    ...LEVELS.flatMap((level): HeadPattern[] => [
      { kind: "diagonal", level },
      ...periods.map((period): HeadPattern => ({ kind: "multi-diagonal", level, period })),
      { kind: "vertical-stripe", level, stripes },
    ]),
    { kind: "dense", level: 1 },
  ];
}

/** Calibration recall and estimated cost of one candidate, from orders shared across levels. */
function evaluate(
  geometry: BlockGeometry,
  pattern: HeadPattern,
  on: { density: number; orders: Int32Array[]; pairs: Float64Array; samples: Sample[] },
): { recall: number; costMs: number } {
  const { density, orders, pairs, samples } = on;
  let costNs = 0;
  const budgets = orders.map((order, qb) => {
    const n = patternBudget(order.length, pattern, density);
    for (let i = 0; i < n; i++) costNs += pairs[qb * geometry.blocks + order[i]] * PAIR_COST_NS;
    return n;
  });
  let recall = 0;
  for (const { qb, mass } of samples) {
    for (let i = 0; i < budgets[qb]; i++) recall += mass[orders[qb][i]];
  }
  return { recall: recall / Math.max(1, samples.length), costMs: costNs / 1e6 };
}

/**
 * The offline search: per head, dense block masses of the calibration rows of every calibration
 * input (every step of the head pooled), then the cheapest candidate pattern whose mean mass
 * recall reaches the threshold; dense is a candidate too, so a head that fits no pattern runs
 * dense. Deterministic: the same calibration inputs give the same plan on every path.
 *
 * @param calibration q and k of the inputs to search on (held out from the evaluated one)
 */
export function searchPatterns(
  shape: AttentionShape,
  calibration: readonly { q: Float32Array; k: Float32Array }[],
  s: SearchSettings,
): PatternPlan {
  const geometry = blockGeometry(shape, s.blockSize);
  const steps = stepCount(shape);
  const perStep = shape.heads / steps;
  const pairs = new Float64Array(geometry.queryBlocks * geometry.blocks);
  for (let qb = 0; qb < geometry.queryBlocks; qb++) {
    for (let kb = 0; kb < geometry.visible(qb); kb++) {
      pairs[qb * geometry.blocks + kb] = blockPairCount(shape, s.blockSize, qb, kb);
    }
  }
  const rows = calibrationRows(queryCount(shape));
  const heads: HeadChoice[] = [];
  for (let h = 0; h < perStep; h++) {
    const samples: Sample[] = [];
    for (const qk of calibration) {
      for (let step = 0; step < steps; step++) {
        for (const row of rows) {
          const mass = rowBlockMass(shape, qk, {
            slice: step * perStep + h,
            row,
            block: s.blockSize,
          });
          samples.push({ qb: Math.floor(row / s.blockSize), mass });
        }
      }
    }
    const column = new Float64Array(geometry.blocks);
    for (const { mass } of samples) mass.forEach((m, kb) => column[kb] += m);
    const stripes = Int32Array.from(
      [...column.keys()].sort((a, b) => column[b] - column[a] || a - b),
    );
    // Orders depend on the pattern's layout, not its level: computed once per layout.
    const orderCache = new Map<string, Int32Array[]>();
    let best: HeadChoice | null = null;
    let denseCostMs = 0;
    for (const pattern of candidates(geometry, stripes)) {
      const layout = `${pattern.kind}|${pattern.period ?? ""}`;
      let orders = orderCache.get(layout);
      if (!orders) {
        orders = Array.from(
          { length: geometry.queryBlocks },
          (_, qb) => blockOrder(geometry, pattern, qb),
        );
        orderCache.set(layout, orders);
      }
      const { recall, costMs } = evaluate(geometry, pattern, {
        density: s.density,
        orders,
        pairs,
        samples,
      });
      if (pattern.kind === "dense") denseCostMs = costMs;
      // Dense keeps every visible block: it meets any threshold whatever the rounding of its sum.
      const isDense = pattern.kind === "dense";
      const meets = isDense || recall >= s.threshold;
      // Ties go to dense: a sparse candidate as costly as dense keeps every block anyway.
      if (meets && (best === null || costMs < best.costMs || (isDense && costMs <= best.costMs))) {
        best = { pattern, recall: isDense ? 1 : recall, costMs, denseCostMs: 0 };
      }
    }
    heads.push({ ...best!, denseCostMs });
  }
  const blocks = Array.from({ length: shape.heads }, (_, slice) => {
    const pattern = heads[slice % perStep].pattern;
    return Array.from(
      { length: geometry.queryBlocks },
      (_, qb) => patternBlocks(geometry, pattern, s.density, qb),
    );
  });
  return { heads, blocks };
}

/** A short description of a plan's choices, e.g. "h0 vertical-stripe@0.5 (recall 0.93)". */
export function describePlan(plan: PatternPlan): string {
  return plan.heads.map(({ pattern, recall }, h) => {
    const period = pattern.period === undefined ? "" : `/p${pattern.period}`;
    return `h${h} ${pattern.kind}${period}@${pattern.level} (recall ${recall.toFixed(3)})`;
  }).join(", ");
}
