// N:M-compressed weights: N kept of every M consecutive inputs, values and in-group indices.
import { defineSpmmMethod } from "../../bench/families/pruning/mod.ts";

export const spmmNm = defineSpmmMethod({
  id: "spmm-nm",
  family: "pruning",
  title: "N:M kernel",
  fidelity: {
    level: "simplified",
    reason:
      "N:M-compressed weights run by plain SIMD and WGSL kernels, without the paper's Sparse Tensor Core hardware",
  },
  description:
    "y = x·Wᵀ with the weight N:M-compressed (N values and their in-group indices of every M inputs). The task gives it an N:M mask at the case's density: 1:4 at 25%, 2:4 at 50%, else the smallest M ≤ 16 with N/M exact (10% → 1:10, 20% → 1:5, 30% → 3:10, 40% → 2:5, 60% → 3:5); densities no such pattern realizes (1%, 5%) are skipped.",
  paper: {
    title: "Accelerating Sparse Deep Neural Networks",
    year: 2021,
    link: "https://arxiv.org/abs/2104.08378",
  },
  version: "1.0.0",
  parameters: {},
  capabilities: { requires: [], features: ["spmm"] },
  notes:
    "The paper's 2:4 runs on Sparse Tensor Cores; here the family's WebAssembly SIMD and WGSL kernels run any N:M up to M = 16, without hardware support.",
  impl: { kernel: "n:m" },
});
