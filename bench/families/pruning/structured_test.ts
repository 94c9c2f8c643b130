import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertStringIncludes,
} from "../../../tests/assert.ts";
import {
  checkPruneTarget,
  checkStructuredTarget,
  keptColumns,
  keptRows,
  removedUnits,
  removeUnits,
  shrinkLinear,
  shrunkLayers,
  shrunkMacsPerRow,
  structuredTolerance,
  type UnitGroup,
} from "./mod.ts";
import type { Linear } from "../../nn/layers.ts";
import { Gpt } from "../../nn/gpt.ts";
import { Mlp } from "../../nn/mlp.ts";
import { mulberry32 } from "../../random.ts";

/** Uniform values in [-1, 1) from a seed. */
function noise(n: number, seed: number): Float32Array {
  const u = mulberry32(seed);
  return Float32Array.from({ length: n }, () => 2 * u() - 1);
}

/** An MLP with seeded weights and nonzero biases (a removed neuron's bias must not leak). */
function mlp(sizes: number[], seed = 1): Mlp {
  const model = new Mlp(sizes);
  model.init(seed);
  model.layers.forEach((l, i) => l.bias!.data.set(noise(l.outFeatures, seed + 10 + i)));
  return model;
}

/** A small GPT with seeded weights and nonzero biases. */
function gpt(seed = 2): Gpt {
  const model = new Gpt({ vocab: 11, context: 6, dim: 8, heads: 2, layers: 2 });
  model.init(seed);
  model.linears().forEach((l, i) => l.bias?.data.set(noise(l.outFeatures, seed + 20 + i)));
  return model;
}

const IDS = Int32Array.from({ length: 12 }, (_, i) => (i * 7 + 3) % 11);

/** How many times each row (producers) or column (consumers) of `layer` belongs to a unit. */
function coverage(groups: UnitGroup[], layer: Linear, side: "producers" | "consumers"): number[] {
  const count = new Array(side === "producers" ? layer.outFeatures : layer.inFeatures).fill(0);
  for (const g of groups) {
    for (const s of g[side]) {
      if (s.layer !== layer) continue;
      for (let i = s.offset; i < s.offset + g.size * s.width; i++) count[i]++;
    }
  }
  return count;
}

