// The iteration bound against the adapter: on llvmpipe a loop past LOOP_LIMIT really is cut
// short, and an attend loop (key_dot + softmax_add) or a row log-sum-exp's loop (stored_key_dot)
// of as many keys as the bound allows really runs them all, at head dims where the lane loops
// unroll and where they do not (the bound must never under-count).
import { assert, assertEquals, assertRejects, assertThrows } from "../../../tests/assert.ts";
import { testGpu } from "../../../tests/gpu.ts";
import { compileCompute, createStorage, readBack } from "../../gpu/buffers.ts";
import { bindInOrder, encodePasses } from "../../gpu/passes.ts";
import {
  assertIterationBound,
  assertIterationBounds,
  attendKeyIterations,
  headDimWgsl,
  KEY_DOT_UNROLLED,
  KEY_DOT_WGSL,
  laneLoop,
  LOOP_LIMIT,
  ONLINE_SOFTMAX_WGSL,
  randomInputs,
  setupBandedAttention,
  STORED_KEY_DOT_WGSL,
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
  assertEquals([4, 64, 68, 100, 128, 256].map((d) => laneLoop(d)), [0, 0, 18, 26, 33, 65]);
  assertEquals([100, 112, 116].map((d) => laneLoop(d, 28)), [0, 0, 30]);
  assertEquals([116, 120, 128, 132].map((d) => attendKeyIterations(d)), [1, 32, 34, 69]);
  assertEquals(attendKeyIterations(64), 1);
});

/** How each probed loop step reads: the snippets it needs and the call one step makes. */
const STEPS = {
  attend: {
    wgsl: KEY_DOT_WGSL + ONLINE_SOFTMAX_WGSL,
    step: "softmax_add(&state, &acc, key_dot(&qr, 0u), 0u);",
    perKey: attendKeyIterations,
  },
  storedDot: {
    wgsl: STORED_KEY_DOT_WGSL + ONLINE_SOFTMAX_WGSL,
    step: "state.denom += stored_key_dot(0u, 0u);",
    perKey: (d: number) => 1 + laneLoop(d, KEY_DOT_UNROLLED),
  },
};

/** Runs `keys` steps of a probed loop in one invocation; returns the steps it ran. */
async function loopSteps(kind: keyof typeof STEPS, headDim: number, keys: number): Promise<number> {
  const { device } = testGpu!;
  const code = /* wgsl */ `
struct P { keys: u32 };
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
${headDimWgsl(headDim)}${STEPS[kind].wgsl}
@compute @workgroup_size(1)
fn main() {
  var qr: array<vec4<f32>, D4>;
  var acc: array<vec4<f32>, D4>;
  for (var i = 0u; i < D4; i++) { qr[i] = q[i]; acc[i] = vec4<f32>(0.0); }
  var state = softmax_start();
  var steps = 0u;
  for (var j = 0u; j < p.keys; j++) {
    ${STEPS[kind].step}
    steps++;
  }
  out[0] = f32(steps);
  out[1] = acc[0].x + state.denom + v[0].x + k[0].x;
}`;
  const { pipeline } = await compileCompute(device, code, `loop-probe-${kind}-d${headDim}`);
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
    // Head dims around where each lane loop stops unrolling (and far past it).
    const probes = [
      ["attend", 64],
      ["attend", 116],
      ["attend", 120],
      ["attend", 132],
      ["attend", 256],
      ["storedDot", 128],
      ["storedDot", 132],
    ] as const;
    for (const [kind, headDim] of probes) {
      // The init loop's lanes and the key loop's exit are what the kernels add on top.
      const keys = Math.floor(
        (LOOP_LIMIT - 2 * laneLoop(headDim) - 2) / STEPS[kind].perKey(headDim),
      );
      assertEquals(await loopSteps(kind, headDim, keys), keys, `${kind}, head dim ${headDim}`);
    }
    if (testGpu!.info.description.includes("llvmpipe")) {
      // The limit is real here: the same loop one key past it stops at the limit.
      assertEquals(await loopSteps("attend", 64, LOOP_LIMIT + 10), LOOP_LIMIT);
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
