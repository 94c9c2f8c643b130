// Measures the engine's two gemm backends on the shapes training uses:
// `deno run bench/nn/gemm_bench.ts`. (Why not WebGPU: see bench/nn/README.md.)
import { gemm, setGemmBackend } from "./gemm.ts";

const SHAPES: [string, number, number, number, boolean, boolean][] = [
  ["GPT qkv forward (2048 rows)", 2048, 384, 128, false, true],
  ["GPT mlp weight grad", 512, 128, 2048, true, false],
  ["MLP fc1 forward (batch 128)", 128, 300, 784, false, true],
  ["attention scores (one head)", 128, 128, 32, false, true],
];

if (import.meta.main) {
  for (const [name, m, n, k, transA, transB] of SHAPES) {
    const a = Float32Array.from({ length: m * k }, (_, i) => (i % 13) / 13);
    const b = Float32Array.from({ length: k * n }, (_, i) => (i % 7) / 7);
    const c = new Float32Array(m * n);
    const line: string[] = [];
    for (const backend of ["ts", "wasm"] as const) {
      setGemmBackend(backend);
      gemm({ m, n, k, a, b, c, transA, transB });
      let reps = 0;
      const start = performance.now();
      while (performance.now() - start < 500) {
        gemm({ m, n, k, a, b, c, transA, transB });
        reps++;
      }
      const ms = (performance.now() - start) / reps;
      line.push(`${backend} ${(2 * m * n * k / ms / 1e6).toFixed(1)} GFLOP/s`);
    }
    console.log(`${name.padEnd(30)} ${m}×${n}×${k}: ${line.join(", ")}`);
  }
}
