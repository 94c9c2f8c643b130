// The bench's evaluation of every committed adapter-transfer checkpoint reproduces its card's
// test accuracy exactly, and its timed forward passes the float64 check.
import { assert, assertEquals } from "../tests/assert.ts";
import { adapterOf } from "./families/moe/mod.ts";
import { cartesian } from "./plan.ts";
import type { TaskContext } from "./plugin.ts";
import { adapterMethods } from "../methods/moe/mod.ts";
import { FASHION_DIR } from "../datasets/fashion_mnist/fashion_mnist.ts";
import { ADAPTER_MODELS } from "../datasets/adapter_transfer/adapter_model.ts";
import {
  adapterCheckpointName,
  adapterTransfer,
} from "../datasets/adapter_transfer/adapter_transfer_task.ts";

const fashion = await Deno.stat(FASHION_DIR).then(() => true, () => false);
const ctx: TaskContext = {
  gpu: null,
  seed: 1,
  taskSeed: 1,
  profile: "smoke",
  dump: false,
  minSampleMs: 1,
};

Deno.test({
  name: "adapter-transfer reproduces every committed card's test accuracy exactly",
  ignore: !fashion,
  async fn() {
    const cards = [...Deno.readDirSync(ADAPTER_MODELS)].filter((f) => f.name.endsWith(".json"))
      .map((f) => f.name.replace(/\.json$/, "")).sort();
    const prepared = await adapterTransfer.impl.prepare({ batch: 7 }, ctx);
    const evaluated: string[] = [];
    for (const method of adapterMethods) {
      const sweeps = Object.fromEntries(
        Object.entries(method.meta.parameters).map(([name, spec]) => [name, spec.sweep]),
      );
      for (const params of cartesian(sweeps)) {
        assert(adapterOf(method), method.meta.id);
        const name = adapterCheckpointName(method, params);
        const trial = await prepared.bind(method, params);
        assert((await trial.sample()).wallMs > 0);
        const result = await trial.finish();
        assert(result.check.passed, `${name}: ${result.check.maxAbsError}`);
        const m = result.metrics;
        assertEquals(m.test_accuracy, m.card_test_accuracy, name);
        assert(
          m.test_accuracy_ci95_low <= m.test_accuracy &&
            m.test_accuracy <= m.test_accuracy_ci95_high,
        );
        if (method.meta.id === "adapter") assertEquals(m.accuracy_minus_adapter, 0);
        evaluated.push(name);
        trial.dispose();
      }
    }
    // every committed card is some method's recipe, and every recipe's card is committed
    assertEquals(evaluated.sort(), cards);
  },
});
