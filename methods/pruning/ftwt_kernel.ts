// FTWT's Linear kernel: a small mask predictor on the layer's input picks, per input, the output
// units to compute (the rest are 0), and the input columns an upstream gate turned off are
// skipped, as the paper counts a layer's FLOPs over the previous layer's active filters.
import type { Linear, LinearKernel } from "../../bench/nn/layers.ts";
import { onnxDenseLinear, type OnnxGraph } from "../../bench/nn/onnx.ts";

/**
 * A low-rank mask predictor: logits = up·(down·x) + bias, and unit o is computed for input x
 * when its logit is above `threshold` (0 is the paper's sigmoid > 0.5).
 */
export interface FtwtPredictor {
  hidden: number;
  /** [hidden × in], row-major. */
  down: Float32Array;
  /** [out × hidden], row-major. */
  up: Float32Array;
  /** [out]. */
  bias: Float32Array;
  threshold: number;
}

/** What an {@link FtwtKernel} runs: its layer, its predictor (if it gates) and its upstream gate. */
export interface FtwtKernelOptions {
  /** Gates the layer's output units; null: every unit is computed. */
  predictor: FtwtPredictor | null;
  /**
   * The kernel whose gated units feed this layer (through an activation that keeps 0 at 0):
   * the columns it turned off are skipped.
   */
  upstream: FtwtKernel | null;
}

/**
 * The gated layer: for each input row, the predictor's products over the active input columns,
 * then y_o = b_o + Σ_active W_oj·x_j for the predicted units o only, 0 for the others. Active
 * columns are those the upstream gate computed, and any other nonzero one (so the result never
 * depends on the upstream's state being current: a stale mask only costs products, not
 * correctness). Weights are copied when the kernel is built.
 */
export class FtwtKernel implements LinearKernel {
  readonly name: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly predictor: FtwtPredictor | null;
  readonly upstream: FtwtKernel | null;
  /** Units computed in the last forward, [rows × out] (1 computed), when the kernel gates. */
  lastMask: Uint8Array | null = null;
  lastRows = 0;
  readonly #weight: Float32Array;
  readonly #bias: Float32Array | null;

  /**
   * @param layer the Linear it replaces (weights and bias copied now)
   * @param options its predictor and upstream gate
   * @throws {RangeError} when the predictor or the upstream does not fit the layer
   */
  constructor(layer: Linear, options: FtwtKernelOptions) {
    const { predictor, upstream } = options;
    this.name = layer.weight.name.replace(/\.weight$/, "");
    this.inFeatures = layer.inFeatures;
    this.outFeatures = layer.outFeatures;
    if (predictor) {
      const h = predictor.hidden;
      if (
        predictor.down.length !== h * this.inFeatures ||
        predictor.up.length !== this.outFeatures * h ||
        predictor.bias.length !== this.outFeatures
      ) {
        throw new RangeError(
          `Cannot gate '${this.name}' (${this.inFeatures}→${this.outFeatures}) with a predictor of hidden ${h}: expected down ${
            h * this.inFeatures
          }, up ${
            this.outFeatures * h
          } and bias ${this.outFeatures} entries, got ${predictor.down.length}, ${predictor.up.length} and ${predictor.bias.length}`,
        );
      }
    }
    if (upstream && upstream.outFeatures !== this.inFeatures) {
      throw new RangeError(
        `Cannot chain '${this.name}' after '${upstream.name}': it reads ${this.inFeatures} inputs, the upstream makes ${upstream.outFeatures}`,
      );
    }
    this.predictor = predictor;
    this.upstream = upstream;
    this.#weight = layer.weight.effective().slice();
    this.#bias = layer.bias ? layer.bias.data.slice() : null;
  }

  forward(x: Float32Array, rows: number): { y: Float32Array; macs: number } {
    const n = this.inFeatures, o = this.outFeatures, w = this.#weight, b = this.#bias;
    const p = this.predictor, h = p?.hidden ?? 0;
    const gate = this.upstream?.lastRows === rows ? this.upstream.lastMask : null;
    const y = new Float32Array(rows * o);
    const mask = p ? new Uint8Array(rows * o) : null;
    const cols = new Int32Array(n), vals = new Float64Array(n), hid = new Float64Array(h);
    let macs = 0;
    for (let r = 0; r < rows; r++) {
      const xo = r * n;
      let k = 0;
      for (let j = 0; j < n; j++) {
        const v = x[xo + j];
        if (!gate || gate[xo + j] !== 0 || v !== 0) {
          cols[k] = j;
          vals[k++] = v;
        }
      }
      if (p) {
        for (let t = 0; t < h; t++) {
          let s = 0;
          const base = t * n;
          for (let c = 0; c < k; c++) s += p.down[base + cols[c]] * vals[c];
          hid[t] = s;
        }
        macs += h * k + o * h;
        for (let u = 0; u < o; u++) {
          let s = p.bias[u];
          for (let t = 0; t < h; t++) s += p.up[u * h + t] * hid[t];
          if (s > p.threshold) mask![r * o + u] = 1;
        }
      }
      for (let u = 0; u < o; u++) {
        if (mask && mask[r * o + u] === 0) continue;
        let s = b ? b[u] : 0;
        const base = u * n;
        for (let c = 0; c < k; c++) s += w[base + cols[c]] * vals[c];
        y[r * o + u] = s;
        macs += k;
      }
    }
    if (mask) {
      this.lastMask = mask;
      this.lastRows = rows;
    }
    return { y, macs };
  }

  onnx(graph: OnnxGraph, input: string): string {
    const weight = { data: this.#weight, out: this.outFeatures, in: this.inFeatures };
    const dense = onnxDenseLinear(graph, input, weight, this.#bias, this.name);
    const p = this.predictor;
    if (!p) return dense;
    const hid = onnxDenseLinear(
      graph,
      input,
      { data: p.down, out: p.hidden, in: this.inFeatures },
      null,
      `${this.name}.ftwt_down`,
    );
    const logits = onnxDenseLinear(
      graph,
      hid,
      { data: p.up, out: this.outFeatures, in: p.hidden },
      p.bias,
      `${this.name}.ftwt_up`,
    );
    const on = graph.node("Cast", [
      graph.node("Greater", [logits, graph.scalar("ftwt_threshold", p.threshold)]),
    ], { to: 1 });
    return graph.node("Mul", [dense, on]);
  }
}
