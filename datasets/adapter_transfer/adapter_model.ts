// The adapter-transfer models: the frozen MNIST MLP's hidden layers as the backbone, and the
// committed adapter checkpoints (what a method trained) loaded over it, with the one scoring path
// the trainer's card and the bench share, so the two agree exactly.
import { AdapterNet, type AdapterScope } from "../../bench/families/moe/mod.ts";
import { encodeCheckpoint, loadCheckpoint } from "../../bench/nn/checkpoint.ts";
import { argmaxRows } from "../../bench/nn/mlp.ts";
import { decodeSafetensors } from "../../bench/nn/safetensors.ts";
import { SkipCase } from "../../bench/plugin.ts";
import { fileSource } from "../file_source.ts";
import { imagesAsFloat, type ImageSet } from "../mnist/idx.ts";
import { readCheckpoint } from "../mnist/reference_mlp.ts";

/** The backbone: the committed dense MNIST MLP, whose classifier (fc3) is dropped. */
export const BACKBONE = {
  name: "mnist-mlp",
  dir: new URL("../mnist/models/", import.meta.url),
  sizes: [784, 300, 100],
} as const;

/** Where the committed adapter-transfer checkpoints and cards live. */
export const ADAPTER_MODELS = new URL("./models/", import.meta.url);

/** Checkpoint names: `<ADAPTER_PREFIX>-<recipe>`. */
export const ADAPTER_PREFIX = "mnist-to-fmnist";

/** The card a recipe writes beside its checkpoint (the fields the bench reads). */
export interface AdapterCard {
  name: string;
  checkpoint: string;
  checkpointSha256: string;
  scope: AdapterScope;
  bottleneck: number;
  backbone: { name: string; checkpointSha256: string };
  trainedParameters: number;
  metrics: { testAccuracy: number; validationAccuracy: number };
  training: Record<string, unknown>;
}

/**
 * A fresh adapter net with the backbone's fc1 and fc2 loaded (checked against its card).
 *
 * @returns the net and the backbone checkpoint's sha256
 */
export async function backboneNet(
  bottleneck: number,
): Promise<{ net: AdapterNet; backboneSha256: string }> {
  const { card, bytes } = await readCheckpoint(BACKBONE.dir, BACKBONE.name);
  const net = new AdapterNet({ backbone: BACKBONE.sizes, bottleneck, classes: 10 });
  const { tensors } = decodeSafetensors(bytes);
  for (const p of net.backboneParameters()) {
    const t = tensors.get(p.name);
    if (!t || t.data.length !== p.size) {
      throw new Error(`${BACKBONE.name} has no tensor '${p.name}' of ${p.size} entries`);
    }
    p.data.set(t.data);
  }
  return { net, backboneSha256: card.checkpointSha256 };
}

/** The checkpoint bytes of what `scope` trained. */
export function encodeAdapterCheckpoint(net: AdapterNet, scope: AdapterScope, name: string) {
  return encodeCheckpoint(net.storedParameters(scope), {
    model: name,
    format: "sparsebench-adapter-v1",
    backbone: BACKBONE.name,
  });
}

/**
 * A committed adapter checkpoint over the backbone.
 *
 * @param name `<ADAPTER_PREFIX>-<recipe>`
 * @throws {SkipCase} when no card is committed under that name (with the command that trains it)
 * @throws {Error} when the checkpoint's or the backbone's sha256 differs from the card's
 */
export async function loadAdapterModel(
  name: string,
  dir: URL = ADAPTER_MODELS,
): Promise<{ net: AdapterNet; card: AdapterCard }> {
  if (!await fileSource().exists(new URL(`${name}.json`, dir))) {
    throw new SkipCase(
      `no adapter-transfer checkpoint '${name}' committed: train it with \`deno task train ${name}\``,
    );
  }
  const { card, bytes } = await readCheckpoint(dir, name);
  const c = card as unknown as AdapterCard;
  const { net, backboneSha256 } = await backboneNet(c.bottleneck);
  if (backboneSha256 !== c.backbone.checkpointSha256) {
    throw new Error(
      `${name} was trained over backbone ${c.backbone.checkpointSha256}, the committed one is ${backboneSha256}`,
    );
  }
  loadCheckpoint(net.storedParameters(c.scope), bytes);
  return { net, card: c };
}

/**
 * Whether the net classifies each of images [start, start + count) right (1) or not (0), in
 * batches of 1,000: the per-example outcomes accuracies and their intervals come from.
 */
export function adapterCorrect(
  net: AdapterNet,
  set: ImageSet,
  range: { start: number; count: number } = { start: 0, count: set.count },
): Uint8Array {
  const { start, count } = range, correct = new Uint8Array(count);
  for (let s = start; s < start + count; s += 1000) {
    const n = Math.min(1000, start + count - s);
    const pred = argmaxRows(net.forward(imagesAsFloat(set, s, n), n), n);
    for (let i = 0; i < n; i++) if (pred[i] === set.labels[s + i]) correct[s - start + i] = 1;
  }
  return correct;
}

/** Share of ones. */
export function shareCorrect(correct: Uint8Array): number {
  let n = 0;
  for (const c of correct) n += c;
  return n / correct.length;
}
