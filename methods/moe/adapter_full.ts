// Full fine-tuning: every backbone weight trains with the new head. The ceiling adapter methods
// are measured against (the paper's "Full" row).
import { defineAdapterMethod } from "../../bench/families/moe/mod.ts";

export const fullFinetune = defineAdapterMethod({
  id: "full-finetune",
  family: "moe",
  title: "Full fine-tune",
  fidelity: {
    level: "baseline",
    reason: "every backbone weight and a new head trained: the ceiling of the adapter comparison",
  },
  description:
    "The MNIST MLP's two hidden layers and a new 100 → 10 head all train on Fashion-MNIST from the MNIST weights, same steps, data order and schedule as the adapters.",
  paper: {
    title: "How transferable are features in deep neural networks?",
    year: 2014,
    link: "https://arxiv.org/abs/1411.1792",
  },
  version: "1.0.0",
  parameters: {},
  capabilities: { requires: [], features: ["adapter-tuning"] },
  impl: { scope: "all", bottleneck: () => 0, recipe: () => "full-finetune" },
});
