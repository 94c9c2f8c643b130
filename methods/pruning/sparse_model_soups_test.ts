import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import {
  averageSharedMask,
  globalMagnitudeStep,
  greedySoupMembers,
} from "../../bench/families/pruning/mod.ts";
import { Linear } from "../../bench/nn/layers.ts";
import { Mlp } from "../../bench/nn/mlp.ts";
import { mulberry32 } from "../../bench/random.ts";
import { smsPlan, sparseModelSoups } from "./sparse_model_soups.ts";
import { sparseTrainingOf } from "../../bench/families/pruning/mod.ts";

Deno.test("globalMagnitudeStep() prunes the smallest |w| across layers to the exact count", () => {
  const a = new Linear("a", 3, 1), b = new Linear("b", 2, 1);
  a.weight.data.set([0.3, -0.01, 0.2]);
  b.weight.data.set([-0.05, 0.4]);
  // 5 weights at 60%: round(0.4 · 5) = 2 kept, the two largest anywhere.
  assertEquals(globalMagnitudeStep([a, b], 0.6), [1, 1]);
  assertEquals(Array.from(a.weight.mask!), [1, 0, 0]);
  assertEquals(Array.from(b.weight.mask!), [0, 1]);
  assertEquals(Array.from(a.weight.data), [0.30000001192092896, 0, 0]);
  // A second phase only prunes among the kept weights; it cannot make the model denser.
  assertEquals(globalMagnitudeStep([a, b], 0.8), [0, 1]);
  assertThrows(() => globalMagnitudeStep([a, b], 0.4), RangeError, "keep 1 weights already");
});

/** Copies of one pruned model whose kept weights moved apart, as retrained members would. */
function members(count: number): { pruned: Mlp; copies: Mlp[] } {
  const pruned = new Mlp([9, 7, 5, 3]);
  pruned.init(3);
  globalMagnitudeStep(pruned.layers, 0.7);
  const copies = Array.from({ length: count }, (_, k) => {
    const copy = new Mlp(pruned.sizes), random = mulberry32(k + 1);
    copy.parameters().forEach((p, i) => {
      const q = pruned.parameters()[i];
      p.data.set(q.data);
      p.setMask(q.mask ? Float32Array.from(q.mask) : null);
      for (let j = 0; j < p.size; j++) p.data[j] += random() - 0.5;
      p.applyMask();
    });
    return copy;
  });
  return { pruned, copies };
}

Deno.test("averageSharedMask() keeps the shared mask exactly and averages the kept weights", () => {
  const { pruned, copies } = members(3);
  const soup = new Mlp(pruned.sizes);
  averageSharedMask(copies.map((c) => c.parameters()), soup.parameters());
  soup.parameters().forEach((p, i) => {
    const mask = pruned.parameters()[i].mask;
    assertEquals(p.mask ? Array.from(p.mask) : null, mask ? Array.from(mask) : null, p.name);
    for (let j = 0; j < p.size; j++) {
      const values = copies.map((c) => c.parameters()[i].data[j]);
      if (mask && mask[j] === 0) assertEquals(p.data[j], 0, `${p.name}[${j}] pruned`);
      else assertEquals(p.data[j], Math.fround(values.reduce((a, b) => a + b, 0) / 3));
    }
  });
  // The soup is exactly as sparse as every member.
  soup.layers.forEach((l, i) =>
    assertEquals(l.weight.density(), pruned.layers[i].weight.density())
  );
  // The members do differ, so the average is not one of them.
  assert(copies[0].layers[0].weight.data.some((v, j) => v !== copies[1].layers[0].weight.data[j]));
});

Deno.test("averageSharedMask() refuses members whose masks differ", () => {
  const { pruned, copies } = members(2);
  const w = copies[1].layers[1].weight;
  const kept = w.mask!.indexOf(1);
  w.mask![kept] = 0;
  assertThrows(
    () => averageSharedMask(copies.map((c) => c.parameters()), new Mlp(pruned.sizes).parameters()),
    RangeError,
    `member 2's 'fc2.weight' differs from member 1's at entry ${kept}`,
  );
});

Deno.test("greedySoupMembers() adds members best first while the soup does not get worse", () => {
  const scores = [0.90, 0.95, 0.93, 0.80];
  // Soups with member 3 (index 3) score lower; the others help.
  const soupScore = (chosen: number[]) => chosen.includes(3) ? 0.5 : 0.94 + 0.01 * chosen.length;
  assertEquals(greedySoupMembers(scores, soupScore), [1, 2, 0]);
});

Deno.test("sparse-model-soups plans its phases and names one checkpoint per part", () => {
  const p = { sparsity: "95%", members: 4, retrainEpochs: 2, part: "member3" };
  assertEquals(smsPlan(p).phases, [0.9, 0.95]);
  assertEquals(smsPlan({ ...p, sparsity: "90%" }).phases, [0.9]);
  assertThrows(() => smsPlan({ ...p, members: 2 }), RangeError, "needs at least 3 members");
  assertEquals(
    sparseTrainingOf(sparseModelSoups)!.recipe(p),
    "sparse-model-soups-s95-m4-r2-member3",
  );
});
