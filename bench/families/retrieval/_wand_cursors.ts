// Cursors over a query's posting lists kept sorted by current document, shared by WAND and
// Block-Max WAND. Scratch arrays are reused across queries of one index.
import type { ImpactIndex, WeightedQuery } from "./_impact_index.ts";
import { seek } from "./_impact_index.ts";
import type { TopK } from "./_top_k.ts";

export class SortedCursors {
  n = 0;
  pos: Int32Array;
  end: Int32Array;
  /** Current document of each term (numDocs once exhausted). */
  cur: Int32Array;
  ub: Float64Array;
  /** Block cursor of each term: an absolute index into the index's block arrays. */
  block: Int32Array;
  blockEnd: Int32Array;
  /** Term indices ordered by current document (exhausted terms last). */
  ord: Int32Array;
  hit: Uint8Array;
  val: Float64Array;
  readonly #docs: Int32Array;
  readonly #none: number;
  readonly #index: ImpactIndex;

  constructor(index: ImpactIndex) {
    this.#index = index;
    this.#docs = index.docs;
    this.#none = index.numDocs;
    this.pos = new Int32Array(0);
    this.end =
      this.cur =
      this.block =
      this.blockEnd =
      this.ord =
        this.pos;
    this.ub = this.val = new Float64Array(0);
    this.hit = new Uint8Array(0);
  }

  /** Positions the cursors at the start of `query`'s lists and sorts them. */
  reset(query: WeightedQuery): void {
    const n = this.n = query.terms.length;
    if (this.pos.length < n) {
      this.pos = new Int32Array(n);
      this.end = new Int32Array(n);
      this.cur = new Int32Array(n);
      this.block = new Int32Array(n);
      this.blockEnd = new Int32Array(n);
      this.ord = new Int32Array(n);
      this.ub = new Float64Array(n);
      this.val = new Float64Array(n);
      this.hit = new Uint8Array(n);
    }
    const index = this.#index;
    for (let i = 0; i < n; i++) {
      const t = query.terms[i];
      this.pos[i] = index.offsets[t];
      this.end[i] = index.offsets[t + 1];
      this.cur[i] = this.pos[i] < this.end[i] ? this.#docs[this.pos[i]] : this.#none;
      this.ub[i] = query.weights[i] * index.maxImpact[t];
      this.block[i] = index.blockOffsets[t];
      this.blockEnd[i] = index.blockOffsets[t + 1];
      this.ord[i] = i;
      this.hit[i] = 0;
    }
    this.sort();
  }

  /** Moves term i to its first document ≥ target. */
  advance(i: number, target: number): void {
    const p = this.pos[i] = seek(this.#docs, this.pos[i], this.end[i], target);
    this.cur[i] = p < this.end[i] ? this.#docs[p] : this.#none;
  }

  /**
   * The step after a pivot is found: if the first cursor already sits on the pivot document,
   * every cursor up to the pivot is on it, so the document is scored and offered to `heap`;
   * otherwise the last cursor before the pivot's run is moved up to the pivot document.
   *
   * @returns the postings scored
   */
  scoreOrAdvance(pivot: number, weights: ArrayLike<number>, heap: TopK): number {
    const { ord, cur, val, hit, pos, n } = this;
    const pd = cur[ord[pivot]];
    if (cur[ord[0]] !== pd) {
      let p = pivot;
      while (cur[ord[p]] === pd) p--;
      this.advance(ord[p], pd);
      return 0;
    }
    const impacts = this.#index.impacts;
    for (let p = 0; p <= pivot; p++) {
      const i = ord[p];
      val[i] = weights[i] * impacts[pos[i]];
      hit[i] = 1;
      this.next(i);
    }
    let s = 0;
    for (let i = 0; i < n; i++) {
      if (hit[i]) {
        s += val[i];
        hit[i] = 0;
      }
    }
    heap.push(s, pd);
    return pivot + 1;
  }

  /**
   * WAND's pivot: walking the terms in document order, the first position where the summed
   * upper bounds exceed `bar`, extended over the following terms that sit on the same document;
   * -1 when no document can beat the bar.
   */
  pivot(bar: number): number {
    const { ord, cur, ub, n } = this;
    const none = this.#none;
    let acc = 0;
    let pivot = -1;
    for (let p = 0; p < n; p++) {
      const i = ord[p];
      if (cur[i] === none) break;
      acc += ub[i];
      if (acc > bar) {
        pivot = p;
        break;
      }
    }
    if (pivot < 0) return -1;
    const pd = cur[ord[pivot]];
    while (pivot + 1 < n && cur[ord[pivot + 1]] === pd) pivot++;
    return pivot;
  }

  /** Moves term i one posting on. */
  next(i: number): void {
    const p = ++this.pos[i];
    this.cur[i] = p < this.end[i] ? this.#docs[p] : this.#none;
  }

  /** Insertion sort of `ord` by current document (ties by term index); lists are short. */
  sort(): void {
    const ord = this.ord;
    const cur = this.cur;
    for (let a = 1; a < this.n; a++) {
      const x = ord[a];
      const dx = cur[x];
      let b = a - 1;
      while (b >= 0 && (cur[ord[b]] > dx || (cur[ord[b]] === dx && ord[b] > x))) {
        ord[b + 1] = ord[b];
        b--;
      }
      ord[b + 1] = x;
    }
  }
}

const scratch = new WeakMap<ImpactIndex, SortedCursors>();

/** The cursors of an index, reused across its queries. */
export function cursorsOf(index: ImpactIndex): SortedCursors {
  let c = scratch.get(index);
  if (!c) scratch.set(index, c = new SortedCursors(index));
  return c;
}
