// Task `adapter-transfer`: the frozen MNIST MLP adapted to Fashion-MNIST by each adapter-tuning
// method's committed checkpoint (the dense adapter, MoSA, a linear probe, full fine-tuning), all
// trained at one budget; scored on the Fashion-MNIST test set with intervals, paired against the
// dense adapter, and the merged model's forward timed on the CPU.
import { type AdapterNet, adapterNetReference, adapterOf } from "../../bench/families/moe/mod.ts";
import { defineTask, type Method, type ParamValues } from "../../bench/metadata.ts";
import type { PreparedCase, TaskContext, Trial, TrialResult } from "../../bench/plugin.ts";
import { bootstrapInterval, mean } from "../../bench/stats.ts";
import { FASHION_FILES, loadFashionMnist } from "../fashion_mnist/fashion_mnist.ts";
import { imagesAsFloat } from "../mnist/idx.ts";
import {
  ADAPTER_PREFIX,
  type AdapterCard,
  adapterCorrect,
  loadAdapterModel,
  shareCorrect,
} from "./adapter_model.ts";

/** The timed logits against the float64 reference: |Δ| ≤ abs + rel·|ref|. */
export const ADAPTER_TOLERANCE = { abs: 1e-4, rel: 1e-4 };

/** A timed sample carries at least this much work (repeated forwards), for the clock's sake. */
const MIN_SAMPLE_MS = 10;

/** The checkpoint name of a method at its parameters, or an error naming the method. */
export function adapterCheckpointName(method: Method, params: ParamValues): string {
  const impl = adapterOf(method);
  if (!impl) {
    throw new RangeError(
      `Cannot evaluate '${method.meta.id}' on adapter-transfer: it is no adapter-tuning method`,
    );
  }
  return `${ADAPTER_PREFIX}-${impl.recipe(params as never)}`;
}

/** Multiply-adds of one example's forward through the net. */
function forwardMacs(net: AdapterNet): number {
  return [...net.backbone, net.head].reduce((s, l) => s + l.weight.size, 0) +
    net.adapters.reduce((s, a) => s + a.down[0].size + a.up[0].size, 0);
}

const interval = (name: string, what: string) => ({
  name,
  description: `${what}; ${name}_ci95_low/high: 95% bootstrap over the 10,000 test images`,
  higherIsBetter: true,
});

