// MoSA (Mixture of Sparse Adapters): a standard bottleneck adapter split into K sparse modules by
// a fixed random partition of its entries; each step every projection activates one module at
// random and only that module trains; after training the disjoint modules are merged (their sum
// over K) into one dense adapter, so inference costs what the standard adapter's does.
import {
  type AdapterTrainer,
  type AdapterTrainerContext,
  allEntries,
  defineAdapterMethod,
  SubsetAdamW,
} from "../../bench/families/moe/mod.ts";
import type { Param } from "../../bench/nn/param.ts";
import { mulberry32 } from "../../bench/random.ts";

/**
 * A balanced random partition of `size` entries into `modules` disjoint sets: entry perm[i] goes
 * to module i mod K, so every entry is in exactly one module and sizes differ by at most one.
 *
 * @param size entries of the tensor
 * @param modules K, 1–255
 * @param uniform a seeded uniform source (the permutation's)
 * @returns the module of each entry
 * @throws {RangeError} when `modules` is not an integer in 1–255
 * @example
 * ```ts
 * import { assertEquals } from "../../tests/assert.ts";
 * import { mulberry32 } from "../../bench/random.ts";
 * const owner = partitionEntries(10, 3, mulberry32(1));
 * assertEquals([0, 1, 2].map((k) => owner.filter((m) => m === k).length), [4, 3, 3]);
 * ```
 */
