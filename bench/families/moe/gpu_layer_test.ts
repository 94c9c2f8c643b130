// The WebGPU MoE layer (permutation by expert, grouped expert FFN, combine) against the float64
// reference on odd shapes, with empty slots, k = 1, 2 and every expert, more slots than llvmpipe
// lets one invocation loop over, and more workgroups than one dispatch dimension holds.
import { testGpu } from "../../../tests/gpu.ts";
import { assert } from "../../../tests/assert.ts";
import { mulberry32, normal } from "../../random.ts";
import {
  compareWithReference,
  createGpuMoeLayer,
  MoeLayer,
  moeLayerReference,
  type Routing,
} from "./mod.ts";

function randn(n: number, seed: number, scale = 1): Float32Array {
  const g = normal(mulberry32(seed));
  return Float32Array.from({ length: n }, () => g() * scale);
}

/** A random routing: k distinct experts per token, some slots empty (as capacity drops leave). */
function randomRouting(tokens: number, k: number, experts: number, seed: number): Routing {
  const u = mulberry32(seed);
  const ids = new Int32Array(tokens * k).fill(-1), w = new Float32Array(tokens * k);
  for (let t = 0; t < tokens; t++) {
    const pool = Array.from({ length: experts }, (_, e) => e);
    for (let s = 0; s < k; s++) {
      const e = pool.splice(Math.floor(u() * pool.length), 1)[0];
      if (u() < 0.2) continue;
      ids[t * k + s] = e;
      w[t * k + s] = u();
    }
  }
  return { tokens, k, experts: ids, weights: w, auxLoss: 0, probabilities: null };
}

const noGate = {
  parameters: () => [],
  route: (): Routing => {
    throw new Error("unused");
  },
  backward: () => new Float32Array(0),
};

Deno.test({
  name: "createGpuMoeLayer() equals moeLayerReference on odd shapes, k = 1, 2 and E",
  ignore: !testGpu,
  async fn() {
    const cases = [
      { tokens: 1, dim: 5, hidden: 7, experts: 3, k: 1 },
      { tokens: 37, dim: 11, hidden: 7, experts: 5, k: 2 },
      { tokens: 130, dim: 9, hidden: 13, experts: 8, k: 8 },
      { tokens: 301, dim: 64, hidden: 32, experts: 8, k: 1 },
      // Past llvmpipe's 65,535-iteration loop limit in slots (70,002), chunks that end mid-way,
      // and FC1/FC2 routed rows (~56,000) × width past 65,535 workgroups of 64 in one dimension.
      // Weights at 0.1 keep these long sums' float32 rounding inside the gate's 1e-5 floor.
      { tokens: 35_001, dim: 83, hidden: 97, experts: 9, k: 2, scale: 0.1 },
    ];
    for (const [n, c] of cases.entries()) {
      const layer = new MoeLayer({ dim: c.dim, hidden: c.hidden, experts: c.experts }, noGate);
      for (const [i, p] of layer.parameters().entries()) {
        p.data.set(randn(p.size, 100 * n + i, "scale" in c ? c.scale : 0.5));
      }
      const h = randn(c.tokens * c.dim, n);
      const routing = randomRouting(c.tokens, c.k, c.experts, n + 7);
      const gpu = await createGpuMoeLayer(testGpu!, layer, { h, tokens: c.tokens, k: c.k });
      try {
        gpu.setRouting(routing);
        const encoder = testGpu!.device.createCommandEncoder();
        gpu.encode(encoder);
        testGpu!.device.queue.submit([encoder.finish()]);
        const y = await gpu.readOutput();
        const { passed, maxAbsError } = compareWithReference(
          y,
          moeLayerReference(layer, h, routing),
        );
        assert(passed, `${JSON.stringify(c)}: max |err| ${maxAbsError}`);
        // A second routing on the same buffers (the timed path re-encodes, never re-creates).
        const again = randomRouting(c.tokens, c.k, c.experts, n + 99);
        gpu.setRouting(again);
        const enc2 = testGpu!.device.createCommandEncoder();
        gpu.encode(enc2);
        testGpu!.device.queue.submit([enc2.finish()]);
        const y2 = await gpu.readOutput();
        const second = compareWithReference(y2, moeLayerReference(layer, h, again));
        assert(
          second.passed,
          `${JSON.stringify(c)}, second routing: max |err| ${second.maxAbsError}`,
        );
      } finally {
        gpu.dispose();
      }
    }
  },
});
