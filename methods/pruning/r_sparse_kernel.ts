// R-Sparse's Linear kernel: per input row, the channels whose |x_j|·‖W[:, j]‖ is above the
// layer's threshold go through W's columns exactly, the rest through W's top-r singular
// components: y = W_S·x_S + U_r·(Σ_r·(V_rᵀ·x_rest)) + b.
import type { Linear, LinearKernel } from "../../bench/nn/layers.ts";
import { onnxDenseLinear, type OnnxGraph } from "../../bench/nn/onnx.ts";

/** What an {@link RSparseKernel} runs besides its layer's weights. */
export interface RSparseFactors {
  /** Channel j is sparse (exact) for a row when |x_j|·scale_j > threshold. */
  threshold: number;
  /** ‖W[:, j]‖₂ per input channel [in]. */
  scale: Float32Array;
  rank: number;
  /** Σ_r·V_rᵀ, row-major [rank × in]: row k is σ_k·v_kᵀ. */
  sv: Float32Array;
  /** U_r, row-major [out × rank]. */
  u: Float32Array;
}

/** Channels and rows an {@link RSparseKernel} has run, for the activation sparsity it reached. */
export interface RSparseStats {
  rows: number;
  /** Σ over rows of the channels computed exactly (|S|). */
  sparseChannels: number;
}

/**
 * The kernel: y = b + Σ_{j∈S} W[:, j]·x_j + U_r·(Σ_r V_rᵀ·x_rest), S the channels above the
 * threshold and x_rest = x with S zeroed. Multiply-adds per row: |S|·out + rank·(in + out), the
 * paper's count (the low-rank input product runs over every channel, S's as zeros).
 */
export class RSparseKernel implements LinearKernel {
  readonly name: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly factors: RSparseFactors;
  readonly stats: RSparseStats = { rows: 0, sparseChannels: 0 };
  /** Wᵀ [in × out]: column j of W is contiguous. */
  readonly #wt: Float32Array;
  readonly #weight: Float32Array;
  readonly #bias: Float32Array | null;

  /**
   * @param layer the Linear it replaces (weights and bias copied now)
   * @param factors its threshold, channel scales and low-rank factors
   * @throws {RangeError} when the factors do not fit the layer
   */
  constructor(layer: Linear, factors: RSparseFactors) {
    const n = layer.inFeatures, o = layer.outFeatures, r = factors.rank;
    this.name = layer.weight.name.replace(/\.weight$/, "");
    if (
      !Number.isInteger(r) || r < 0 || r > Math.min(n, o) || factors.scale.length !== n ||
      factors.sv.length !== r * n || factors.u.length !== o * r
    ) {
      throw new RangeError(
        `Cannot run '${this.name}' (${n}→${o}) with rank ${r}: expected a rank in [0, ${
          Math.min(n, o)
        }], ${n} scales, ${r * n} entries of Σ·Vᵀ and ${
          o * r
        } of U, got ${factors.scale.length}, ${factors.sv.length} and ${factors.u.length}`,
      );
    }
    this.inFeatures = n;
    this.outFeatures = o;
    this.factors = factors;
    this.#weight = layer.weight.effective().slice();
    this.#wt = new Float32Array(n * o);
    for (let u = 0; u < o; u++) {
      for (let j = 0; j < n; j++) this.#wt[j * o + u] = this.#weight[u * n + j];
    }
    this.#bias = layer.bias ? layer.bias.data.slice() : null;
  }

  forward(x: Float32Array, rows: number): { y: Float32Array; macs: number } {
    const n = this.inFeatures, o = this.outFeatures, wt = this.#wt, b = this.#bias;
    const { threshold, scale, rank, sv, u } = this.factors;
    const y = new Float32Array(rows * o), acc = new Float64Array(o), rest = new Float64Array(n);
    const z = new Float64Array(rank);
    let macs = 0, sparse = 0;
    for (let r = 0; r < rows; r++) {
      const xo = r * n;
      if (b) { for (let q = 0; q < o; q++) acc[q] = b[q]; }
      else acc.fill(0);
      let k = 0;
      for (let j = 0; j < n; j++) {
        const v = x[xo + j];
        if (Math.abs(v) * scale[j] > threshold) {
          const base = j * o;
          for (let q = 0; q < o; q++) acc[q] += wt[base + q] * v;
          rest[j] = 0;
          k++;
        } else {
          rest[j] = v;
        }
      }
      for (let t = 0; t < rank; t++) {
        let s = 0;
        const base = t * n;
        for (let j = 0; j < n; j++) s += sv[base + j] * rest[j];
        z[t] = s;
      }
      for (let q = 0; q < o; q++) {
        let s = acc[q];
        const base = q * rank;
        for (let t = 0; t < rank; t++) s += u[base + t] * z[t];
        y[r * o + q] = s;
      }
      macs += k * o + rank * (n + o);
      sparse += k;
    }
    this.stats.rows += rows;
    this.stats.sparseChannels += sparse;
    return { y, macs };
  }

  onnx(graph: OnnxGraph, input: string): string {
    const { threshold, scale, rank, sv, u } = this.factors;
    const n = this.inFeatures, o = this.outFeatures;
    const score = graph.node("Mul", [
      graph.node("Abs", [input]),
      graph.constant(graph.name(`${this.name}.rsparse_scale`), [n], scale),
    ]);
    const keep = graph.node("Cast", [
      graph.node("Greater", [score, graph.scalar("rsparse_threshold", threshold)]),
    ], { to: 1 });
    const xs = graph.node("Mul", [input, keep]);
    const weight = { data: this.#weight, out: o, in: n };
    const y = onnxDenseLinear(graph, xs, weight, this.#bias, this.name);
    if (rank === 0) return y;
    const rest = graph.node("Sub", [input, xs]);
    const low = onnxDenseLinear(
      graph,
      rest,
      { data: sv, out: rank, in: n },
      null,
      `${this.name}.rsparse_sv`,
    );
    return graph.node("Add", [
      y,
      onnxDenseLinear(graph, low, { data: u, out: o, in: rank }, null, `${this.name}.rsparse_u`),
    ]);
  }
}
