// The layers of the engine, each with an explicit forward (caching what backward needs) and a
// hand-written backward that accumulates parameter gradients and returns the input gradient.
// Activations are row-major [rows × features] float32 arrays.
import { gemm } from "./gemm.ts";
import type { OnnxGraph } from "./onnx.ts";
import { Param } from "./param.ts";

/** Called with every input a Linear layer sees in forward (Wanda norms, SparseGPT Gram). */
export type InputHook = (x: Float32Array, rows: number, features: number) => void;

/** y = x·Wᵀ + b with W stored [out × in] (the PyTorch and safetensors convention). */
export class Linear {
  readonly weight: Param;
  readonly bias: Param | null;
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** Hooks that see each forward input; methods add and remove their own. */
  readonly inputHooks: InputHook[] = [];
  /** Replaces the dense product at inference; null: x·Wᵀ + b with the effective weight. */
  kernel: LinearKernel | null = null;
  /**
   * Multiply-adds of the forward passes since it was last zeroed: `executed` as run (the
   * kernel's count when one is set), `dense` as the dense layer would have run (rows·in·out).
   */
  readonly macs = { executed: 0, dense: 0 };
  #x: Float32Array | null = null;
  #rows = 0;

  constructor(
    name: string,
    inFeatures: number,
    outFeatures: number,
    options: { bias?: boolean } = {},
  ) {
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = new Param(`${name}.weight`, [outFeatures, inFeatures]);
    this.bias = (options.bias ?? true) ? new Param(`${name}.bias`, [outFeatures]) : null;
  }

  parameters(): Param[] {
    return this.bias ? [this.weight, this.bias] : [this.weight];
  }

  forward(x: Float32Array, rows: number): Float32Array {
    for (const hook of this.inputHooks) hook(x, rows, this.inFeatures);
    this.#x = x;
    this.#rows = rows;
    const denseMacs = rows * this.inFeatures * this.outFeatures;
    this.macs.dense += denseMacs;
    if (this.kernel) {
      const { y, macs } = this.kernel.forward(x, rows);
      this.macs.executed += macs;
      return y;
    }
    this.macs.executed += denseMacs;
    const out = new Float32Array(rows * this.outFeatures);
    gemm({
      m: rows,
      n: this.outFeatures,
      k: this.inFeatures,
      a: x,
      b: this.weight.effective(),
      c: out,
      transB: true,
    });
    if (this.bias) {
      const b = this.bias.data, o = this.outFeatures;
      for (let r = 0; r < rows; r++) for (let j = 0; j < o; j++) out[r * o + j] += b[j];
    }
    return out;
  }

  backward(dy: Float32Array): Float32Array {
    if (this.kernel) {
      throw new Error(
        `Cannot run '${this.weight.name}' backward: its forward is an inference-only kernel`,
      );
    }
    const x = this.#x!, rows = this.#rows, o = this.outFeatures, i = this.inFeatures;
    // dW += dyᵀ·x: the gradient with respect to the effective (masked) weight, which is also
    // the straight-through gradient of the dense one.
    gemm({ m: o, n: i, k: rows, a: dy, b: x, c: this.weight.grad, transA: true, accumulate: true });
    if (this.bias) {
      const g = this.bias.grad;
      for (let r = 0; r < rows; r++) for (let j = 0; j < o; j++) g[j] += dy[r * o + j];
    }
    const dx = new Float32Array(rows * i);
    gemm({ m: rows, n: i, k: o, a: dy, b: this.weight.effective(), c: dx });
    return dx;
  }
}

/**
 * What a Linear layer computes instead of its dense product, while set on `layer.kernel`: an
 * activation-sparse method's per-input computation (R-Sparse, FTWT). Inference only.
 */
export interface LinearKernel {
  /**
   * The layer's output for `rows` inputs x [rows × in] → [rows × out], bias included, and the
   * multiply-adds it executed (what its own sparse computation would run, counted honestly:
   * selection work such as a predictor's products included).
   */
  forward(x: Float32Array, rows: number): { y: Float32Array; macs: number };
  /**
   * Emits the same computation as ONNX nodes (bench/nn/onnx.ts), so an exported model runs the
   * kernel and not the dense layer: `input` [..., in] → the returned value [..., out].
   */
  onnx(graph: OnnxGraph, input: string): string;
}

