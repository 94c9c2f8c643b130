// The standard bottleneck adapter trained densely: every entry of every adapter tensor trains at
// every step. MoSA's baseline (the same adapter, the same budget, no split).
import {
  type AdapterTrainer,
  type AdapterTrainerContext,
  allEntries,
  defineAdapterMethod,
  SubsetAdamW,
} from "../../bench/families/moe/mod.ts";

/** Dense AdamW over every adapter tensor (the same update MoSA's modules use, on all entries). */
export class DenseAdapterTrainer implements AdapterTrainer {
  readonly #tensors;

  constructor(context: AdapterTrainerContext) {
    this.#tensors = context.adapters.flatMap((a) => a.parameters()).map((param) => ({
      param,
      optimizer: new SubsetAdamW(allEntries(param.size), {
        weightDecay: param.decay ? context.weightDecay : 0,
      }),
    }));
    this.weights = context.adapters.flatMap((a) => [a.down[0].size, a.up[0].size]);
  }

  readonly weights: number[];

  beforeStep(_step: number): void {}

  update(lr: number): void {
    for (const t of this.#tensors) t.optimizer.step(t.param.data, t.param.grad, lr);
  }

  activeWeights(): number[] {
    return this.weights;
  }

  finish(): void {}
}

export const adapter = defineAdapterMethod({
  id: "adapter",
  family: "moe",
  title: "Standard adapter (dense)",
  fidelity: {
    level: "baseline",
    reason: "the bottleneck adapter every entry of which trains every step: MoSA's baseline",
  },
  description:
    "A bottleneck adapter (d → r → d, ReLU, residual; down uniform-initialized, up zero) after each hidden layer of the frozen MNIST MLP and a new head, all adapter entries trained every step with AdamW: the reference of the adapter-transfer task.",
  paper: {
    title: "Parameter-Efficient Transfer Learning for NLP",
    year: 2019,
    link: "https://arxiv.org/abs/1902.00751",
  },
  version: "1.0.0",
  parameters: {
    bottleneck: {
      type: "int",
      description: "adapter bottleneck width r (trained with it)",
      default: 32,
      min: 1,
      max: 300,
      sweep: [32],
    },
  },
  capabilities: { requires: [], features: ["adapter-tuning"] },
  impl: {
    scope: "adapter",
    bottleneck: (params) => params.bottleneck,
    recipe: (params) => `adapter-r${params.bottleneck}`,
    start: (context) => new DenseAdapterTrainer(context),
  },
});