export function partitionEntries(size: number, modules: number, uniform: () => number): Uint8Array {
  if (!Number.isInteger(modules) || modules < 1 || modules > 255) {
    throw new RangeError(
      `Cannot partition as 'modules' must be an integer in 1–255: current value is ${modules}`,
    );
  }
  const perm = allEntries(size);
  for (let i = size - 1; i > 0; i--) {
    const j = Math.floor(uniform() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const owner = new Uint8Array(size);
  for (let i = 0; i < size; i++) owner[perm[i]] = i % modules;
  return owner;
}

/**
 * The merged adapter tensor: the modules' sum divided by their number K, as the released code
 * merges (each module was trained to compute the adapter's map on its own, from 1/K of the
 * entries, so the union of the disjoint modules computes it about K times over).
 *
 * @param modules the modules' tensors, all of one length, each zero outside its own entries
 * @param merge "mean" (default) or "sum" (no 1/K)
 * @returns a new tensor Σ_k modules[k] / K (Σ_k modules[k] for "sum")
 */
export function mergeModules(
  modules: readonly Float32Array[],
  merge: MosaMerge = "mean",
): Float32Array {
  const out = new Float32Array(modules[0]?.length ?? 0);
  for (const m of modules) for (let i = 0; i < out.length; i++) out[i] += m[i];
  if (merge === "mean") { for (let i = 0; i < out.length; i++) out[i] /= modules.length; }
  return out;
}

/**
 * How the modules are merged: "mean", the released code's sum / K; "sum", their plain union
 * (kept to show what the 1/K is for).
 */
export type MosaMerge = "mean" | "sum";

/**
 * Which reading of MoSA's training: "mean" (the default) and "sum" run each step's forward on
 * the drawn sparse module alone and merge by {@link mergeModules}; "dense-forward" runs the
 * forward on the whole adapter, updates only the drawn module's entries, and merges by the
 * union (the adapter as it stands): the other reading of "sparse training", kept to test it.
 */
export type MosaVariant = MosaMerge | "dense-forward";

/** One tensor of a projection split into sparse modules, each with its own optimizer. */
interface SplitTensor {
  param: Param;
  /** Module k's tensor: the shared init on its entries, zero elsewhere. */
  modules: Float32Array[];
  optimizers: SubsetAdamW[];
  /** Entries of module k (the weight matrix's, for the FLOPs count). */
  sizes: number[];
}

/** A projection (weight and bias) and the module its step activated. */
interface SplitProjection {
  tensors: SplitTensor[];
  active: number;
}

/**
 * MoSA's training of a model's adapters: every projection (down, up of each adapter) is split
 * into `modules` sparse modules (weight and bias entries partitioned apart, each by its own
 * fixed random partition); at each step each projection draws its active module uniformly and
 * independently (as the released code draws the down and up modules apart), the forward uses
 * only that module, and only its entries and AdamW state change. With `shareDown` the down
 * projections are not split (one module, trained every step).
 */
export class MosaTrainer implements AdapterTrainer {
  readonly projections: SplitProjection[];
  readonly #draw: () => number;

  readonly #variant: MosaVariant;

  constructor(
    context: AdapterTrainerContext,
    options: { modules: number; shareDown: boolean; variant?: MosaVariant },
  ) {
    this.#variant = options.variant ?? "mean";
    const partitionRand = mulberry32(context.seed ^ 0x5a17);
    this.#draw = mulberry32(context.seed ^ 0xd7a3);
    this.projections = context.adapters.flatMap((adapter) =>
      [adapter.down, adapter.up].map((tensors, side): SplitProjection => {
        const k = side === 0 && options.shareDown ? 1 : options.modules;
        return {
          active: 0,
          tensors: tensors.map((param): SplitTensor => {
            const owner = partitionEntries(param.size, k, partitionRand);
            const entries = Array.from({ length: k }, (_, m) => {
              const idx: number[] = [];
              owner.forEach((o, i) => o === m && idx.push(i));
              return Int32Array.from(idx);
            });
            return {
              param,
              modules: entries.map((idx) => {
                const t = new Float32Array(param.size);
                for (const i of idx) t[i] = param.data[i];
                return t;
              }),
              optimizers: entries.map((idx) =>
                new SubsetAdamW(idx, { weightDecay: param.decay ? context.weightDecay : 0 })
              ),
              sizes: entries.map((idx) => idx.length),
            };
          }),
        };
      })
    );
  }

  beforeStep(_step: number): void {
    for (const p of this.projections) {
      const k = p.tensors[0].modules.length;
      p.active = Math.floor(this.#draw() * k);
      if (this.#variant === "dense-forward") continue;
      for (const t of p.tensors) t.param.data.set(t.modules[p.active]);
    }
  }

  update(lr: number): void {
    for (const p of this.projections) {
      for (const t of p.tensors) {
        const module = t.modules[p.active], optimizer = t.optimizers[p.active];
        if (this.#variant === "dense-forward") {
          // the whole tensor is the forward's; its drawn entries train, the module mirrors them
          optimizer.step(t.param.data, t.param.grad, lr);
          for (const i of optimizer.entries) module[i] = t.param.data[i];
        } else {
          optimizer.step(module, t.param.grad, lr);
          t.param.data.set(module);
        }
      }
    }
  }

  activeWeights(): number[] {
    if (this.#variant === "dense-forward") {
      return this.projections.map((p) => p.tensors[0].param.size);
    }
    return this.updatedWeights();
  }

  updatedWeights(): number[] {
    return this.projections.map((p) => p.tensors[0].sizes[p.active]);
  }

  finish(): void {
    const merge = this.#variant === "mean" ? "mean" : "sum";
    for (const p of this.projections) {
      for (const t of p.tensors) t.param.data.set(mergeModules(t.modules, merge));
    }
  }
}

export const mosa = defineAdapterMethod({
  id: "mosa",
  family: "moe",
  title: "MoSA: Mixture of Sparse Adapters",
  fidelity: {
    level: "simplified",
    reason:
      "the split, stochastic module training and merge as published, on an image MLP's adapters (no ViT here) at one small budget",
  },
  description:
    "A standard bottleneck adapter (d → r → d, ReLU, residual) after each hidden layer of the frozen MNIST MLP, split into K non-overlapping sparse modules by a fixed random partition of each tensor's entries; each training step every projection activates one module uniformly at random and trains only it (its own AdamW state); at the end the modules are merged (summed and divided by K, as the released code merges) into one dense adapter of the standard adapter's size and cost.",
  paper: {
    title: "MoSA: Mixture of Sparse Adapters for Visual Efficient Tuning",
    year: 2023,
    link: "https://arxiv.org/abs/2312.02923",
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
    modules: {
      type: "int",
      description: "sparse modules K each projection is split into (trained with it)",
      default: 4,
      min: 1,
      max: 64,
      sweep: [4],
    },
    shareDown: {
      type: "boolean",
      description:
        "keep the down projections whole (trained every step) and split only the up projections, as the released code's SHARE = down option",
      default: false,
      sweep: [false, true],
    },
    variant: {
      type: "enum",
      description:
        "mean: each step's forward on the drawn sparse module, merged as the released code merges (sum / K); sum: the same, merged as the plain union (to show what the 1/K is for); dense-forward: the forward on the whole adapter, only the drawn module's entries updated, merged as the union",
      values: ["mean", "sum", "dense-forward"],
      default: "mean",
      sweep: ["mean", "sum", "dense-forward"],
    },
  },
  capabilities: { requires: [], features: ["adapter-tuning"] },
  notes:
    "Applied to the project's own models, not the paper's ViT-B/16 on VTAB/FGVC: the frozen MNIST MLP (784-300-100) is the backbone, adapted to Fashion-MNIST with an adapter after each hidden layer and a new head. The paper's hierarchical sparse strategy is not reproduced as published; shareDown is our reading of its released code's SHARE option and is labelled so. The claim that MoSA beats the standard adapter at equal parameters did not reproduce: at 4,300 steps K = 4 is 5.0 points below the dense adapter on the Fashion-MNIST test set (81.00% vs 85.97%, paired interval [-5.6, -4.4], the same gap at 4 recipe seeds), shareDown 1.5 below, the dense-forward reading 1.6 (shareDown 0.8) below; merging by the plain union instead of sum / K collapses it to 19.5% (datasets/adapter_transfer/README.md).",
  impl: {
    scope: "adapter",
    bottleneck: (params) => params.bottleneck,
    recipe: (params) =>
      `mosa-r${params.bottleneck}-k${params.modules}${params.shareDown ? "-sharedown" : ""}${
        params.variant === "mean" ? "" : `-${params.variant.replace("-", "")}`
      }`,
    start: (context, params) =>
      new MosaTrainer(context, {
        modules: params.modules,
        shareDown: params.shareDown,
        variant: params.variant as MosaVariant,
      }),
    describe: (params) => ({
      modules: params.modules,
      split: params.shareDown ? "up projections" : "down and up projections",
      variant: params.variant === "dense-forward"
        ? "dense forward, drawn module's entries updated, union merge"
        : params.variant === "sum"
        ? "sparse-module forward, union merge"
        : "sparse-module forward, merge sum of modules / K",
    }),
  },
});
