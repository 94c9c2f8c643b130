// Calibration passes that resume inside the model: a pruning method that prunes one layer at a
// time in forward order asks for the inputs of a layer in block k, and the blocks before k have
// not changed since it last asked. Each batch's block inputs are kept with a fingerprint of
// everything before that block (embeddings, earlier blocks' weights, masks and kernels), and a
// pass starts at block k whenever the fingerprint still matches and no hook waits on a layer
// before it. The fingerprint, not the method, decides: a method that changes an earlier layer
// simply gets a full pass.
import type { Gpt } from "../../bench/nn/gpt.ts";
import type { Linear } from "../../bench/nn/layers.ts";
import type { Param } from "../../bench/nn/param.ts";

/** FNV-1a over the 32-bit words of `values`, continuing from `hash`. */
function fnv(hash: number, values: Float32Array): number {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
  let h = hash;
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i], 16777619);
  return h >>> 0;
}

/** Block inputs of each calibration batch, reused while the model before the block is unchanged. */
export class BlockInputCache {
  readonly #model: Gpt;
  readonly #entries = new Map<string, { fingerprint: number; input: Float32Array }>();
  readonly #kernelIds = new WeakMap<object, number>();
  #nextKernel = 1;
  /** Passes that resumed inside the model, and passes run whole (for tests and reports). */
  readonly passes = { resumed: 0, whole: 0 };

  constructor(model: Gpt) {
    this.#model = model;
  }

  /**
   * Runs batch `b` (`ids`, `rows` sequences) forward, resuming at the block that holds `until`
   * where the cache allows; without `until` the pass is whole (every layer's hooks must fire).
   */
  forward(b: number, ids: Int32Array, rows: number, until?: Linear): void {
    const model = this.#model;
    const fingerprints = this.#prefixFingerprints();
    const target = until ? this.#blockOf(until) : -1;
    if (target > 0 && !this.#hooksBefore(target)) {
      const hit = this.#entries.get(`${b}|${target}`);
      if (hit && hit.fingerprint === fingerprints[target]) {
        this.passes.resumed++;
        model.forwardFrom(ids, rows, { from: { block: target, input: hit.input } });
        return;
      }
    }
    this.passes.whole++;
    model.forwardFrom(ids, rows, {
      blockInput: (k, input) => {
        if (k > 0) {
          this.#entries.set(`${b}|${k}`, {
            fingerprint: fingerprints[k],
            input: Float32Array.from(input),
          });
        }
      },
    });
  }

  /** fingerprints[k]: of the embeddings and blocks 0 … k−1 (their parameters and kernels). */
  #prefixFingerprints(): number[] {
    const model = this.#model;
    let h = 2166136261;
    for (const p of [...model.tokens.parameters(), ...model.positions.parameters()]) {
      h = this.#param(h, p);
    }
    const out = [h];
    for (const block of model.blocks) {
      for (const p of block.parameters()) h = this.#param(h, p);
      for (const l of [block.attn.qkv, block.attn.proj, block.fc, block.fcProj]) {
        h = Math.imul(h ^ this.#kernelId(l), 16777619) >>> 0;
      }
      out.push(h);
    }
    return out;
  }

  #param(hash: number, p: Param): number {
    const h = fnv(hash, p.data);
    return p.mask ? fnv(h, p.mask) : Math.imul(h ^ 0x9e3779b9, 16777619) >>> 0;
  }

  #kernelId(layer: Linear): number {
    if (!layer.kernel) return 0;
    let id = this.#kernelIds.get(layer.kernel);
    if (id === undefined) this.#kernelIds.set(layer.kernel, id = this.#nextKernel++);
    return id;
  }

  /** The block whose layers include `layer` (the head: after every block). */
  #blockOf(layer: Linear): number {
    const blocks = this.#model.blocks;
    const k = blocks.findIndex((b) => [b.attn.qkv, b.attn.proj, b.fc, b.fcProj].includes(layer));
    return k >= 0 ? k : blocks.length;
  }

  /** Whether a layer before block `k` has input hooks (it would miss a resumed pass). */
  #hooksBefore(k: number): boolean {
    return this.#model.blocks.slice(0, k).some((b) =>
      [b.attn.qkv, b.attn.proj, b.fc, b.fcProj].some((l) => l.inputHooks.length > 0)
    );
  }
}
