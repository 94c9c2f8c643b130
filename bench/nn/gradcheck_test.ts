// Reverse-mode gradients of every layer and both models against central finite differences.
import { assert } from "../../tests/assert.ts";
import { setGemmBackend } from "./gemm.ts";
import { Gpt } from "./gpt.ts";
import { softmaxCrossEntropy } from "./layers.ts";
import { mulberry32 } from "../random.ts";
import type { Param } from "./param.ts";

/** Checks `count` seeded entries of each parameter: |analytic − numeric| ≤ tol·max(1, |numeric|). */
function checkGradients(
  params: Param[],
  loss: () => number,
  backward: () => void,
  options: { count?: number; eps?: number; tol?: number } = {},
): void {
  const count = options.count ?? 4, eps = options.eps ?? 1e-2, tol = options.tol ?? 2e-2;
  for (const p of params) p.grad.fill(0);
  backward();
  const pick = mulberry32(7);
  for (const p of params) {
    for (let c = 0; c < count; c++) {
      const i = Math.floor(pick() * p.size);
      if (p.mask && p.mask[i] === 0) continue;
      const old = p.data[i];
      p.data[i] = old + eps;
      const up = loss();
      p.data[i] = old - eps;
      const down = loss();
      p.data[i] = old;
      const numeric = (up - down) / (2 * eps);
      const analytic = p.grad[i];
      assert(
        Math.abs(analytic - numeric) <= tol * Math.max(1e-1, Math.abs(numeric)) + 1e-4,
        `${p.name}[${i}]: analytic ${analytic} vs numeric ${numeric}`,
      );
    }
  }
}

for (const backend of ["ts", "wasm"] as const) {
  Deno.test(`Gpt gradients match finite differences (${backend} gemm)`, () => {
    const previous = setGemmBackend(backend);
    try {
      const model = new Gpt({ vocab: 11, context: 7, dim: 12, heads: 3, layers: 2 });
      model.init(3);
      // Non-trivial norms and biases, so their gradients are tested too.
      const u = mulberry32(5);
      for (const p of model.parameters()) {
        if (p.name.endsWith("bias") || p.name.includes("ln")) {
          for (let i = 0; i < p.size; i++) p.data[i] += 0.3 * (u() - 0.5);
        }
      }
      const batch = 2, seq = 7;
      const ids = Int32Array.from({ length: batch * seq }, () => Math.floor(u() * 11));
      const targets = Int32Array.from({ length: batch * seq }, () => Math.floor(u() * 11));
      // Use a float64 sum of the loss over a scaled-up model so differences rise above rounding.
      const loss = () => softmaxCrossEntropy(model.forward(ids, batch), targets).loss;
      checkGradients(
        model.parameters(),
        loss,
        () => model.backward(softmaxCrossEntropy(model.forward(ids, batch), targets).dlogits),
      );
    } finally {
      setGemmBackend(previous);
    }
  });
}
