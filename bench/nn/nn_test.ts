import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../../tests/assert.ts";
import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
import { encodeCheckpoint, loadCheckpoint } from "./checkpoint.ts";
import { collectInputGram, collectInputNorms } from "./hooks.ts";
import { softmaxCrossEntropy } from "./layers.ts";
import { Mlp } from "./mlp.ts";
import { AdamW, cosineLr } from "./optim.ts";
import { Param } from "./param.ts";
import { mulberry32 } from "../random.ts";

function smallMlp(seed = 1): Mlp {
  const m = new Mlp([6, 5, 4, 3]);
  m.init(seed);
  return m;
}

Deno.test("safetensors round-trips tensors and metadata", () => {
  const bytes = encodeSafetensors(
    [{ name: "a", shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }, {
      name: "b",
      shape: [1],
      data: Float32Array.from([7]),
    }],
    { note: "x" },
  );
  const header = JSON.parse(
    new TextDecoder().decode(
      bytes.subarray(8, 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))),
    ),
  );
  assertEquals(header.a, { dtype: "F32", shape: [2, 3], data_offsets: [0, 24] });
  const { tensors, metadata } = decodeSafetensors(bytes);
  assertEquals([...tensors.get("a")!.data], [1, 2, 3, 4, 5, 6]);
  assertEquals(tensors.get("b")!.shape, [1]);
  assertEquals(metadata, { note: "x" });
});

Deno.test("checkpoints restore weights and masks, and refuse a different model", () => {
  const a = smallMlp(1);
  const mask = new Float32Array(30).fill(1);
  mask[3] = 0;
  a.layers[0].weight.setMask(mask);
  const b = smallMlp(2);
  loadCheckpoint(b.parameters(), encodeCheckpoint(a.parameters()));
  assertEquals(b.layers[1].weight.data, a.layers[1].weight.data);
  assertEquals(b.layers[0].weight.mask, mask);
  assertEquals(b.layers[0].weight.data[3], 0);
  const other = new Mlp([6, 7, 3]);
  assertThrows(
    () => loadCheckpoint(other.parameters(), encodeCheckpoint(a.parameters())),
    Error,
    "fc1.weight",
  );
});

Deno.test("a hard mask zeroes weights in forward, gradients and updates", () => {
  const m = smallMlp();
  const w = m.layers[0].weight;
  const mask = Float32Array.from({ length: w.size }, (_, i) => i % 2);
  w.keepDenseGrad = true;
  w.setMask(mask);
  const x = Float32Array.from({ length: 12 }, (_, i) => i / 12);
  const opt = new AdamW(m.parameters(), { lr: 0.1 });
  opt.zeroGrad();
  m.backward(softmaxCrossEntropy(m.forward(x, 2), Int32Array.from([0, 2])).dlogits);
  opt.step();
  for (let i = 0; i < w.size; i += 2) {
    assert(w.data[i] === 0 && w.grad[i] === 0, `masked weight ${i} moved`);
  }
  assert(
    w.denseGrad!.some((g, i) => i % 2 === 0 && g !== 0),
    "the dense gradient is kept for RigL",
  );
  assertAlmostEquals(w.density(), 0.5);
});

Deno.test("a straight-through mask masks forward but trains the dense weights (SR-STE)", () => {
  const m = smallMlp();
  const w = m.layers[0].weight;
  const before = w.data.slice();
  w.setMask(Float32Array.from({ length: w.size }, (_, i) => i % 2), "straight-through");
  assertEquals(w.data, before, "weights are kept");
  assertEquals(w.effective()[0], 0);
  const opt = new AdamW(m.parameters(), { lr: 0.1 });
  opt.zeroGrad();
  m.backward(
    softmaxCrossEntropy(m.forward(new Float32Array(12).fill(0.5), 2), Int32Array.from([0, 1]))
      .dlogits,
  );
  opt.step();
  assert(w.data[0] !== before[0], "a masked weight still moves");
});

Deno.test("input hooks gather Wanda norms and the SparseGPT Gram matrix", () => {
  const m = smallMlp();
  const norms = collectInputNorms(m.layers[0]);
  const gram = collectInputGram(m.layers[0]);
  const x = Float32Array.from({ length: 12 }, (_, i) => i - 5);
  m.forward(x, 2);
  assertEquals(norms.rows(), 2);
  assertAlmostEquals(norms.value()[0], Math.hypot(-5, 1), 1e-9);
  assertAlmostEquals(gram.value()[1], -5 * -4 + 1 * 2, 1e-9);
  norms.detach();
  gram.detach();
  assertEquals(m.layers[0].inputHooks.length, 0);
});

Deno.test("AdamW with cosine decay fits a small problem deterministically", () => {
  const run = () => {
    const m = smallMlp(3);
    const u = mulberry32(4);
    const x = Float32Array.from({ length: 8 * 6 }, () => u());
    const y = Int32Array.from({ length: 8 }, (_, i) => i % 3);
    const opt = new AdamW(m.parameters(), { lr: 0.05, weightDecay: 0.01 });
    let loss = 0;
    for (let s = 0; s < 150; s++) {
      opt.lr = cosineLr(s, { maxLr: 0.05, minLr: 0.001, warmup: 10, total: 150 });
      opt.zeroGrad();
      const r = softmaxCrossEntropy(m.forward(x, 8), y);
      loss = r.loss;
      m.backward(r.dlogits);
      opt.step();
    }
    return { loss, w: m.layers[2].weight.data.slice() };
  };
  const a = run(), b = run();
  assert(a.loss < 0.05, `loss ${a.loss}`);
  assertEquals(a.w, b.w);
});

Deno.test("cosineLr() warms up linearly, then decays to the minimum", () => {
  const s = { maxLr: 1, minLr: 0.1, warmup: 10, total: 110 };
  assertAlmostEquals(cosineLr(0, s), 0.1);
  assertAlmostEquals(cosineLr(9, s), 1);
  assertAlmostEquals(cosineLr(60, s), 0.55, 1e-9);
  assertAlmostEquals(cosineLr(110, s), 0.1);
});

Deno.test("Param.setMask() refuses a mask of the wrong size", () => {
  assertThrows(
    () => new Param("w", [2, 2]).setMask(new Float32Array(3)),
    RangeError,
    "must have 4 entries",
  );
});

Deno.test("AdamW state export and import resume a run exactly", () => {
  const u = mulberry32(8);
  const x = Float32Array.from({ length: 4 * 6 }, () => u());
  const y = Int32Array.from([0, 1, 2, 1]);
  const stepOnce = (m: Mlp, opt: AdamW) => {
    opt.zeroGrad();
    m.backward(softmaxCrossEntropy(m.forward(x, 4), y).dlogits);
    opt.step();
  };
  const a = smallMlp(4), optA = new AdamW(a.parameters(), { lr: 0.01 });
  for (let s = 0; s < 6; s++) stepOnce(a, optA);
  const b = smallMlp(4), optB = new AdamW(b.parameters(), { lr: 0.01 });
  for (let s = 0; s < 3; s++) stepOnce(b, optB);
  const c = smallMlp(9), optC = new AdamW(c.parameters(), { lr: 0.01 });
  c.parameters().forEach((p, k) => p.data.set(b.parameters()[k].data));
  const state = optB.exportState();
  optC.importState({
    t: state.t,
    m: state.m.map((m) => m.slice()),
    v: state.v.map((v) => v.slice()),
  });
  for (let s = 0; s < 3; s++) stepOnce(c, optC);
  c.parameters().forEach((p, k) => assertEquals(p.data, a.parameters()[k].data));
});
