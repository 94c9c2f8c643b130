// The method registry: an explicit list of every method of every family.
import type { Method } from "../bench/metadata.ts";
import { Registry } from "../bench/registry.ts";
import { attentionMethods } from "./attention/mod.ts";
import { retrievalMethods } from "./retrieval/mod.ts";
import { pruningMethods } from "./pruning/mod.ts";
import { adapterMethods, moeMethods } from "./moe/mod.ts";

/** A fresh registry of every method (fresh, so a run can freeze its own). */
export function methodRegistry(): Registry<Method> {
  return new Registry<Method>(
    "method",
    [
      ...attentionMethods,
      ...retrievalMethods,
      ...pruningMethods,
      ...moeMethods,
      ...adapterMethods,
    ] as Method[],
  );
}