/** Rows of a table looked up by id. */
export class Embedding {
  readonly weight: Param;
  readonly dim: number;
  #ids: Int32Array | null = null;

  constructor(name: string, count: number, dim: number) {
    this.dim = dim;
    this.weight = new Param(`${name}.weight`, [count, dim]);
  }

  parameters(): Param[] {
    return [this.weight];
  }

  forward(ids: Int32Array): Float32Array {
    this.#ids = ids;
    const d = this.dim, w = this.weight.effective(), out = new Float32Array(ids.length * d);
    for (let r = 0; r < ids.length; r++) out.set(w.subarray(ids[r] * d, ids[r] * d + d), r * d);
    return out;
  }

  backward(dy: Float32Array): void {
    const ids = this.#ids!, d = this.dim, g = this.weight.grad;
    for (let r = 0; r < ids.length; r++) {
      const base = ids[r] * d;
      for (let j = 0; j < d; j++) g[base + j] += dy[r * d + j];
    }
  }
}

/** Normalizes each row to zero mean and unit variance, then scales and shifts. */
export class LayerNorm {
  readonly gamma: Param;
  readonly beta: Param;
  readonly dim: number;
  readonly eps: number;
  #xhat: Float32Array | null = null;
  #rstd: Float32Array | null = null;

  constructor(name: string, dim: number, eps = 1e-5) {
    this.dim = dim;
    this.eps = eps;
    this.gamma = new Param(`${name}.weight`, [dim], { decay: false });
    this.beta = new Param(`${name}.bias`, [dim], { decay: false });
    this.gamma.data.fill(1);
  }

  parameters(): Param[] {
    return [this.gamma, this.beta];
  }

  forward(x: Float32Array, rows: number): Float32Array {
    const d = this.dim, g = this.gamma.data, b = this.beta.data;
    const out = new Float32Array(rows * d);
    const xhat = new Float32Array(rows * d);
    const rstd = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      const o = r * d;
      let mean = 0;
      for (let j = 0; j < d; j++) mean += x[o + j];
      mean /= d;
      let v = 0;
      for (let j = 0; j < d; j++) v += (x[o + j] - mean) ** 2;
      const s = 1 / Math.sqrt(v / d + this.eps);
      rstd[r] = s;
      for (let j = 0; j < d; j++) {
        const h = (x[o + j] - mean) * s;
        xhat[o + j] = h;
        out[o + j] = h * g[j] + b[j];
      }
    }
    this.#xhat = xhat;
    this.#rstd = rstd;
    return out;
  }

  backward(dy: Float32Array): Float32Array {
    const xhat = this.#xhat!, rstd = this.#rstd!, d = this.dim, g = this.gamma.data;
    const rows = rstd.length, dx = new Float32Array(rows * d);
    const gg = this.gamma.grad, gb = this.beta.grad;
    for (let r = 0; r < rows; r++) {
      const o = r * d;
      let sum = 0, sumX = 0;
      for (let j = 0; j < d; j++) {
        const dh = dy[o + j] * g[j];
        sum += dh;
        sumX += dh * xhat[o + j];
        gg[j] += dy[o + j] * xhat[o + j];
        gb[j] += dy[o + j];
      }
      sum /= d;
      sumX /= d;
      for (let j = 0; j < d; j++) {
        dx[o + j] = rstd[r] * (dy[o + j] * g[j] - sum - xhat[o + j] * sumX);
      }
    }
    return dx;
  }
}

/** max(0, x). */
export class ReLU {
  #x: Float32Array | null = null;

  forward(x: Float32Array): Float32Array {
    this.#x = x;
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = x[i] > 0 ? x[i] : 0;
    return out;
  }

  backward(dy: Float32Array): Float32Array {
    const x = this.#x!, dx = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) dx[i] = x[i] > 0 ? dy[i] : 0;
    return dx;
  }
}

const GELU_C = Math.sqrt(2 / Math.PI);

