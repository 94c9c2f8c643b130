// A small GPT (decoder-only transformer, pre-norm, GPT-2 layout) over byte tokens, in one file.
import { CausalSelfAttention, Embedding, GELU, LayerNorm, Linear } from "./layers.ts";
import { initNormal, type Param } from "./param.ts";
import { hashString } from "../random.ts";
import type { UnitGroup } from "../families/pruning/mod.ts";

export interface GptConfig {
  vocab: number;
  context: number;
  dim: number;
  heads: number;
  layers: number;
}

/** What a block needs of its attention layer (CausalSelfAttention, or a sparse variant of it). */
export type SelfAttention = Pick<
  CausalSelfAttention,
  "qkv" | "proj" | "dim" | "heads" | "parameters" | "forward" | "backward"
>;

/** A block's feed-forward layer in place of the dense one (an MoE layer): no residual inside. */
export interface FeedForward {
  parameters(): Param[];
  forward(x: Float32Array, rows: number): Float32Array;
  backward(dy: Float32Array): Float32Array;
}

export interface GptOptions {
  /** Builds each block's attention layer (default: dense CausalSelfAttention). */
  attention?: (name: string, dim: number, heads: number) => SelfAttention;
  /** Builds each block's feed-forward layer (default: the dense fc → GELU → proj at 4·dim). */
  ffn?: (name: string, dim: number) => FeedForward;
}

/** One transformer block: x + attn(ln1(x)), then + mlp(ln2(x)). */
class Block {
  readonly ln1: LayerNorm;
  readonly attn: SelfAttention;
  readonly ln2: LayerNorm;
  /** The dense FFN's layers (unset where `ffn` replaces them). */
  readonly fc!: Linear;
  readonly act = new GELU();
  readonly fcProj!: Linear;
  readonly ffn: FeedForward | null;

  constructor(name: string, c: GptConfig, options: GptOptions) {
    this.ln1 = new LayerNorm(`${name}.ln1`, c.dim);
    this.attn = options.attention?.(`${name}.attn`, c.dim, c.heads) ??
      new CausalSelfAttention(`${name}.attn`, c.dim, c.heads);
    this.ln2 = new LayerNorm(`${name}.ln2`, c.dim);
    this.ffn = options.ffn?.(`${name}.moe`, c.dim) ?? null;
    if (this.ffn) return;
    this.fc = new Linear(`${name}.mlp.fc`, c.dim, 4 * c.dim);
    this.fcProj = new Linear(`${name}.mlp.proj`, 4 * c.dim, c.dim);
  }

  parameters(): Param[] {
    return [
      ...this.ln1.parameters(),
      ...this.attn.parameters(),
      ...this.ln2.parameters(),
      ...(this.ffn
        ? this.ffn.parameters()
        : [...this.fc.parameters(), ...this.fcProj.parameters()]),
    ];
  }

  forward(x: Float32Array, batch: number, seq: number): Float32Array {
    const rows = batch * seq;
    const a = this.attn.forward(this.ln1.forward(x, rows), batch, seq);
    const h = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) h[i] = x[i] + a[i];
    const m = this.ffn ? this.ffn.forward(this.ln2.forward(h, rows), rows) : this.fcProj.forward(
      this.act.forward(this.fc.forward(this.ln2.forward(h, rows), rows)),
      rows,
    );
    for (let i = 0; i < h.length; i++) h[i] += m[i];
    return h;
  }

  backward(dy: Float32Array): Float32Array {
    const dh = this.ln2.backward(
      this.ffn
        ? this.ffn.backward(dy)
        : this.fc.backward(this.act.backward(this.fcProj.backward(dy))),
    );
    for (let i = 0; i < dh.length; i++) dh[i] += dy[i];
    const dx = this.ln1.backward(this.attn.backward(dh));
    for (let i = 0; i < dx.length; i++) dx[i] += dh[i];
    return dx;
  }
}

/** The whole model: token + position embeddings, blocks, final norm, linear head. */
export class Gpt {
  readonly config: GptConfig;
  readonly tokens: Embedding;
  readonly positions: Embedding;
  readonly blocks: Block[];
  readonly lnF: LayerNorm;
  readonly head: Linear;
  constructor(config: GptConfig, options: GptOptions = {}) {
    this.config = config;
    this.tokens = new Embedding("tok_emb", config.vocab, config.dim);
    this.positions = new Embedding("pos_emb", config.context, config.dim);
    this.blocks = Array.from(
      { length: config.layers },
      (_, i) => new Block(`blocks.${i}`, config, options),
    );
    this.lnF = new LayerNorm("ln_f", config.dim);
    this.head = new Linear("head", config.dim, config.vocab, { bias: false });
  }

