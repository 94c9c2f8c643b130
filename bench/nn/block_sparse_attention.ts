// Causal self-attention with a native block-sparse path (NSA's selection branch, MoBA-like) and
// SSA's bidirectional alignment of the sparse and full outputs, for training and evaluation.
import { gemm } from "./gemm.ts";
import { attentionBackward, Linear } from "./layers.ts";
import type { Param } from "./param.ts";

/** Which attention output feeds the output projection. */
export type AttentionPath = "full" | "sparse";

/** The block-sparse selection: keys in blocks, each query keeps `blocks` of them, its own included. */
export interface BlockSparseOptions {
  /** Keys (and queries) per block. */
  blockSize: number;
  /**
   * Blocks each query attends: its own (causally masked) plus the `blocks − 1` earlier blocks
   * with the highest score q·mean(k_block). As NSA's `block_counts`, the own block is counted.
   */
  blocks: number;
}

/**
 * Attention mass that a budget leaves out under full attention, per batch row: summed over the
 * queries that see more blocks than the budget, and those queries' count (one per head).
 */
export interface DroppedMass {
  budget: number;
  /** Mass outside the blocks the q·mean(k) selection keeps. */
  selected: Float64Array;
  /** Mass outside the `budget` blocks of highest mass (the best any block selection could do). */
  oracle: Float64Array;
  queries: Float64Array;
}

/** Huber with δ = 1 (PyTorch's SmoothL1Loss): the reference implementation's alignment distance. */
function smoothL1(d: number): number {
  const a = Math.abs(d);
  return a < 1 ? 0.5 * d * d : a - 0.5;
}

function smoothL1Grad(d: number): number {
  return d > 1 ? 1 : d < -1 ? -1 : d;
}

/**
 * Multi-head causal self-attention with the parameters of {@link CausalSelfAttention} (same names,
 * so checkpoints load into either), whose forward can take the full path (identical arithmetic),
 * the block-sparse path, or both with SSA's alignment loss. The selection is not differentiated:
 * the sparse path's backward is the exact gradient of the softmax over the kept keys.
 */
export class BlockSparseSelfAttention {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly dim: number;
  readonly heads: number;
  sparse: BlockSparseOptions;
  path: AttentionPath = "full";
  /**
   * SSA's alignment weight for this layer (0: off). When positive, both paths run and the layer
   * adds weight·(SmoothL1(full, sg(sparse)) + SmoothL1(sg(full), sparse)) to the loss, each a
   * mean over the attention outputs (heads concatenated, before the projection).
   */
  alignWeight = 0;
  /**
   * The alignment loss of the last forward, both terms (0 when the weight is 0). With the
   * stop-gradients its gradient is that of half this value, weight·mean SmoothL1(full − sparse).
   */
  alignLoss = 0;
  /** Budgets whose {@link DroppedMass} the full path measures in the next forwards. */
  measureBudgets: number[] = [];
  /** What the last full-path forward measured, one entry per measured budget. */
  dropped: DroppedMass[] = [];
  /**
   * Keeps the first selection computed and reuses it (tests: finite differences then see the
   * same mask as the analytic gradient did).
   */
  freezeSelection = false;
  #frozen: Uint8Array | null = null;
  #qkv: Float32Array | null = null;
  #probs: { full: Float32Array | null; sparse: Float32Array | null } = { full: null, sparse: null };
  #alignGrad: Float32Array | null = null;
  #batch = 0;
  #seq = 0;

  constructor(name: string, dim: number, heads: number, sparse: BlockSparseOptions) {
    if (dim % heads !== 0) {
      throw new RangeError(`Cannot split dim ${dim} into ${heads} heads: dim must be a multiple`);
    }
    checkSparse(sparse);
    this.dim = dim;
    this.heads = heads;
    this.sparse = sparse;
    this.qkv = new Linear(`${name}.qkv`, dim, 3 * dim);
    this.proj = new Linear(`${name}.proj`, dim, dim);
  }

  parameters(): Param[] {
    return [...this.qkv.parameters(), ...this.proj.parameters()];
  }

  /** Share of the causal (query, key) pairs the sparse path keeps at sequence length `seq`. */
  density(seq: number): number {
    const bs = this.sparse.blockSize;
    let kept = 0, causal = 0;
    for (let i = 0; i < seq; i++) {
      const own = Math.floor(i / bs);
      causal += i + 1;
      kept += Math.min(this.sparse.blocks - 1, own) * bs + (i - own * bs + 1);
    }
    return kept / causal;
  }