/** A hook that zeroes columns [from, to) of a layer's input, as if those units output zero. */
function zeroInputs(layer: Linear, from: number, to: number): void {
  layer.inputHooks.push((x, rows, f) => {
    for (let r = 0; r < rows; r++) x.fill(0, r * f + from, r * f + to);
  });
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assertEquals(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

Deno.test("Mlp.units() lists each hidden layer's neurons: rows of its layer, columns of the next", () => {
  const model = mlp([7, 5, 4, 3]);
  const groups = model.units();
  assertEquals(groups.map((g) => [g.name, g.kind, g.size]), [["fc1", "neuron", 5], [
    "fc2",
    "neuron",
    4,
  ]]);
  const [fc1, fc2, fc3] = model.layers;
  assertEquals(coverage(groups, fc1, "producers"), [1, 1, 1, 1, 1]);
  assertEquals(coverage(groups, fc2, "producers"), [1, 1, 1, 1]);
  assertEquals(coverage(groups, fc3, "producers"), [0, 0, 0], "the classifier's outputs");
  assertEquals(coverage(groups, fc1, "consumers"), new Array(7).fill(0), "the input pixels");
  assertEquals(coverage(groups, fc2, "consumers"), [1, 1, 1, 1, 1]);
  assertEquals(coverage(groups, fc3, "consumers"), [1, 1, 1, 1]);
});

Deno.test("removeUnits() on an MLP neuron changes the output exactly as zeroing its activation does", () => {
  const x = noise(6 * 7, 5);
  const dense = mlp([7, 5, 4, 3]).forward(x, 6);
  for (const [gi, u] of [[0, 0], [0, 3], [1, 2]]) {
    const removed = mlp([7, 5, 4, 3]);
    const group = removed.units()[gi];
    removeUnits(group, Array.from({ length: group.size }, (_, i) => i === u));
    const zeroed = mlp([7, 5, 4, 3]);
    zeroInputs(zeroed.layers[gi + 1], u, u + 1);
    const got = removed.forward(x, 6);
    assert(maxAbsDiff(got, zeroed.forward(x, 6)) <= 1e-6, `group ${gi} unit ${u}`);
    assert(maxAbsDiff(got, dense) > 1e-4, `removing group ${gi} unit ${u} changes the logits`);
    assertEquals(removed.layers[gi].bias!.data[u], 0, "the removed neuron's bias is zeroed");
  }
});

Deno.test("Gpt.units() lists every block's heads (q, k, v rows; proj columns) and MLP neurons", () => {
  const model = gpt();
  const groups = model.units();
  assertEquals(groups.map((g) => [g.name, g.kind, g.size]), [
    ["blocks.0.attn", "head", 2],
    ["blocks.0.mlp", "neuron", 32],
    ["blocks.1.attn", "head", 2],
    ["blocks.1.mlp", "neuron", 32],
  ]);
  // dim 8, 2 heads of 4: head h owns q rows 4h…, k rows 8 + 4h…, v rows 16 + 4h….
  const head = groups[0];
  assertEquals(head.producers.map((s) => [s.offset, s.width]), [[0, 4], [8, 4], [16, 4]]);
  assertEquals(head.consumers.map((s) => [s.offset, s.width]), [[0, 4]]);
  for (const b of model.blocks) {
    assertEquals(coverage(groups, b.attn.qkv, "producers"), new Array(24).fill(1));
    assertEquals(coverage(groups, b.attn.proj, "consumers"), new Array(8).fill(1));
    assertEquals(coverage(groups, b.attn.proj, "producers"), new Array(8).fill(0), "residual");
    assertEquals(coverage(groups, b.fc, "producers"), new Array(32).fill(1));
    assertEquals(coverage(groups, b.fcProj, "consumers"), new Array(32).fill(1));
    assertEquals(coverage(groups, b.fc, "consumers"), new Array(8).fill(0), "residual");
  }
  assertEquals(coverage(groups, model.head, "producers"), new Array(11).fill(0));
});

Deno.test("removeUnits() on a GPT head or neuron changes the output exactly as zeroing its output does", () => {
  const dense = gpt().forward(IDS, 2);
  const cases: [number, number, (m: Gpt) => Linear, number][] = [
    [0, 1, (m) => m.blocks[0].attn.proj, 4], // block 0, head 1: proj columns 4…7
    [2, 0, (m) => m.blocks[1].attn.proj, 4],
    [1, 17, (m) => m.blocks[0].fcProj, 1],
    [3, 5, (m) => m.blocks[1].fcProj, 1],
  ];
  for (const [gi, u, consumer, width] of cases) {
    const removed = gpt();
    const group = removed.units()[gi];
    removeUnits(group, Array.from({ length: group.size }, (_, i) => i === u));
    const zeroed = gpt();
    zeroInputs(consumer(zeroed), u * width, (u + 1) * width);
    const got = removed.forward(IDS, 2);
    assert(maxAbsDiff(got, zeroed.forward(IDS, 2)) <= 1e-5, `${group.name} unit ${u}`);
    assert(maxAbsDiff(got, dense) > 1e-5, `removing ${group.name} unit ${u} changes the logits`);
    assertEquals([...removedUnits(group)].indexOf(1), u);
  }
});

Deno.test("removeUnits() composes with masks already set and refuses a wrong number of flags", () => {
  const model = mlp([3, 2, 2]);
  const fc2 = model.layers[1];
  fc2.weight.setMask(Float32Array.from([1, 0, 1, 1]));
  removeUnits(model.units()[0], [true, false]);
  assertEquals([...fc2.weight.mask!], [0, 0, 0, 1]);
  let message = "";
  try {
    removeUnits(model.units()[0], [true]);
  } catch (e) {
    message = (e as Error).message;
  }
  assertStringIncludes(message, "needs 2 flags: got 1");
});

Deno.test("checkStructuredTarget() passes whole units at the target share, through checkPruneTarget too", () => {
  const model = mlp([6, 8, 4, 3]);
  const [g1, g2] = model.units();
  removeUnits(g1, [1, 0, 1, 0, 1, 0, 1, 0]);
  removeUnits(g2, [0, 1, 1, 0]);
  const check = checkStructuredTarget(model, { sparsity: 0.5 });
  assert(check.passed, check.description);
  assertStringIncludes(check.description, "6 of 12 neurons removed");
  assert(checkPruneTarget(model, { pattern: "structured", sparsity: 0.5 }).passed);
  assertEquals(checkStructuredTarget(model, { sparsity: 0.25 }).passed, false, "wrong share");
});

Deno.test("checkStructuredTarget() fails half-removed units: rows without columns, columns without rows", () => {
  // Rows only: the neuron still emits relu(bias) into the next layer.
  const rowsOnly = mlp([6, 4, 3]);
  const fc1 = rowsOnly.layers[0];
  const m1 = new Float32Array(fc1.weight.size).fill(1);
  m1.fill(0, 0, 6);
  fc1.weight.setMask(m1);
  const a = checkStructuredTarget(rowsOnly, { sparsity: 0.25 });
  assertEquals(a.passed, false);
  assertStringIncludes(a.description, "fc1 neuron 0 is half removed");
  // Columns only.
  const colsOnly = mlp([6, 4, 3]);
  const fc2 = colsOnly.layers[1];
  const m2 = new Float32Array(fc2.weight.size).fill(1);
  for (let r = 0; r < 3; r++) m2[r * 4 + 2] = 0;
  fc2.weight.setMask(m2);
  const b = checkStructuredTarget(colsOnly, { sparsity: 0.25 });
  assertEquals(b.passed, false);
  assertStringIncludes(b.description, "fc1 neuron 2 is half removed");
});

Deno.test("checkStructuredTarget() fails stray masked weights, models without units, and kinds that miss the share", () => {
  const stray = mlp([6, 4, 3]);
  removeUnits(stray.units()[0], [1, 1, 0, 0]);
  const mask = Float32Array.from(stray.layers[1].weight.mask!);
  mask[2] = 0; // fc2 row 0, column 2: a kept neuron's column
  stray.layers[1].weight.setMask(mask);
  const a = checkStructuredTarget(stray, { sparsity: 0.5 });
  assertEquals(a.passed, false);
  assertStringIncludes(a.description, "fc2.weight masks row 0, column 2");

  const b = checkStructuredTarget({ linears: () => stray.linears() }, { sparsity: 0.5 });
  assertEquals(b.passed, false);
  assertStringIncludes(b.description, "lists no prunable units");

  // Half the neurons of every block but no head: the heads miss the target.
  const model = gpt();
  for (const g of model.units().filter((g) => g.kind === "neuron")) {
    removeUnits(g, Array.from({ length: g.size }, (_, i) => i % 2));
  }
  const c = checkStructuredTarget(model, { sparsity: 0.5 });
  assertEquals(c.passed, false);
  assertStringIncludes(c.description, "0 of 4 heads removed");
  assertStringIncludes(c.description, "32 of 64 neurons removed");
  for (const g of model.units().filter((g) => g.kind === "head")) removeUnits(g, [0, 1]);
  assert(checkStructuredTarget(model, { sparsity: 0.5 }).passed);
});

Deno.test("checkStructuredTarget() allows half a unit of rounding per group, not more", () => {
  // Hidden layers of 5 and 3 at 50%: each rounds 2.5 and 1.5, so 3 of 8 (2 + 1) passes.
  const groups = mlp([4, 5, 3, 2]).units();
  assertAlmostEquals(structuredTolerance(groups, "neuron"), 0.125, 1e-8);
  for (
    const [flags1, flags2, passed] of [
      [[1, 1, 0, 0, 0], [1, 0, 0], true],
      [[1, 1, 1, 0, 0], [1, 0, 0], true],
      [[1, 1, 1, 1, 1], [1, 1, 1], false],
      [[1, 0, 0, 0, 0], [1, 0, 0], false],
    ] as const
  ) {
    const model = mlp([4, 5, 3, 2]);
    const [g1, g2] = model.units();
    removeUnits(g1, flags1);
    removeUnits(g2, flags2);
    assertEquals(
      checkStructuredTarget(model, { sparsity: 0.5 }).passed,
      passed,
      `${flags1} ${flags2}`,
    );
  }
});

/** x[:, columns] of a row-major [rows × f] matrix. */
function gather(x: Float32Array, rows: number, f: number, columns: Int32Array): Float32Array {
  const out = new Float32Array(rows * columns.length);
  for (let r = 0; r < rows; r++) {
    columns.forEach((c, j) => out[r * columns.length + j] = x[r * f + c]);
  }
  return out;
}

/** x·Wᵀ + b, plainly. */
function linear(
  x: Float32Array,
  rows: number,
  w: { weight: Float32Array; bias: Float32Array | null },
) {
  const inp = x.length / rows, out = w.weight.length / inp;
  const y = new Float32Array(rows * out);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < out; o++) {
      let s = w.bias ? w.bias[o] : 0;
      for (let i = 0; i < inp; i++) s += x[r * inp + i] * w.weight[o * inp + i];
      y[r * out + o] = s;
    }
  }
  return y;
}

