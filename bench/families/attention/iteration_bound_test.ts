// The iteration bound against the adapter: on llvmpipe a loop past LOOP_LIMIT really is cut
// short, and an attend loop of as many keys as the bound allows really runs them all, at head
// dims where the lane loops unroll and where they do not (the bound must never under-count).
import { assert, assertEquals, assertRejects, assertThrows } from "../../../tests/assert.ts";
import { testGpu } from "../../../tests/gpu.ts";
import { compileCompute, createStorage, readBack } from "../../gpu/buffers.ts";
import { bindInOrder, encodePasses } from "../../gpu/passes.ts";
import {
  assertIterationBound,
  assertIterationBounds,
  attendKeyIterations,
  headDimWgsl,
  KEY_DOT_WGSL,
  laneLoop,
  LOOP_LIMIT,
  ONLINE_SOFTMAX_WGSL,
  randomInputs,
  setupBandedAttention,
} from "./mod.ts";
import { destroyInputs, uploadInputs } from "./_run.ts";

Deno.test("assertIterationBound() refuses a count past the limit, naming the kernel", () => {
  assertIterationBound("fits", LOOP_LIMIT);
  const error = assertThrows(
    () => assertIterationBound("masked-attend", LOOP_LIMIT + 1),
    RangeError,
    "'masked-attend'",
  );
  assert(error.message.includes("65,536") && error.message.includes("65,535"), error.message);
  assertThrows(() => assertIterationBound("nan", NaN), RangeError);
  assertIterationBounds({ a: 1, b: LOOP_LIMIT });
  assertThrows(() => assertIterationBounds({ a: 1, b: LOOP_LIMIT + 1 }), RangeError, "'b'");
});

Deno.test("laneLoop() counts lane loops only past the unrolled trip count", () => {
  assertEquals([4, 64, 100, 112, 116, 128, 256].map((d) => laneLoop(d)), [0, 0, 0, 0, 30, 33, 65]);
  assertEquals([116, 120, 128, 132].map((d) => attendKeyIterations(d)), [1, 32, 34, 69]);
  assertEquals(attendKeyIterations(64), 1);
});

/** Runs `keys` steps of key_dot + softmax_add in one invocation; returns the steps it ran. */
async function attendSteps(headDim: number, keys: number): Promise<number> {
  const { device } = testGpu!;
  const code = /* wgsl */ `
struct P { keys: u32 };
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
${headDimWgsl(headDim)}${KEY_DOT_WGSL}${ONLINE_SOFTMAX_WGSL}
@compute @workgroup_size(1)
fn main() {
  var qr: array<vec4<f32>, D4>;
  var acc: array<vec4<f32>, D4>;
  for (var i = 0u; i < D4; i++) { qr[i] = q[i]; acc[i] = vec4<f32>(0.0); }
  var state = softmax_start();
  var steps = 0u;
  for (var j = 0u; j < p.keys; j++) {
    softmax_add(&state, &acc, key_dot(&qr, 0u), 0u);
    steps++;
  }
  out[0] = f32(steps);
  out[1] = acc[0].x + state.denom;
}`;
  const { pipeline } = await compileCompute(device, code, `loop-probe-d${headDim}`);
  const row = createStorage(device, headDim * 4);
  const out = createStorage(device, 16);
  const uniforms = device.createBuffer({
    size: 16,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(uniforms, 0, Uint32Array.of(keys, 0, 0, 0));
  const encoder = device.createCommandEncoder();
  encodePasses(encoder, [[
    pipeline,
    bindInOrder(device, pipeline, [row, row, row, out, uniforms]),
    [1, 1, 1],
  ]]);
  device.queue.submit([encoder.finish()]);
  const steps = new Float32Array(await readBack(device, out, 4))[0];
  for (const b of [row, out, uniforms]) b.destroy();
  return steps;
}

Deno.test({
  name: "the iteration bound never under-counts an attend loop on this adapter",
  ignore: testGpu === null,
  async fn() {
    for (const headDim of [64, 116, 120, 128, 132, 256]) {
      // The init loop's lanes and the key loop's exit are what the kernels add on top.
      const keys = Math.floor(
        (LOOP_LIMIT - 2 * laneLoop(headDim) - 2) / attendKeyIterations(headDim),
      );
      assertEquals(await attendSteps(headDim, keys), keys, `head dim ${headDim}`);
    }
    if (testGpu!.info.description.includes("llvmpipe")) {
      // The limit is real here: the same loop one key past it stops at the limit.
      assertEquals(await attendSteps(64, LOOP_LIMIT + 10), LOOP_LIMIT);
    }
  },
});

Deno.test({
  name: "a kernel set up past the bound refuses to run, naming itself",
  ignore: testGpu === null,
  async fn() {
    // Dense attention at head dim 256 costs 131 iterations a key: 600 keys is past the limit.
    const shape = { heads: 1, seq: 600, headDim: 256, causal: false };
    const inputs = uploadInputs(testGpu!, randomInputs(shape, 1));
    try {
      await assertRejects(
        () => setupBandedAttention(testGpu!, { shape, inputs, window: 0 }),
        RangeError,
        "'banded-attention'",
      );
      // A window of 400 keys fits.
      const kernel = await setupBandedAttention(testGpu!, { shape, inputs, window: 400 });
      kernel.dispose();
    } finally {
      destroyInputs(inputs);
    }
  },
});
