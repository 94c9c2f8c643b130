import { assert, assertEquals } from "../../../tests/assert.ts";
import { maxError, seededMlp } from "../../../tests/fixtures/pruning.ts";
import { testGpu } from "../../../tests/gpu.ts";
import { createGpuChain, gpuChainMetrics } from "./mod.ts";

Deno.test({
  name: "createGpuChain() gives the engine's logits, shrunk over dead units or not",
  ignore: !testGpu,
  async fn() {
    for (const dead of [false, true]) {
      for (const batch of [1, 5]) {
        const model = seededMlp([20, 16, 12, 3], 4);
        if (dead) {
          // Units 1, 5, 6 of fc1 and 0, 7 of fc2 unread by the next layer: dead.
          const [, fc2, fc3] = model.layers;
          fc2.weight.setMask(
            Float32Array.from({ length: 12 * 16 }, (_, i) => [1, 5, 6].includes(i % 16) ? 0 : 1),
          );
          fc3.weight.setMask(
            Float32Array.from({ length: 3 * 12 }, (_, i) => [0, 7].includes(i % 12) ? 0 : 1),
          );
        }
        const input = Float32Array.from({ length: batch * 20 }, (_, i) => Math.sin(i));
        const expected = model.forward(input, batch);
        const chain = await createGpuChain(testGpu!, {
          layers: model.layers,
          reluBetween: true,
          input,
          batch,
          tuneReps: 2,
          forceShrunk: true,
        });
        try {
          const encoder = testGpu!.device.createCommandEncoder();
          chain.encode(encoder);
          testGpu!.device.queue.submit([encoder.finish()]);
          const got = await chain.readOutput();
          assertEquals(got.length, expected.length);
          assert(maxError(got, expected) < 1e-4, `dead=${dead} batch=${batch}`);
          const metrics = gpuChainMetrics(chain);
          assertEquals(metrics.dense_weight_bytes, (20 * 16 + 16 * 12 + 12 * 3) * 4);
          assert(chain.choices.every((c) => c.shrunk === dead));
          // Shrunk: fc1 keeps 13 of 16 rows, fc2 10 of 12 rows over those 13 inputs, fc3 all
          // 3 rows over the 10.
          if (dead) assertEquals(chain.flops, 2 * batch * (13 * 20 + 10 * 13 + 3 * 10));
        } finally {
          chain.dispose();
        }
      }
    }
  },
});
