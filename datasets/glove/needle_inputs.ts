// Needle-in-a-haystack inputs read out through attention: keys are real word vectors, a few
// "needle" keys sit at a controlled depth, and the last query rows each ask for one needle.
import type { AttentionInputs, AttentionShape } from "../../bench/families/attention/mod.ts";
import { mulberry32, normal } from "../../bench/random.ts";

export interface NeedleLayout {
  /** Key position of each query's needle, per head (needlesPerHead entries each). */
  needlePositions: number[][];
  /** The query rows, per head: the last needlesPerHead rows; query r asks for needle r. */
  queryRows: number[];
}

/**
 * Unscored rows after the needle queries. Methods that estimate their selection from the last
 * query rows (vertical-slash's default 64) would otherwise see the very rows they are scored on;
 * with 16 more rows of margin the scored queries lie outside every method's default window.
 */
export const NEEDLE_TAIL_ROWS = 80;

export interface NeedleOptions {
  /** Position of the needles as a share of the context, 0 (start) to 1 (end). */
  depth: number;
  needlesPerHead: number;
  /** Logit of an exact match after the 1/√d scale; cos θ times this for other words. */
  matchLogit: number;
  /** Scale of the queries of the haystack rows (not scored) relative to keys. */
  haystackQueryScale: number;
}

export const DEFAULT_NEEDLE_OPTIONS: Omit<NeedleOptions, "depth"> = {
  needlesPerHead: 8,
  matchLogit: 12,
  haystackQueryScale: 0.5,
};

/**
 * Builds q, k, v for one case from unit word vectors (`vocabulary.vectors`: size × d, row-major),
 * seeded by `options.seed`.
 *
 * Per head: every position holds a random vocabulary word (needle words excluded), key = s·ê(w)
 * with s² = matchLogit·√d, so q·k/√d = matchLogit·cos θ. The needles are distinct random words
 * at consecutive positions starting at round(depth·(seq − 2·needles)); the last `needlesPerHead`
 * rows query them (q = s·ê(needle r)); other rows query their own word at a smaller scale.
 * Values are N(0, 1) per component, so the readout argmax_j o·v_j names the key that dominated.
 */
export function buildNeedleInputs(
  shape: AttentionShape,
  vocabulary: { vectors: Float32Array; size: number },
  options: NeedleOptions & { seed: number },
): { inputs: AttentionInputs; layout: NeedleLayout } {
  const { vectors, size: vocabularySize } = vocabulary;
  const { heads, seq, headDim: d } = shape;
  const n = options.needlesPerHead;
  const tail = NEEDLE_TAIL_ROWS;
  if (seq < 3 * n + tail) {
    throw new RangeError(`needle inputs need seq ≥ ${3 * n + tail}: got ${seq}`);
  }
  const uniform = mulberry32(options.seed);
  const gauss = normal(uniform);
  const s = Math.sqrt(options.matchLogit * Math.sqrt(d));
  const q = new Float32Array(heads * seq * d);
  const k = new Float32Array(heads * seq * d);
  const v = Float32Array.from({ length: heads * seq * d }, gauss);
  const start = Math.round(options.depth * (seq - tail - 2 * n));
  const queryRows = Array.from({ length: n }, (_, r) => seq - tail - n + r);
  const needlePositions: number[][] = [];
  // Writes word's vector times scale at token `slot` (head · seq + position) of target.
  const put = (target: Float32Array, slot: number, word: number, scale: number) =>
    target.set(vectors.subarray(word * d, (word + 1) * d).map((x) => x * scale), slot * d);
  for (let head = 0; head < heads; head++) {
    const needles = new Set<number>();
    while (needles.size < n) needles.add(Math.floor(uniform() * vocabularySize));
    const needleWords = [...needles];
    for (let t = 0; t < seq; t++) {
      let word: number;
      do word = Math.floor(uniform() * vocabularySize); while (needles.has(word));
      put(k, head * seq + t, word, s);
      put(q, head * seq + t, word, s * options.haystackQueryScale);
    }
    const positions = needleWords.map((word, r) => {
      put(k, head * seq + start + r, word, s);
      put(q, head * seq + queryRows[r], word, s);
      return start + r;
    });
    needlePositions.push(positions);
  }
  return { inputs: { q, k, v }, layout: { needlePositions, queryRows } };
}

/** Unit-normalizes each row of a count × d matrix (in place) and returns it. */
export function normalizeRows(vectors: Float32Array, d: number): Float32Array {
  for (let off = 0; off < vectors.length; off += d) {
    let norm = 0;
    for (let i = 0; i < d; i++) norm += vectors[off + i] ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < d; i++) vectors[off + i] /= norm;
  }
  return vectors;
}
