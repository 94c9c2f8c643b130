import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import { GpuProvider } from "./device.ts";

Deno.test({
  name: "GpuProvider notices a lost device, reports why, and hands out a fresh one",
  ignore: testGpu === null,
  async fn() {
    const provider = new GpuProvider();
    const first = await provider.current();
    assert(first);
    first.device.destroy();
    await first.device.lost;
    // The loss handler runs in a microtask after 'lost' settles.
    await new Promise((resolve) => setTimeout(resolve, 0));
    assertStringIncludes(provider.takeLostReason() ?? "", "GPU device lost");
    const second = await provider.current();
    assert(second && second.device !== first.device);
    // The fresh device works: a tiny buffer round trip.
    const buffer = second.device.createBuffer({
      size: 16,
      usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ,
    });
    await buffer.mapAsync(GPUMapMode.READ);
    buffer.unmap();
    provider.destroy();
  },
});

Deno.test({
  name: "GpuProvider records the adapter and the backend that served",
  ignore: testGpu === null,
  fn() {
    assert(testGpu!.info.description.length > 0);
    // The provider asks for each candidate backend through DENO_WEBGPU_BACKEND; the one that
    // answered is what the run records.
    assertEquals(testGpu!.info.backend, Deno.env.get("DENO_WEBGPU_BACKEND"));
    assert(testGpu!.info.features.includes("timestamp-query") === testGpu!.timestamps);
  },
});
