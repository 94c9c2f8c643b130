// The linear probe: only a new classifier head trains on the frozen backbone's features. The
// floor of the adapter-transfer task.
import { defineAdapterMethod } from "../../bench/families/moe/mod.ts";

export const linearProbe = defineAdapterMethod({
  id: "linear-probe",
  family: "moe",
  title: "Linear probe (head only)",
  fidelity: {
    level: "baseline",
    reason: "a new head on the frozen backbone, nothing else trained: the floor adapters must beat",
  },
  description:
    "The frozen MNIST MLP's last hidden layer (100 units) feeds a new 100 → 10 head, the only trained tensor; same steps, data order and schedule as the adapters.",
  paper: {
    title: "Understanding intermediate layers using linear classifier probes",
    year: 2016,
    link: "https://arxiv.org/abs/1610.01644",
  },
  version: "1.0.0",
  parameters: {},
  capabilities: { requires: [], features: ["adapter-tuning"] },
  impl: { scope: "head", bottleneck: () => 0, recipe: () => "linear-probe" },
});
