// The bench's evaluation of every committed adapter-transfer checkpoint reproduces its card's
// test accuracy exactly, and its timed forward passes the float64 check.
import { assert, assertEquals } from "../tests/assert.ts";
import { adapterOf } from "./families/moe/mod.ts";
import { cartesian } from "./plan.ts";
import type { TaskContext } from "./plugin.ts";
import { adapterMethods } from "../methods/moe/mod.ts";
import { FASHION_DIR, loadFashionMnist } from "../datasets/fashion_mnist/fashion_mnist.ts";
import { defaultParams } from "./metadata.ts";
import {
  ADAPTER_MODELS,
  adapterCorrect,
  loadAdapterModel,
  shareCorrect,
} from "../datasets/adapter_transfer/adapter_model.ts";
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
  name: "adapter-transfer's scoring reproduces every committed card's test accuracy exactly",
  ignore: !fashion,
  async fn() {
    const cards = [...Deno.readDirSync(ADAPTER_MODELS)].filter((f) => f.name.endsWith(".json"))
      .map((f) => f.name.replace(/\.json$/, "")).sort();
    const test = await loadFashionMnist("test");
    const evaluated: string[] = [];
    for (const method of adapterMethods) {
      assert(adapterOf(method), method.meta.id);
      const sweeps = Object.fromEntries(
        Object.entries(method.meta.parameters).map(([name, spec]) => [name, spec.sweep]),
      );
      for (const params of cartesian(sweeps)) {
        const name = adapterCheckpointName(method, params);
        // the loader and scoring path the task's cells use
        const { net, card } = await loadAdapterModel(name);
        assertEquals(shareCorrect(adapterCorrect(net, test)), card.metrics.testAccuracy, name);
        evaluated.push(name);
      }
    }
    // every committed card is some method's recipe, and every recipe's card is committed
    assertEquals(evaluated.sort(), cards);
  },
});

Deno.test({
  name: "adapter-transfer's cell for MoSA passes its check and reports the card's accuracy",
  ignore: !fashion,
  async fn() {
    const prepared = await adapterTransfer.impl.prepare({ batch: 7 }, ctx);
    const mosa = adapterMethods.find((m) => m.meta.id === "mosa")!;
    const trial = await prepared.bind(mosa, defaultParams(mosa.meta.parameters));
    assert((await trial.sample()).wallMs > 0);
    const result = await trial.finish();
    assert(result.check.passed, `${result.check.maxAbsError}`);
    const m = result.metrics;
    assertEquals(m.test_accuracy, m.card_test_accuracy);
    assert(
      m.test_accuracy_ci95_low <= m.test_accuracy && m.test_accuracy <= m.test_accuracy_ci95_high,
    );
    assert(
      m.accuracy_minus_adapter_ci95_low <= m.accuracy_minus_adapter &&
        m.accuracy_minus_adapter <= m.accuracy_minus_adapter_ci95_high,
    );
    trial.dispose();
  },
});
