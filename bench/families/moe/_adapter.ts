// The adapter-tuning contract (task `adapter-transfer`): a method says what of a frozen image MLP
// it trains for a new task (the head, bottleneck adapters and head, or every weight) and, for
// adapters, how each step trains them; the recipe trains it once into a committed checkpoint and
// the task evaluates that.
import {
  defineMethod,
  type Method,
  type MethodDefinition,
  type ParamSpecs,
  type ParamValuesOf,
} from "../../metadata.ts";
import type { AdapterScope, BottleneckAdapter } from "./_adapter_net.ts";

/** The feature an adapter-tuning method declares, which only the adapter-transfer task requires. */
export const ADAPTER_FEATURE = "adapter-tuning";

/** What an adapter method's trainer gets when training starts. */
export interface AdapterTrainerContext {
  /** The model's adapters, initialized (down: uniform, up: zeros). */
  adapters: readonly BottleneckAdapter[];
  /** Seed of the method's own randomness (a partition, a module draw), apart from the data's. */
  seed: number;
  /** AdamW's decoupled weight decay for weight matrices (biases get none). */
  weightDecay: number;
}

/** The hooks the recipe's loop calls around each step for the adapters' parameters. */
export interface AdapterTrainer {
  /** Before step `step`'s forward: puts in the adapters' tensors what this step's forward uses. */
  beforeStep(step: number): void;
  /**
   * After the backward (the adapters' `grad` hold ∂loss/∂ the tensors the forward used): updates
   * what this step trains at learning rate `lr`.
   */
  update(lr: number): void;
  /**
   * Weight-matrix entries each projection's products used this step, in the order adapter 1
   * down, adapter 1 up, adapter 2 down, …: the training FLOPs count only these.
   */
  activeWeights(): number[];
  /** Entries each projection's ∂W needs this step, where fewer than its products used. */
  updatedWeights?(): number[];
  /** After the last step: leaves the final adapter in the tensors (MoSA: the merge). */
  finish(): void;
}

/** What an adapter-tuning method implements. */
export interface AdapterMethod<V = Record<string, number | string | boolean>> {
  /** What trains; the rest of the backbone stays as loaded. */
  readonly scope: AdapterScope;
  /** Bottleneck width of the adapters (0 when the method has none). */
  bottleneck(params: V): number;
  /** The checkpoint's recipe name, `<prefix>-<recipe>`, e.g. "mosa-k4". */
  recipe(params: V): string;
  /** The adapters' trainer (scope "adapter" only). */
  start?(context: AdapterTrainerContext, params: V): AdapterTrainer;
  /** The experiment's cost in the method's own terms (e.g. MoSA's modules), for the card. */
  describe?(params: V): Record<string, number | string>;
}

/**
 * Declares an adapter-tuning method: metadata as any method's, with the feature
 * {@link ADAPTER_FEATURE}; a method of scope "adapter" gives `start`.
 *
 * @param definition metadata (family "moe") and the implementation
 * @returns the frozen method
 * @throws {MetadataError} when the metadata does not satisfy the schema
 * @throws {RangeError} when the feature is missing, or an adapter method has no `start`
 * @example
 * ```ts
 * import { assertEquals } from "../../../tests/assert.ts";
 * import { defineAdapterMethod } from "./mod.ts";
 * const probe = defineAdapterMethod({
 *   id: "my-probe",
 *   family: "moe",
 *   title: "Probe",
 *   description: "the head alone",
 *   paper: { title: "None", year: 2024, link: "https://example.org" },
 *   fidelity: { level: "baseline", reason: "a test fixture" },
 *   version: "1.0.0",
 *   parameters: {},
 *   capabilities: { requires: [], features: ["adapter-tuning"] },
 *   impl: { scope: "head", bottleneck: () => 0, recipe: () => "probe" },
 * });
 * assertEquals(probe.impl.scope, "head");
 * ```
 */
export function defineAdapterMethod<P extends ParamSpecs>(
  definition: MethodDefinition<P, AdapterMethod<ParamValuesOf<P>>>,
): Method<AdapterMethod<ParamValuesOf<P>>> {
  if (!definition.capabilities.features.includes(ADAPTER_FEATURE)) {
    throw new RangeError(
      `Cannot declare method '${definition.id}' as an adapter method must declare the feature '${ADAPTER_FEATURE}': got [${definition.capabilities.features}]`,
    );
  }
  if (definition.impl.scope === "adapter" && !definition.impl.start) {
    throw new RangeError(
      `Cannot declare method '${definition.id}' as a method of scope 'adapter' must give start()`,
    );
  }
  return defineMethod(definition);
}

/**
 * The adapter implementation of a registered method, or null when it is not one.
 *
 * @param method any registered method
 * @returns its {@link AdapterMethod}, or null
 */
export function adapterOf(method: Method): AdapterMethod | null {
  return method.meta.capabilities.features.includes(ADAPTER_FEATURE)
    ? method.impl as AdapterMethod
    : null;
}