/** GELU, tanh approximation (as GPT-2): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export class GELU {
  #x: Float32Array | null = null;

  forward(x: Float32Array): Float32Array {
    this.#x = x;
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      // 0.5·v·(1 + tanh(u)) = v − v/(e^{2u} + 1): one exp, and exact at both infinities.
      out[i] = v - v / (Math.exp(2 * GELU_C * (v + 0.044715 * v * v * v)) + 1);
    }
    return out;
  }

  backward(dy: Float32Array): Float32Array {
    const x = this.#x!, dx = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const t = 1 - 2 / (Math.exp(2 * GELU_C * (v + 0.044715 * v * v * v)) + 1);
      const du = GELU_C * (1 + 3 * 0.044715 * v * v);
      dx[i] = dy[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * du);
    }
    return dx;
  }
}

/**
 * Multi-head causal self-attention over [batch·seq × dim] rows: one fused q/k/v projection,
 * softmax(q·kᵀ/√d_head) with future keys masked, and an output projection.
 */
export class CausalSelfAttention {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly dim: number;
  readonly heads: number;
  #qkv: Float32Array | null = null;
  #probs: Float32Array | null = null;
  #batch = 0;
  #seq = 0;

  constructor(name: string, dim: number, heads: number) {
    if (dim % heads !== 0) {
      throw new RangeError(`Cannot split dim ${dim} into ${heads} heads: dim must be a multiple`);
    }
    this.dim = dim;
    this.heads = heads;
    this.qkv = new Linear(`${name}.qkv`, dim, 3 * dim);
    this.proj = new Linear(`${name}.proj`, dim, dim);
  }

  parameters(): Param[] {
    return [...this.qkv.parameters(), ...this.proj.parameters()];
  }

  forward(x: Float32Array, batch: number, seq: number): Float32Array {
    const d = this.dim, h = this.heads, hd = d / h, t = seq, ld = 3 * d;
    const qkv = this.qkv.forward(x, batch * seq);
    const probs = new Float32Array(batch * h * t * t);
    const att = new Float32Array(batch * t * d);
    const scale = 1 / Math.sqrt(hd);
    for (let b = 0; b < batch; b++) {
      for (let head = 0; head < h; head++) {
        const pOff = (b * h + head) * t * t, rowOff = b * t * ld;
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
          c: probs,
          cOffset: pOff,
        });
        for (let i = 0; i < t; i++) {
          const o = pOff + i * t;
          let max = -Infinity;
          for (let j = 0; j <= i; j++) {
            probs[o + j] *= scale;
            if (probs[o + j] > max) max = probs[o + j];
          }
          let sum = 0;
          for (let j = 0; j <= i; j++) {
            const e = Math.exp(probs[o + j] - max);
            probs[o + j] = e;
            sum += e;
          }
          const inv = 1 / sum;
          for (let j = 0; j <= i; j++) probs[o + j] *= inv;
          for (let j = i + 1; j < t; j++) probs[o + j] = 0;
        }
        gemm({
          m: t,
          n: hd,
          k: t,
          a: probs,
          aOffset: pOff,
          b: qkv,
          bOffset: rowOff + 2 * d + head * hd,
          ldb: ld,
          c: att,
          cOffset: b * t * d + head * hd,
          ldc: d,
        });
      }
    }
    this.#qkv = qkv;
    this.#probs = probs;
    this.#batch = batch;
    this.#seq = seq;
    return this.proj.forward(att, batch * seq);
  }

  backward(dy: Float32Array): Float32Array {
    const d = this.dim, h = this.heads, t = this.#seq;
    const qkv = this.#qkv!, probs = this.#probs!, batch = this.#batch;
    const dAtt = this.proj.backward(dy);
    const dQkv = new Float32Array(batch * t * 3 * d);
    attentionBackward({ probs, qkv, dAtt, dQkv, batch, seq: t, dim: d, heads: h });
    return this.qkv.backward(dQkv);
  }
}

/** What {@link attentionBackward} reads and where it writes. */
export interface AttentionGradients {
  /** Softmax probabilities [batch × heads × seq × seq], zero where a row may not attend. */
  probs: Float32Array;
  /** The forward pass's fused q, k, v rows [batch × seq × 3·dim]. */
  qkv: Float32Array;
  /** Gradient of the heads' concatenated outputs [batch × seq × dim]. */
  dAtt: Float32Array;
  /** Gradient of qkv [batch × seq × 3·dim]: written, or added to when `accumulate`. */
  dQkv: Float32Array;
  batch: number;
  seq: number;
  dim: number;
  heads: number;
  accumulate?: boolean;
}