  forward(x: Float32Array, batch: number, seq: number): Float32Array {
    checkSparse(this.sparse);
    const d = this.dim, h = this.heads, hd = d / h, t = seq, ld = 3 * d;
    const qkv = this.qkv.forward(x, batch * seq);
    const align = this.alignWeight > 0;
    const wantFull = this.path === "full" || align;
    const wantSparse = this.path === "sparse" || align;
    const measuring = this.path === "full" && this.measureBudgets.length > 0;
    const nb = Math.ceil(t / this.sparse.blockSize);
    const scores = new Float32Array(t * t);
    const full = wantFull ? new Float32Array(batch * h * t * t) : null;
    const sparse = wantSparse ? new Float32Array(batch * h * t * t) : null;
    const attFull = wantFull ? new Float32Array(batch * t * d) : null;
    const attSparse = wantSparse ? new Float32Array(batch * t * d) : null;
    const scale = 1 / Math.sqrt(hd);
    const needRanking = wantSparse || measuring;
    const frozen = this.freezeSelection ? this.#frozen : null;
    const ranking = needRanking ? frozen ?? new Uint8Array(batch * h * t * nb) : null;
    this.dropped = measuring
      ? this.measureBudgets.map((budget) => ({
        budget,
        selected: new Float64Array(batch),
        oracle: new Float64Array(batch),
        queries: new Float64Array(batch),
      }))
      : [];
    for (let b = 0; b < batch; b++) {
      for (let head = 0; head < h; head++) {
        const bh = b * h + head, pOff = bh * t * t, rowOff = b * t * ld;
        gemm({
          m: t,
          n: t,
          k: hd,
          a: qkv,
          aOffset: rowOff + head * hd,
          lda: ld,
          b: qkv,
          bOffset: rowOff + d + head * hd,
          ldb: ld,
          transB: true,
          c: scores,
        });
        if (ranking && !frozen) rankBlocks(qkv, ranking, { b, head, t, d, hd, nb, ...this.sparse });
        if (full) {
          // The arithmetic of CausalSelfAttention.forward, in the same order.
          for (let i = 0; i < t; i++) {
            const o = pOff + i * t;
            let max = -Infinity;
            for (let j = 0; j <= i; j++) {
              full[o + j] = scores[i * t + j] * scale;
              if (full[o + j] > max) max = full[o + j];
            }
            let sum = 0;
            for (let j = 0; j <= i; j++) {
              const e = Math.exp(full[o + j] - max);
              full[o + j] = e;
              sum += e;
            }
            const inv = 1 / sum;
            for (let j = 0; j <= i; j++) full[o + j] *= inv;
          }
          attend(full, qkv, attFull!, { b, head, t, d, hd, pOff });
        }
        if (sparse) {
          const bs = this.sparse.blockSize;
          for (let i = 0; i < t; i++) {
            const o = pOff + i * t, keep = keptBlocks(ranking!, bh, i, t, nb, bs, this.sparse);
            let max = -Infinity;
            for (let j = 0; j <= i; j++) {
              if (!keep[Math.floor(j / bs)]) continue;
              sparse[o + j] = scores[i * t + j] * scale;
              if (sparse[o + j] > max) max = sparse[o + j];
            }
            let sum = 0;
            for (let j = 0; j <= i; j++) {
              if (!keep[Math.floor(j / bs)]) continue;
              const e = Math.exp(sparse[o + j] - max);
              sparse[o + j] = e;
              sum += e;
            }
            const inv = 1 / sum;
            for (let j = 0; j <= i; j++) sparse[o + j] *= inv;
          }
          attend(sparse, qkv, attSparse!, { b, head, t, d, hd, pOff });
        }
        if (measuring) this.#measure(full!, ranking!, { b, bh, t, nb, pOff });
      }
    }
    if (this.freezeSelection && ranking) this.#frozen = ranking;
    this.alignLoss = 0;
    this.#alignGrad = null;
    if (align) {
      const n = attFull!.length, g = new Float32Array(n), w = this.alignWeight;
      let loss = 0;
      for (let i = 0; i < n; i++) {
        const diff = attFull![i] - attSparse![i];
        loss += smoothL1(diff);
        // d/dfull of SmoothL1(full, sg(sparse)); the sparse side's is its negative.
        g[i] = w * smoothL1Grad(diff) / n;
      }
      // Both directions have the same value: 2·weight·mean.
      this.alignLoss = 2 * w * loss / n;
      this.#alignGrad = g;
    }
    this.#qkv = qkv;
    this.#probs = { full, sparse };
    this.#batch = batch;
    this.#seq = seq;
    return this.proj.forward(this.path === "full" ? attFull! : attSparse!, batch * seq);
  }

  backward(dy: Float32Array): Float32Array {
    const d = this.dim, t = this.#seq, batch = this.#batch;
    const dAtt = this.proj.backward(dy);
    const dQkv = new Float32Array(batch * t * 3 * d);
    const g = this.#alignGrad;
    for (const path of ["full", "sparse"] as const) {
      const probs = this.#probs[path];
      if (!probs) continue;
      let dO: Float32Array | null = path === this.path ? dAtt : null;
      if (g) {
        const sign = path === "full" ? 1 : -1, out = new Float32Array(dAtt.length);
        for (let i = 0; i < out.length; i++) out[i] = (dO ? dO[i] : 0) + sign * g[i];
        dO = out;
      }
      if (dO) this.#backwardPath(probs, dO, dQkv);
    }
    return this.qkv.backward(dQkv);
  }

