import { assert, assertEquals } from "../../tests/assert.ts";
import { BottleneckAdapter } from "../../bench/families/moe/mod.ts";
import { mulberry32 } from "../../bench/random.ts";
import { mergeModules, MosaTrainer, partitionEntries } from "./mosa.ts";

/** Two small adapters (odd widths) with nonzero up weights, so every tensor gets a gradient. */
function adapters(): BottleneckAdapter[] {
  return [[7, 3], [5, 2]].map(([d, r], i) => {
    const a = new BottleneckAdapter(`adapter${i + 1}`, d, r);
    a.init(11);
    const u = mulberry32(5 + i);
    for (const p of a.up) for (let j = 0; j < p.size; j++) p.data[j] = u() - 0.5;
    return a;
  });
}

/** One training step of the adapters on seeded inputs (loss: Σ outputs · seeded weights). */
function step(trainer: MosaTrainer, list: BottleneckAdapter[], s: number): void {
  for (const a of list) for (const p of a.parameters()) p.grad.fill(0);
  trainer.beforeStep(s);
  const u = mulberry32(100 + s);
  for (const a of list) {
    const rows = 4, h = Float32Array.from({ length: rows * a.dim }, () => u() - 0.5);
    a.forward(h, rows);
    a.backward(Float32Array.from({ length: rows * a.dim }, () => u() - 0.5));
  }
  trainer.update(1e-2);
}

Deno.test("partitionEntries() gives disjoint modules that cover the tensor, balanced", () => {
  for (const [size, k] of [[10, 3], [257, 4], [1, 4], [96, 1]]) {
    const owner = partitionEntries(size, k, mulberry32(size));
    const sizes = Array.from({ length: k }, (_, m) => owner.filter((o) => o === m).length);
    // every entry in exactly one module (owner has one value per entry, all in range)
    assert(owner.every((o) => o < k));
    assertEquals(sizes.reduce((a, b) => a + b, 0), size);
    assert(Math.max(...sizes) - Math.min(...sizes) <= 1);
  }
});

Deno.test("MosaTrainer's modules of every tensor are disjoint and cover it, and start as the init", () => {
  const list = adapters();
  const init = list.flatMap((a) => a.parameters().map((p) => Float32Array.from(p.data)));
  const trainer = new MosaTrainer({ adapters: list, seed: 3, weightDecay: 0.01 }, {
    modules: 3,
    shareDown: false,
  });
  let t = 0;
  for (const projection of trainer.projections) {
    for (const tensor of projection.tensors) {
      assertEquals(tensor.modules.length, 3);
      const owners = new Uint8Array(tensor.param.size);
      tensor.optimizers.forEach((opt) => opt.entries.forEach((i) => owners[i]++));
      assert(owners.every((c) => c === 1), `${tensor.param.name}: an entry in 0 or 2+ modules`);
      // a module is zero outside its own entries
      tensor.modules.forEach((m, k) => {
        const own = new Set(tensor.optimizers[k].entries);
        m.forEach((v, i) => own.has(i) || assertEquals(v, 0));
      });
      // their union is the init; the merge is that union over K
      const union = init[t++].map((v) => v / 3);
      assertEquals([...mergeModules(tensor.modules)], [...union]);
    }
  }
});

Deno.test("MosaTrainer's step changes only its active module of each projection", () => {
  const list = adapters();
  const trainer = new MosaTrainer({ adapters: list, seed: 9, weightDecay: 0.01 }, {
    modules: 4,
    shareDown: false,
  });
  let sawChange = 0;
  for (let s = 0; s < 6; s++) {
    const before = trainer.projections.map((p) =>
      p.tensors.map((t) => t.modules.map((m) => Float32Array.from(m)))
    );
    step(trainer, list, s);
    trainer.projections.forEach((p, j) => {
      p.tensors.forEach((t, q) => {
        t.modules.forEach((m, k) => {
          const changed = m.some((v, i) => v !== before[j][q][k][i]);
          if (k !== p.active) assert(!changed, `${t.param.name}: inactive module ${k} changed`);
          else if (changed) sawChange++;
          // nothing outside a module's entries ever becomes nonzero
          const own = new Set(t.optimizers[k].entries);
          m.forEach((v, i) => own.has(i) || assertEquals(v, 0));
        });
        // the forward of that step used the active module alone
        assertEquals([...t.param.data], [...t.modules[p.active]]);
      });
    });
  }
  assert(sawChange > 0, "no active module ever changed");
});

