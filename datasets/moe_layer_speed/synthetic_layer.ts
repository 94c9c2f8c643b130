// The seeded inputs of `moe-layer-speed`: one MoE layer's experts and router, and a batch of layer
// inputs, all generated (nothing trained or downloaded), so every method of a case times the same
// layer on the same tokens. The expert shape is the MNIST MoE's (64 → 32 → 64).
import type { MoeLayer } from "../../bench/families/moe/mod.ts";
import { initUniform } from "../../bench/nn/param.ts";
import { hashString, mulberry32, normal, sha256Hex } from "../../bench/random.ts";

/** The layer's width and each expert's hidden width: the MNIST MoE's. */
export const LAYER_WIDTH = { dim: 64, hidden: 32 } as const;

/**
 * Seeds of the three streams: expert weights and router are the task's (the same in every run,
 * per E), the inputs the case's (derived from the run's `--seed`).
 */
export const LAYER_SEEDS = { experts: 0x5eed_e9, router: 0x5eed_a7 } as const;

/** The router's name in every softmax gate (`SoftmaxRouter`, noisy top-k's clean router). */
export const ROUTER_PARAM = "gate.router.weight";

/**
 * The seeded router [experts × dim]: N(0, 1/dim), so with inputs N(0, 1) each logit has unit
 * variance — a softmax neither uniform (logits all alike) nor one-hot (one expert always winning).
 */
export function seededRouter(experts: number, dim: number): Float32Array {
  const g = normal(mulberry32(hashString(`router|${experts}|${dim}`, LAYER_SEEDS.router)));
  const std = 1 / Math.sqrt(dim);
  return Float32Array.from({ length: experts * dim }, () => g() * std);
}

/**
 * Seeded expert weights, in place: each weight He-uniform (bound √(6/fan_in), as the MNIST MoE
 * starts), each bias uniform in ±0.05, every parameter from its own stream (its name and E).
 */
export function fillExperts(layer: MoeLayer): void {
  for (const expert of layer.experts) {
    for (const linear of [expert.fc1, expert.fc2]) {
      const seed = (name: string) =>
        hashString(`${name}|${layer.shape.experts}|${layer.shape.hidden}`, LAYER_SEEDS.experts);
      initUniform(linear.weight, Math.sqrt(6 / linear.inFeatures), seed(linear.weight.name));
      initUniform(linear.bias!, 0.05, seed(linear.bias!.name));
    }
  }
}

/**
 * Installs the seeded router into a gate whose router is named {@link ROUTER_PARAM} with shape
 * [experts × dim]; returns whether it had one (the dense FFN has none).
 */
export function installRouter(layer: MoeLayer, router: Float32Array): boolean {
  const param = layer.gate.parameters().find((p) => p.name === ROUTER_PARAM);
  if (!param) return false;
  if (param.size !== router.length) {
    throw new RangeError(
      `Cannot install the seeded router: '${ROUTER_PARAM}' holds ${param.size} weights, the router ${router.length}`,
    );
  }
  param.data.set(router);
  return true;
}

/** Layer inputs [tokens × dim], every value N(0, 1), from the case seed. */
export function layerInputs(tokens: number, dim: number, seed: number): Float32Array {
  const g = normal(mulberry32(hashString("inputs", seed)));
  return Float32Array.from({ length: tokens * dim }, () => g());
}

/** The sha256 of a case's generated inputs: router and inputs (expert weights follow from E). */
export function layerSha256(router: Float32Array, x: Float32Array): Promise<string> {
  return sha256Hex(router, x);
}