  /** Every parameter, in a fixed order (the checkpoint order). */
  parameters(): Param[] {
    return [
      ...this.tokens.parameters(),
      ...this.positions.parameters(),
      ...this.blocks.flatMap((b) => b.parameters()),
      ...this.lnF.parameters(),
      ...this.head.parameters(),
    ];
  }

  /** Every Linear layer, the units pruning methods work on. */
  linears(): Linear[] {
    this.#denseOnly("linears");
    return [...this.blocks.flatMap((b) => [b.attn.qkv, b.attn.proj, b.fc, b.fcProj]), this.head];
  }

  /**
   * Per block, its attention heads (head h: rows h·d_head … of each of q, k and v in the fused
   * qkv, and the same columns of attn.proj) and its MLP neurons (rows of fc, columns of
   * mlp.proj). The residual stream and the head's logits are not units.
   */
  units(): UnitGroup[] {
    this.#denseOnly("units");
    const { dim, heads } = this.config, hd = dim / heads;
    return this.blocks.flatMap((b, i): UnitGroup[] => [
      {
        name: `blocks.${i}.attn`,
        kind: "head",
        size: heads,
        producers: [0, dim, 2 * dim].map((offset) => ({ layer: b.attn.qkv, offset, width: hd })),
        consumers: [{ layer: b.attn.proj, offset: 0, width: hd }],
      },
      {
        name: `blocks.${i}.mlp`,
        kind: "neuron",
        size: b.fc.outFeatures,
        producers: [{ layer: b.fc, offset: 0, width: 1 }],
        consumers: [{ layer: b.fcProj, offset: 0, width: 1 }],
      },
    ]);
  }

  #denseOnly(what: string): void {
    if (this.blocks.some((b) => b.ffn)) {
      throw new Error(`Cannot list ${what} of a GPT whose FFNs are replaced (an MoE GPT)`);
    }
  }

  /** GPT-2 initialization: N(0, 0.02), residual projections scaled by 1/√(2·layers), seeded. */
  init(seed: number): void {
    for (const p of this.parameters()) {
      if (p.name.endsWith(".bias") || p.name.startsWith("ln") || p.name.includes(".ln")) continue;
      const residual = p.name.endsWith("attn.proj.weight") || p.name.endsWith("mlp.proj.weight");
      const std = residual ? 0.02 / Math.sqrt(2 * this.config.layers) : 0.02;
      initNormal(p, std, hashString(p.name, seed));
    }
  }

  /** Logits [batch·seq × vocab] for `ids` [batch × seq]. */
  forward(ids: Int32Array, batch: number): Float32Array {
    return this.forwardFrom(ids, batch);
  }

  /**
   * Logits for `ids` [batch × seq], optionally starting at a block with the residual stream it
   * reads (`from`: what `blockInput` reported for that block on the same ids and an unchanged
   * model before it), reporting each block's input on the way (block `blocks.length` is the
   * final norm's). For passes that are not
   * followed by a backward one (a resumed pass leaves the earlier blocks' state stale).
   */
  forwardFrom(
    ids: Int32Array,
    batch: number,
    options: {
      from?: { block: number; input: Float32Array };
      blockInput?: (block: number, input: Float32Array) => void;
    } = {},
  ): Float32Array {
    const seq = ids.length / batch;
    if (!Number.isInteger(seq) || seq > this.config.context) {
      throw new RangeError(
        `Cannot run ${ids.length} tokens as ${batch} rows: seq must be an integer ≤ ${this.config.context}`,
      );
    }
    let h: Float32Array, first = 0;
    if (options.from) {
      // A copy: the caller keeps its cached input.
      h = Float32Array.from(options.from.input);
      first = options.from.block;
    } else {
      const pos = new Int32Array(ids.length);
      for (let i = 0; i < ids.length; i++) pos[i] = i % seq;
      h = this.tokens.forward(ids);
      const p = this.positions.forward(pos);
      for (let i = 0; i < h.length; i++) h[i] += p[i];
    }
    for (let k = first; k < this.blocks.length; k++) {
      options.blockInput?.(k, h);
      h = this.blocks[k].forward(h, batch, seq);
    }
    // "Block" blocks.length: the final norm and the head's input.
    options.blockInput?.(this.blocks.length, h);
    return this.head.forward(this.lnF.forward(h, batch * seq), batch * seq);
  }

  /** Backpropagates d(loss)/d(logits) into every parameter's gradient. */
  backward(dlogits: Float32Array): void {
    let dh = this.lnF.backward(this.head.backward(dlogits));
    for (let i = this.blocks.length - 1; i >= 0; i--) dh = this.blocks[i].backward(dh);
    this.tokens.backward(dh);
    this.positions.backward(dh);
  }
}
