// Compressed sparse rows: only the kept weights and their columns are stored and multiplied.
import { defineSpmmMethod } from "../../bench/families/pruning/mod.ts";

export const spmmCsr = defineSpmmMethod({
  id: "spmm-csr",
  family: "pruning",
  title: "CSR kernel",
  fidelity: {
    level: "simplified",
    reason:
      "the paper's CSR format with plain row-split kernels, not its row-swizzled vectorized CUDA kernels",
  },
  description:
    "y = x·Wᵀ with the kept weights in compressed sparse rows (4-byte values and columns, row pointers): the WebAssembly SIMD SpMV/SpMM on the wasm engine (x gathered into lanes at batch 1, a SIMD axpy over the batch per nonzero above), the row-split WGSL kernel on webgpu.",
  paper: {
    title: "Sparse GPU Kernels for Deep Learning",
    year: 2020,
    link: "https://arxiv.org/abs/2006.10901",
  },
  version: "1.0.0",
  parameters: {},
  capabilities: { requires: [], features: ["spmm"] },
  notes:
    "The paper's row-swizzled, vectorized CSR kernels are CUDA; these are the family's plain row-split kernels in the same format.",
  impl: { kernel: "csr" },
});