/**
 * Backward of softmax attention through its probabilities: dV = Pᵀ·dO, dS = P ⊙ (dP − Σ P·dP)
 * with dP = dO·Vᵀ, then dQ = dS·K and dK = dSᵀ·Q. Entries with P = 0 (the future, or keys a
 * sparse selection left out) get dS = 0, so the same pass is the masked softmax's gradient; a
 * caller with several attention paths sums them into one dQkv with `accumulate`.
 */
export function attentionBackward(g: AttentionGradients): void {
  const { probs, qkv, dAtt, dQkv, batch, seq: t, dim: d, heads: h } = g;
  const hd = d / h, ld = 3 * d, accumulate = g.accumulate ?? false;
  const dP = new Float32Array(t * t);
  const scale = 1 / Math.sqrt(hd);
  for (let b = 0; b < batch; b++) {
    for (let head = 0; head < h; head++) {
      const pOff = (b * h + head) * t * t, rowOff = b * t * ld, attOff = b * t * d + head * hd;
      // dP = dO·Vᵀ
      gemm({
        m: t,
        n: t,
        k: hd,
        a: dAtt,
        aOffset: attOff,
        lda: d,
        b: qkv,
        bOffset: rowOff + 2 * d + head * hd,
        ldb: ld,
        transB: true,
        c: dP,
      });
      // dV = Pᵀ·dO
      gemm({
        m: t,
        n: hd,
        k: t,
        a: probs,
        aOffset: pOff,
        lda: t,
        transA: true,
        b: dAtt,
        bOffset: attOff,
        ldb: d,
        c: dQkv,
        cOffset: rowOff + 2 * d + head * hd,
        ldc: ld,
        accumulate,
      });
      // dS = P ⊙ (dP − Σ_j P·dP), times the 1/√d_head of the forward pass.
      for (let i = 0; i < t; i++) {
        const o = pOff + i * t;
        let dot = 0;
        for (let j = 0; j <= i; j++) dot += probs[o + j] * dP[i * t + j];
        for (let j = 0; j <= i; j++) dP[i * t + j] = probs[o + j] * (dP[i * t + j] - dot) * scale;
        for (let j = i + 1; j < t; j++) dP[i * t + j] = 0;
      }
      // dQ = dS·K, dK = dSᵀ·Q
      gemm({
        m: t,
        n: hd,
        k: t,
        a: dP,
        b: qkv,
        bOffset: rowOff + d + head * hd,
        ldb: ld,
        c: dQkv,
        cOffset: rowOff + head * hd,
        ldc: ld,
        accumulate,
      });
      gemm({
        m: t,
        n: hd,
        k: t,
        a: dP,
        transA: true,
        lda: t,
        b: qkv,
        bOffset: rowOff + head * hd,
        ldb: ld,
        c: dQkv,
        cOffset: rowOff + d + head * hd,
        ldc: ld,
        accumulate,
      });
    }
  }
}

/** Mean softmax cross-entropy (nats) of `logits` [rows × classes] and its gradient. */
export function softmaxCrossEntropy(
  logits: Float32Array,
  targets: Int32Array,
): { loss: number; dlogits: Float32Array } {
  const rows = targets.length, c = logits.length / rows;
  const dlogits = new Float32Array(logits.length);
  let loss = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * c;
    let max = -Infinity;
    for (let j = 0; j < c; j++) if (logits[o + j] > max) max = logits[o + j];
    let sum = 0;
    for (let j = 0; j < c; j++) {
      const e = Math.exp(logits[o + j] - max);
      dlogits[o + j] = e;
      sum += e;
    }
    loss += Math.log(sum) + max - logits[o + targets[r]];
    for (let j = 0; j < c; j++) dlogits[o + j] /= sum * rows;
    dlogits[o + targets[r]] -= 1 / rows;
  }
  return { loss: loss / rows, dlogits };
}

/** Per-row log-loss in nats, without gradients (evaluation). */
export function rowLosses(logits: Float32Array, targets: Int32Array): Float64Array {
  const rows = targets.length, c = logits.length / rows, out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * c;
    let max = -Infinity;
    for (let j = 0; j < c; j++) if (logits[o + j] > max) max = logits[o + j];
    let sum = 0;
    for (let j = 0; j < c; j++) sum += Math.exp(logits[o + j] - max);
    out[r] = Math.log(sum) + max - logits[o + targets[r]];
  }
  return out;
}
