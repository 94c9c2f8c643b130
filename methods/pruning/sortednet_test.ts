import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import {
  addLeadingGradients,
  copyLeadingBlock,
  holdOutsideBlock,
  nestedSizes,
  sampleNestedWidths,
  sparseTrainingOf,
} from "../../bench/families/pruning/mod.ts";
import { softmaxCrossEntropy } from "../../bench/nn/layers.ts";
import { Mlp } from "../../bench/nn/mlp.ts";
import { AdamW } from "../../bench/nn/optim.ts";
import { mulberry32 } from "../../bench/random.ts";
import { sortedNet, sortedNetPlan } from "./sortednet.ts";

const SIZES = [11, 7, 5, 3];

function inputs(rows: number, seed: number) {
  const random = mulberry32(seed);
  const x = Float32Array.from({ length: rows * SIZES[0] }, () => random());
  const y = Int32Array.from({ length: rows }, () => Math.floor(random() * SIZES.at(-1)!));
  return { x, y };
}

/** The full model with every weight and bias of the units beyond the sub-network zeroed. */
function withOuterUnitsZeroed(full: Mlp, sub: Mlp): Mlp {
  const copy = new Mlp(full.sizes);
  copy.parameters().forEach((p, k) => {
    const q = full.parameters()[k], s = sub.parameters()[k];
    const cols = p.shape[1] ?? 1, subCols = s.shape[1] ?? 1;
    for (let i = 0; i < p.size; i++) {
      const r = Math.floor(i / cols), c = i % cols;
      p.data[i] = r < s.shape[0] && c < subCols ? q.data[i] : 0;
    }
  });
  return copy;
}

Deno.test("nestedSizes() scales the hidden layers only", () => {
  assertEquals(nestedSizes([784, 300, 100, 10], 0.25), [784, 75, 25, 10]);
  assertEquals(nestedSizes([784, 300, 100, 10], 0.75), [784, 225, 75, 10]);
  assertEquals(nestedSizes(SIZES, 1), SIZES);
  assertThrows(() => nestedSizes(SIZES, 0), RangeError, "must be in (0, 1]");
  assertThrows(() => nestedSizes(SIZES, 0.05), RangeError, "without units");
});

Deno.test("a sub-network's forward equals the full model with the outer units removed", () => {
  for (const width of [0.25, 0.5, 0.75]) {
    const full = new Mlp(SIZES);
    full.init(5);
    for (const l of full.layers) l.bias!.data.forEach((_, i, b) => b[i] = 0.1 * (i - 2));
    const sub = new Mlp(nestedSizes(SIZES, width));
    copyLeadingBlock(full, sub);
    // Its weights are the full ones' leading rows and columns (fc2's row 1 starts at 1·7 there).
    if (width >= 0.5) {
      assertEquals(sub.layers[1].weight.data[sub.sizes[1] + 1], full.layers[1].weight.data[7 + 1]);
    }
    const { x } = inputs(6, 1);
    const a = sub.forward(x, 6), b = withOuterUnitsZeroed(full, sub).forward(x, 6);
    a.forEach((v, i) => assert(Math.abs(v - b[i]) <= 1e-5, `width ${width}, logit ${i}`));
  }
});

Deno.test("addLeadingGradients() puts the sub-network's gradient in the leading block", () => {
  const full = new Mlp(SIZES);
  full.init(2);
  const sub = new Mlp(nestedSizes(SIZES, 0.5));
  copyLeadingBlock(full, sub);
  const { x, y } = inputs(4, 3);
  sub.backward(softmaxCrossEntropy(sub.forward(x, 4), y).dlogits);
  addLeadingGradients(full, sub, 0.5);
  const zeroed = withOuterUnitsZeroed(full, sub);
  zeroed.backward(softmaxCrossEntropy(zeroed.forward(x, 4), y).dlogits);
  full.parameters().forEach((p, k) => {
    const reference = zeroed.parameters()[k].grad;
    const cols = p.shape[1] ?? 1, s = sub.parameters()[k], subCols = s.shape[1] ?? 1;
    for (let i = 0; i < p.size; i++) {
      const inside = Math.floor(i / cols) < s.shape[0] && i % cols < subCols;
      const expected = inside ? 0.5 * reference[i] : 0;
      assert(
        Math.abs(p.grad[i] - expected) <= 1e-6,
        `${p.name}[${i}]: ${p.grad[i]} vs ${expected}`,
      );
    }
  });
});

Deno.test("a step that drew only narrow sub-networks updates only their parameters", () => {
  const full = new Mlp(SIZES);
  full.init(4);
  const narrow = new Mlp(nestedSizes(SIZES, 0.5));
  const opt = new AdamW(full.parameters(), { lr: 1e-2, weightDecay: 0.1 });
  const moments = opt.exportState();
  const { x, y } = inputs(5, 9);
  // A first full-width step leaves every entry with nonzero moments (momentum would move it).
  full.backward(softmaxCrossEntropy(full.forward(x, 5), y).dlogits);
  opt.step();
  const step = (hold: boolean) => {
    const before = full.parameters().map((p) => Float32Array.from(p.data));
    const m = moments.m.map((a) => Float32Array.from(a));
    opt.zeroGrad();
    copyLeadingBlock(full, narrow);
    for (const p of narrow.parameters()) p.grad.fill(0);
    narrow.backward(softmaxCrossEntropy(narrow.forward(x, 5), y).dlogits);
    addLeadingGradients(full, narrow, 1);
    const held = hold ? holdOutsideBlock(full, narrow, moments) : null;
    opt.step();
    held?.restore();
    let outsideMoved = 0, insideMoved = 0;
    full.parameters().forEach((p, k) => {
      const s = narrow.parameters()[k], cols = p.shape[1] ?? 1, subCols = s.shape[1] ?? 1;
      for (let i = 0; i < p.size; i++) {
        const inside = Math.floor(i / cols) < s.shape[0] && i % cols < subCols;
        const moved = p.data[i] !== before[k][i] || moments.m[k][i] !== m[k][i];
        if (inside) insideMoved += moved ? 1 : 0;
        else outsideMoved += moved ? 1 : 0;
      }
    });
    return { insideMoved, outsideMoved };
  };
  const held = step(true);
  assertEquals(held.outsideMoved, 0);
  assert(held.insideMoved > 0);
  // Without holding, AdamW's momentum and decay would move the unsampled units.
  assert(step(false).outsideMoved > 0);
});

Deno.test("sampleNestedWidths() draws every width, uniformly with replacement", () => {
  const counts = [0, 0, 0, 0];
  const random = mulberry32(1);
  for (let i = 0; i < 2000; i++) for (const d of sampleNestedWidths(random, 4, 4)) counts[d]++;
  for (const c of counts) assert(Math.abs(c - 2000) < 150, `counts ${counts}`);
});

Deno.test("sortednet names one checkpoint per sub-width and refuses other widths", () => {
  const recipe = sparseTrainingOf(sortedNet)!.recipe;
  assertEquals(recipe({ subWidth: 0.25, draws: 4, seed: 0 }), "sortednet-g4-sub0.25");
  assertEquals(sortedNetPlan({ subWidth: 1, draws: 4, seed: 0 }).widths, [0.25, 0.5, 0.75, 1]);
  assertThrows(() => sortedNetPlan({ subWidth: 0.3, draws: 4, seed: 0 }), RangeError, "0.25, 0.5");
});