  /** Adds one path's gradient (through its softmax, masked entries at zero) to dQkv. */
  #backwardPath(probs: Float32Array, dAtt: Float32Array, dQkv: Float32Array): void {
    attentionBackward({
      probs,
      qkv: this.#qkv!,
      dAtt,
      dQkv,
      batch: this.#batch,
      seq: this.#seq,
      dim: this.dim,
      heads: this.heads,
      accumulate: true,
    });
  }

  /** Full-attention mass outside each measured budget's blocks, for one (row, head). */
  #measure(
    full: Float32Array,
    ranking: Uint8Array,
    s: { b: number; bh: number; t: number; nb: number; pOff: number },
  ): void {
    const bs = this.sparse.blockSize, mass = new Float64Array(s.nb);
    for (let i = 0; i < s.t; i++) {
      const own = Math.floor(i / bs), visible = own + 1;
      mass.fill(0);
      for (let j = 0; j <= i; j++) mass[Math.floor(j / bs)] += full[s.pOff + i * s.t + j];
      const byMass = Array.from(mass.subarray(0, visible)).sort((x, y) => y - x);
      for (const m of this.dropped) {
        if (visible <= m.budget) continue;
        const keep = keptBlocks(ranking, s.bh, i, s.t, s.nb, bs, { blocks: m.budget });
        let kept = 0;
        for (let j = 0; j < visible; j++) if (keep[j]) kept += mass[j];
        let best = 0;
        for (let j = 0; j < m.budget; j++) best += byMass[j];
        m.selected[s.b] += 1 - kept;
        m.oracle[s.b] += 1 - best;
        m.queries[s.b] += 1;
      }
    }
  }
}

function checkSparse(s: BlockSparseOptions): void {
  if (!Number.isInteger(s.blockSize) || s.blockSize < 1) {
    throw new RangeError(`blockSize must be a positive integer: got ${s.blockSize}`);
  }
  if (!Number.isInteger(s.blocks) || s.blocks < 1) {
    throw new RangeError(
      `blocks must be a positive integer (the own block counts): got ${s.blocks}`,
    );
  }
}

/**
 * For each query of one (row, head), its earlier blocks in descending order of q·mean(k_block)
 * (ties: the earlier block first), stored as ranks: ranking[..., j] = 1 + rank of block j among
 * the candidates, 0 for the own block and later ones.
 */
function rankBlocks(
  qkv: Float32Array,
  ranking: Uint8Array,
  s: { b: number; head: number; t: number; d: number; hd: number; nb: number; blockSize: number },
): void {
  const { b, head, t, d, hd, nb, blockSize: bs } = s, ld = 3 * d, rowOff = b * t * ld;
  const means = new Float64Array(nb * hd);
  for (let j = 0; j < t; j++) {
    const blk = Math.floor(j / bs), kOff = rowOff + j * ld + d + head * hd;
    for (let c = 0; c < hd; c++) means[blk * hd + c] += qkv[kOff + c];
  }
  for (let blk = 0; blk < nb; blk++) {
    const n = Math.min(bs, t - blk * bs);
    for (let c = 0; c < hd; c++) means[blk * hd + c] /= n;
  }
  const score = new Float64Array(nb), order: number[] = [];
  const base = (b * (d / hd) + head) * t * nb;
  for (let i = 0; i < t; i++) {
    const own = Math.floor(i / bs), qOff = rowOff + i * ld + head * hd;
    order.length = 0;
    for (let blk = 0; blk < own; blk++) {
      let dot = 0;
      for (let c = 0; c < hd; c++) dot += qkv[qOff + c] * means[blk * hd + c];
      score[blk] = dot;
      order.push(blk);
    }
    order.sort((x, y) => score[y] - score[x] || x - y);
    const r = ranking.subarray(base + i * nb, base + (i + 1) * nb);
    r.fill(0);
    order.forEach((blk, rank) => r[blk] = rank + 1);
  }
}

/** Which blocks query i keeps at a budget: its own and the `blocks − 1` best-ranked earlier ones. */
function keptBlocks(
  ranking: Uint8Array,
  bh: number,
  i: number,
  t: number,
  nb: number,
  bs: number,
  s: { blocks: number },
): boolean[] {
  const own = Math.floor(i / bs), base = (bh * t + i) * nb, keep = new Array<boolean>(nb);
  for (let blk = 0; blk < nb; blk++) {
    const rank = ranking[base + blk];
    keep[blk] = blk === own || (blk < own && rank >= 1 && rank <= s.blocks - 1);
  }
  return keep;
}

/** out[rows of (b, head)] = P·V for one (row, head), as CausalSelfAttention does. */
function attend(
  probs: Float32Array,
  qkv: Float32Array,
  out: Float32Array,
  s: { b: number; head: number; t: number; d: number; hd: number; pOff: number },
): void {
  const { b, head, t, d, hd, pOff } = s, ld = 3 * d;
  gemm({
    m: t,
    n: hd,
    k: t,
    a: probs,
    aOffset: pOff,
    b: qkv,
    bOffset: b * t * ld + 2 * d + head * hd,
    ldb: ld,
    c: out,
    cOffset: b * t * d + head * hd,
    ldc: d,
  });
}