export const adapterTransfer = defineTask({
  id: "adapter-transfer",
  family: "moe",
  title: "Adapter tuning: MNIST MLP → Fashion-MNIST",
  description:
    "The committed dense MNIST MLP (784-300-100) frozen as the backbone and adapted to Fashion-MNIST by each adapter-tuning method's committed checkpoint (datasets/adapter_transfer/models/: bottleneck adapters after each hidden layer and a new head, a head alone, or every weight), all trained at one budget (same steps, data order, seed, schedule) on the training split. Scored on the 10,000 test images with bootstrap intervals and the paired difference from the dense adapter (the reference); the merged model's forward on a batch of test images timed on the CPU (WebAssembly GEMM) and checked against a float64 reference. Needs Debian's dataset-fashion-mnist.",
  version: "1.0.0",
  mainMetric: "test_accuracy",
  metrics: [
    interval("test_accuracy", "accuracy on the Fashion-MNIST test set of the committed checkpoint"),
    interval(
      "accuracy_minus_adapter",
      "test accuracy minus the dense adapter's, paired image by image",
    ),
    {
      name: "card_test_accuracy",
      description: "the test accuracy the training recipe wrote on the checkpoint's card",
      higherIsBetter: true,
    },
    {
      name: "trained_parameters",
      description:
        "parameters the method trained and the checkpoint stores (adapters + head, head, or all)",
      higherIsBetter: false,
    },
    {
      name: "train_flops",
      description:
        "training FLOPs on the card: the products each step needed, an adapter module counting only the entries its step activated, plus the frozen first layer's features once",
      higherIsBetter: false,
      unit: "FLOP",
    },
    {
      name: "train_flops_vs_adapter",
      description: "train_flops / the dense adapter's train_flops (same steps)",
      higherIsBetter: false,
    },
    { name: "train_steps", description: "optimizer steps of the recipe", higherIsBetter: false },
    {
      name: "train_minutes",
      description: "wall minutes of training (shared machine: see train_load_average)",
      higherIsBetter: false,
      unit: "min",
    },
    {
      name: "train_cpu_minutes",
      description: "CPU minutes of the training process",
      higherIsBetter: false,
      unit: "min",
    },
    {
      name: "train_load_average",
      description: "the machine's 1-minute load average when training ended",
      higherIsBetter: false,
    },
    {
      name: "logits_max_abs_error",
      description: "largest |timed logit − float64 reference| on the timed batch",
      higherIsBetter: false,
    },
  ],
  referenceMethod: "adapter",
  dataset: {
    id: "fashion-mnist",
    version: "0.0.20200523",
    source:
      "Debian dataset-fashion-mnist 0.0~git20200523.55506a9-1 (datasets/fashion_mnist/README.md; the recipe: datasets/adapter_transfer/README.md)",
    license: "MIT (Zalando SE)",
    sha256: FASHION_FILES.test.images[1],
  },
  parameters: {
    batch: {
      type: "int",
      description: "test images in the timed forward",
      default: 256,
      min: 1,
      max: 10000,
      sweep: [256],
    },
  },
  profiles: { smoke: { batch: [256] }, quick: { batch: [256] }, full: { batch: [1, 256] } },
  requiresFeatures: ["adapter-tuning"],
  impl: {
    async prepare(caseParams, _ctx: TaskContext): Promise<PreparedCase> {
      const test = await loadFashionMnist("test");
      const batch = caseParams.batch as number;
      const reference = await loadAdapterModel(`${ADAPTER_PREFIX}-adapter-r32`);
      const referenceCorrect = adapterCorrect(reference.net, test);
      const referenceFlops = trainFlops(reference.card);
      const referenceMacs = forwardMacs(reference.net);
      const x = imagesAsFloat(test, 0, batch);
      const score = async (method: Method, params: ParamValues) => {
        const { net, card } = await loadAdapterModel(adapterCheckpointName(method, params));
        const correct = adapterCorrect(net, test);
        const values = Array.from(correct);
        const paired = values.map((c, i) => c - referenceCorrect[i]);
        const [lo, hi] = bootstrapInterval(values, mean);
        const [dLo, dHi] = bootstrapInterval(paired, mean);
        const t = card.training as Record<string, number>;
        const metrics: Record<string, number> = {
          test_accuracy: shareCorrect(correct),
          test_accuracy_ci95_low: lo,
          test_accuracy_ci95_high: hi,
          accuracy_minus_adapter: mean(paired),
          accuracy_minus_adapter_ci95_low: dLo,
          accuracy_minus_adapter_ci95_high: dHi,
          card_test_accuracy: card.metrics.testAccuracy,
          trained_parameters: card.trainedParameters,
          train_flops: trainFlops(card),
          train_flops_vs_adapter: trainFlops(card) / referenceFlops,
          train_steps: t.steps,
          train_minutes: t.wallMinutes,
          train_cpu_minutes: t.cpuMinutes,
          train_load_average: t.loadAverage,
        };
        return { net, metrics };
      };
      return {
        datasetSha256: test.sha256,
        referenceMetrics: async (method, params) => (await score(method, params)).metrics,
        async bind(method, params): Promise<Trial> {
          const { net, metrics } = await score(method, params);
          let logits = net.forward(x, batch);
          const once = performance.now();
          net.forward(x, batch);
          const reps = Math.max(
            1,
            Math.ceil(MIN_SAMPLE_MS / Math.max(1e-3, performance.now() - once)),
          );
          return {
            setup: { compileMs: null, uploadMs: null },
            sample() {
              const start = performance.now();
              for (let r = 0; r < reps; r++) logits = net.forward(x, batch);
              return Promise.resolve({
                wallMs: (performance.now() - start) / reps,
                kernelMs: null,
                reps,
              });
            },
            finish(): Promise<TrialResult> {
              const want = adapterNetReference(net, x, batch);
              let worst = 0, passed = true;
              for (let i = 0; i < want.length; i++) {
                const err = Math.abs(logits[i] - want[i]);
                worst = Math.max(worst, err);
                if (err > ADAPTER_TOLERANCE.abs + ADAPTER_TOLERANCE.rel * Math.abs(want[i])) {
                  passed = false;
                }
              }
              const macs = forwardMacs(net);
              return Promise.resolve({
                check: {
                  passed,
                  description:
                    `the timed logits of ${batch} test images against the float64 reference forward`,
                  maxAbsError: worst,
                  tolerance: `${ADAPTER_TOLERANCE.abs} + ${ADAPTER_TOLERANCE.rel}·|ref|`,
                },
                metrics: { ...metrics, logits_max_abs_error: worst },
                sparsity: {
                  nominalDensity: null,
                  realizedDensity: null,
                  flopsRatio: macs / referenceMacs,
                  kernel: "dense",
                },
                flops: 2 * macs * batch,
                dumps: [],
              });
            },
            dispose() {},
          };
        },
        dispose() {},
      };
    },
  },
});

function trainFlops(card: AdapterCard): number {
  return (card.training as { flops: { total: number } }).flops.total;
}