Deno.test("MosaTrainer.finish() merges the adapter into the sum of its modules over K", () => {
  const list = adapters();
  const trainer = new MosaTrainer({ adapters: list, seed: 4, weightDecay: 0 }, {
    modules: 3,
    shareDown: true,
  });
  for (let s = 0; s < 5; s++) step(trainer, list, s);
  trainer.finish();
  for (const p of trainer.projections) {
    for (const t of p.tensors) {
      const sum = new Float32Array(t.param.size);
      for (const m of t.modules) for (let i = 0; i < sum.length; i++) sum[i] += m[i];
      const k = t.modules.length;
      assertEquals([...t.param.data], [...sum.map((v) => v / k)]);
    }
  }
  // the plain union (merge "sum") is the modules' sum itself
  const union = new MosaTrainer({ adapters: adapters(), seed: 4, weightDecay: 0 }, {
    modules: 3,
    shareDown: false,
    variant: "sum",
  });
  union.finish();
  for (const t of union.projections.flatMap((p) => p.tensors)) {
    assertEquals([...t.param.data], [...mergeModules(t.modules, "sum")]);
    const sum = new Float32Array(t.param.size);
    for (const m of t.modules) for (let i = 0; i < sum.length; i++) sum[i] += m[i];
    assertEquals([...t.param.data], [...sum]);
  }
  // shareDown: the down projections are one module, trained every step
  assertEquals(trainer.projections[0].tensors[0].modules.length, 1);
  assertEquals(trainer.projections[1].tensors[0].modules.length, 3);
});

Deno.test("MosaTrainer.activeWeights() counts the active modules' weight entries", () => {
  const list = adapters();
  const trainer = new MosaTrainer({ adapters: list, seed: 2, weightDecay: 0 }, {
    modules: 4,
    shareDown: false,
  });
  trainer.beforeStep(0);
  const counts = trainer.activeWeights();
  assertEquals(counts.length, 4);
  // weights of 21, 21, 10 and 10 entries in 4 modules: ⌊n/4⌋ or ⌈n/4⌉ entries each
  [21, 21, 10, 10].forEach((n, p) =>
    assert(
      counts[p] === Math.floor(n / 4) || counts[p] === Math.ceil(n / 4),
      `projection ${p}: ${counts[p]} active entries of ${n}`,
    )
  );
});

Deno.test("MosaTrainer's dense-forward step changes only the drawn module's entries", () => {
  const list = adapters();
  const trainer = new MosaTrainer({ adapters: list, seed: 6, weightDecay: 0.01 }, {
    modules: 4,
    shareDown: false,
    variant: "dense-forward",
  });
  for (let s = 0; s < 4; s++) {
    const before = list.flatMap((a) => a.parameters().map((p) => Float32Array.from(p.data)));
    step(trainer, list, s);
    let t = 0;
    for (const p of trainer.projections) {
      for (const tensor of p.tensors) {
        const own = new Set(tensor.optimizers[p.active].entries), was = before[t++];
        tensor.param.data.forEach((v, i) =>
          own.has(i) || assertEquals(v, was[i], `${tensor.param.name}[${i}] changed`)
        );
      }
    }
    // the forward used every entry; the update, the drawn module's
    assertEquals(trainer.activeWeights(), [21, 21, 10, 10]);
  }
  // the merge is the union: the tensor as it stands, which is the modules' sum
  const kept = list.flatMap((a) => a.parameters().map((p) => Float32Array.from(p.data)));
  trainer.finish();
  assertEquals(
    list.flatMap((a) => a.parameters().flatMap((p) => [...p.data])),
    kept.flatMap((k) => [...k]),
  );
});
