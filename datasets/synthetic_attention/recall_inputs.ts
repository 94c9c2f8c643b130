// Multi-query associative recall (MQAR) inputs for attention: `pairs` key→value pairs scattered
// through a context of filler tokens; the last queries each present one pair's key and should
// read out that pair's value.
import type { AttentionInputs, AttentionShape } from "../../bench/families/attention/mod.ts";
import { mulberry32, normal } from "../../bench/random.ts";

export interface RecallOptions {
  pairs: number;
  queriesPerHead: number;
  /** Logit of a query against its own pair's key, after the 1/√d scale. */
  matchLogit: number;
  /** Filler keys are drawn with this share of a pair key's norm. */
  fillerScale: number;
}

export const DEFAULT_RECALL_OPTIONS: Omit<RecallOptions, "pairs"> = {
  queriesPerHead: 8,
  matchLogit: 10,
  fillerScale: 0.5,
};

export interface RecallLayout {
  /** Key position each query's answer sits at, per head. */
  answers: number[][];
  /** Query rows (the last queriesPerHead rows). */
  queryRows: number[];
}

/**
 * Builds q, k, v for one case. Per head: `pairs` distinct positions (before the query rows)
 * hold pair keys, unit random directions scaled by s = √(matchLogit·√d); all other positions hold
 * filler keys (random directions at fillerScale·s). Each query row presents the key of a random
 * pair (with replacement across queries). Values are N(0, 1) per component, so the readout
 * argmax_j o·v_j names the position that dominated the output.
 */
export function buildRecallInputs(
  shape: AttentionShape,
  seed: number,
  options: RecallOptions,
): { inputs: AttentionInputs; layout: RecallLayout } {
  const { heads, seq, headDim: d } = shape;
  const nq = options.queriesPerHead;
  if (options.pairs > seq - nq) {
    throw new RangeError(
      `${options.pairs} pairs do not fit before the ${nq} query rows of seq ${seq}`,
    );
  }
  const uniform = mulberry32(seed);
  const gauss = normal(uniform);
  const s = Math.sqrt(options.matchLogit * Math.sqrt(d));
  const direction = () => {
    const u = Array.from({ length: d }, gauss);
    const norm = Math.hypot(...u);
    return u.map((x) => x / norm);
  };
  const q = new Float32Array(heads * seq * d);
  const k = new Float32Array(heads * seq * d);
  const v = Float32Array.from({ length: heads * seq * d }, gauss);
  const queryRows = Array.from({ length: nq }, (_, r) => seq - nq + r);
  const answers: number[][] = [];
  for (let head = 0; head < heads; head++) {
    const positions = new Set<number>();
    while (positions.size < options.pairs) positions.add(Math.floor(uniform() * (seq - nq)));
    const pairs = [...positions].map((pos) => ({ pos, key: direction() }));
    const isPair = new Map(pairs.map((p) => [p.pos, p.key]));
    for (let t = 0; t < seq; t++) {
      const key = isPair.get(t) ?? direction().map((x) => x * options.fillerScale);
      k.set(key.map((x) => x * s), (head * seq + t) * d);
      q.set(direction().map((x) => x * s * options.fillerScale), (head * seq + t) * d);
    }
    const chosen = queryRows.map((row) => {
      const pair = pairs[Math.floor(uniform() * pairs.length)];
      q.set(pair.key.map((x) => x * s), (head * seq + row) * d);
      return pair.pos;
    });
    answers.push(chosen);
  }
  return { inputs: { q, k, v }, layout: { answers, queryRows } };
}
