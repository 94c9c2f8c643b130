import { assertEquals } from "../../tests/assert.ts";
import { BottleneckAdapter } from "../../bench/families/moe/mod.ts";
import { AdamW } from "../../bench/nn/optim.ts";
import { mulberry32 } from "../../bench/random.ts";
import { DenseAdapterTrainer } from "./adapter.ts";

Deno.test("DenseAdapterTrainer updates every entry as the engine's AdamW does", () => {
  const make = () => {
    const a = new BottleneckAdapter("adapter1", 6, 3);
    a.init(1);
    return a;
  };
  const ours = make(), theirs = make();
  const trainer = new DenseAdapterTrainer({ adapters: [ours], seed: 0, weightDecay: 0.01 });
  const opt = new AdamW(theirs.parameters(), { lr: 1e-2, weightDecay: 0.01 });
  for (let s = 0; s < 4; s++) {
    const u = mulberry32(s);
    const grads = ours.parameters().map((p) =>
      Float32Array.from({ length: p.size }, () => u() - 0.5)
    );
    ours.parameters().forEach((p, k) => p.grad.set(grads[k]));
    theirs.parameters().forEach((p, k) => p.grad.set(grads[k]));
    trainer.beforeStep(s);
    trainer.update(1e-2);
    opt.step();
  }
  ours.parameters().forEach((p, k) => assertEquals([...p.data], [...theirs.parameters()[k].data]));
  assertEquals(trainer.activeWeights(), [18, 18]);
});