Deno.test("a shrunk MLP (kept rows and columns only) computes the masked model's logits", () => {
  const model = mlp([9, 8, 6, 4]);
  const [g1, g2] = model.units();
  removeUnits(g1, [0, 1, 1, 0, 0, 1, 0, 1]);
  removeUnits(g2, [1, 0, 0, 0, 1, 1]);
  const [fc1, fc2, fc3] = model.layers;
  assertEquals([...keptRows(model, fc1)], [0, 3, 4, 6]);
  assertEquals([...keptColumns(model, fc1)], [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assertEquals([...keptColumns(model, fc2)], [0, 3, 4, 6]);
  assertEquals([...keptRows(model, fc2)], [1, 2, 3]);
  assertEquals([...keptColumns(model, fc3)], [1, 2, 3]);
  assertEquals([...keptRows(model, fc3)], [0, 1, 2, 3]);
  const rows = 5, x = noise(rows * 9, 8);
  let h = x;
  shrunkLayers(model).forEach((s, i) => {
    const w = shrinkLinear(s);
    assertEquals(w.weight.length, s.rows.length * s.columns.length);
    h = linear(i === 0 ? gather(h, rows, 9, s.columns) : h, rows, w);
    if (i < 2) h = h.map((v) => Math.max(0, v));
  });
  assert(maxAbsDiff(h, model.forward(x, rows)) <= 1e-5);
  // 4·9 + 3·4 + 4·3 of 8·9 + 6·8 + 4·6.
  assertEquals(shrunkMacsPerRow(model), { shrunk: 60, dense: 144 });
});

Deno.test("every shrunk GPT layer computes the masked layer's kept outputs from its kept inputs", () => {
  const model = gpt();
  const groups = model.units();
  removeUnits(groups[0], [1, 0]);
  removeUnits(groups[1], Array.from({ length: 32 }, (_, i) => i % 4 === 1 ? 1 : 0));
  removeUnits(groups[2], [0, 1]);
  removeUnits(groups[3], Array.from({ length: 32 }, (_, i) => i < 16 ? 1 : 0));
  const rows = 7;
  for (const s of shrunkLayers(model)) {
    const x = noise(rows * s.layer.inFeatures, s.layer.outFeatures);
    const masked = s.layer.forward(x, rows);
    const shrunk = linear(gather(x, rows, s.layer.inFeatures, s.columns), rows, shrinkLinear(s));
    assert(maxAbsDiff(shrunk, gather(masked, rows, s.layer.outFeatures, s.rows)) <= 1e-5);
    // Rows dropped are exactly zero in the masked layer (masked weights, zeroed bias).
    const dropped = Int32Array.from(
      Array.from({ length: s.layer.outFeatures }, (_, i) => i).filter((i) => !s.rows.includes(i)),
    );
    assert(gather(masked, rows, s.layer.outFeatures, dropped).every((v) => v === 0));
  }
  const [qkv0] = model.linears();
  assertEquals([...keptRows(model, qkv0)], [4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23]);
  // Per block: qkv 12·8, proj 8·4, fc and mlp.proj 24·8 then 16·8; head 11·8.
  const block0 = 12 * 8 + 8 * 4 + 24 * 8 + 8 * 24, block1 = 12 * 8 + 8 * 4 + 16 * 8 + 8 * 16;
  assertEquals(shrunkMacsPerRow(model), {
    shrunk: block0 + block1 + 11 * 8,
    dense: 2 * (24 * 8 + 8 * 8 + 32 * 8 + 8 * 32) + 11 * 8,
  });
});
