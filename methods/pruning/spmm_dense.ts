// The dense kernel of the crossover task's engine on the masked weight, zeros multiplied: the
// baseline every sparse kernel of `spmm-crossover` is timed against.
import { defineSpmmMethod } from "../../bench/families/pruning/mod.ts";

export const spmmDense = defineSpmmMethod({
  id: "spmm-dense",
  family: "pruning",
  title: "Dense kernel (zeros multiplied)",
  fidelity: {
    level: "baseline",
    reason:
      "the dense kernel that multiplies the zeros: the reference of the kernel-crossover task",
  },
  description:
    "y = x·Wᵀ with the pruned weight stored whole: the WebAssembly SIMD GEMV/GEMM (4-row × 8-column register blocks) on the wasm engine, the batch-packed WGSL kernel on webgpu. The baseline of the kernel-crossover task.",
  paper: {
    title: "Anatomy of High-Performance Matrix Multiplication",
    year: 2008,
    link: "https://doi.org/10.1145/1356052.1356053",
  },
  version: "1.0.0",
  parameters: {},
  capabilities: { requires: [], features: ["spmm"] },
  notes:
    "The paper is the register- and cache-blocking scheme dense kernels follow; the kernels here are the family's own (bench/families/pruning), not a BLAS.",
  impl: { kernel: "dense" },
});
