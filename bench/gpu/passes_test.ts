import { assertEquals } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import { compileCompute, readBack, uploadStorage } from "./buffers.ts";
import { bindInOrder, encodePasses, type Pass } from "./passes.ts";

Deno.test({
  name: "encodePasses() runs passes in order, each bound in binding order by bindInOrder()",
  ignore: testGpu === null,
  async fn() {
    const { device } = testGpu!;
    // Pass 1 doubles x into y; pass 2 adds x to y: y = 3x only if pass 2 sees pass 1's output.
    const double = await compileCompute(
      device,
      `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(4) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  if (g.x < 6u) { y[g.x] = 2.0 * x[g.x]; }
}`,
      "double",
    );
    const add = await compileCompute(
      device,
      `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(4) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  if (g.x < 6u) { y[g.x] = y[g.x] + x[g.x]; }
}`,
      "add",
    );
    const x = uploadStorage(device, Float32Array.from([1, 2, 3, 4, 5, 6]));
    const y = uploadStorage(device, new Float32Array(6));
    const passes: Pass[] = [
      [double.pipeline, bindInOrder(device, double.pipeline, [x, y]), [2, 1, 1]],
      [add.pipeline, bindInOrder(device, add.pipeline, [x, y]), [2, 1, 1]],
    ];
    const encoder = device.createCommandEncoder();
    encodePasses(encoder, passes);
    device.queue.submit([encoder.finish()]);
    assertEquals([...new Float32Array(await readBack(device, y, 24))], [3, 6, 9, 12, 15, 18]);
    x.destroy();
    y.destroy();
  },
});
