// Cursors over a query's posting lists kept sorted by current document, shared by WAND and
// Block-Max WAND.
import type { ImpactIndex, WeightedQuery } from "./impact_index.ts";
import { seek } from "./impact_index.ts";

export class SortedCursors {
  readonly n: number;
  readonly pos: Int32Array;
  readonly end: Int32Array;
  readonly ub: Float64Array;
  /** Block cursor of each term: an absolute index into the index's block arrays. */
  readonly block: Int32Array;
  readonly blockEnd: Int32Array;
  /** Term indices ordered by current document (exhausted terms last). */
  readonly ord: Int32Array;
  readonly #docs: Int32Array;
  readonly #none: number;

  constructor(index: ImpactIndex, query: WeightedQuery) {
    const n = this.n = query.terms.length;
    this.pos = new Int32Array(n);
    this.end = new Int32Array(n);
    this.ub = new Float64Array(n);
    this.block = new Int32Array(n);
    this.blockEnd = new Int32Array(n);
    this.#docs = index.docs;
    this.#none = index.numDocs;
    for (let i = 0; i < n; i++) {
      const t = query.terms[i];
      this.pos[i] = index.offsets[t];
      this.end[i] = index.offsets[t + 1];
      this.ub[i] = query.weights[i] * index.maxImpact[t];
      this.block[i] = index.blockOffsets[t];
      this.blockEnd[i] = index.blockOffsets[t + 1];
    }
    this.ord = Int32Array.from({ length: n }, (_, i) => i);
    this.sort();
  }

  /** Current document of term i, or numDocs when its list is exhausted. */
  doc(i: number): number {
    return this.pos[i] < this.end[i] ? this.#docs[this.pos[i]] : this.#none;
  }

  /** Moves term i to its first document ≥ target. */
  advance(i: number, target: number): void {
    this.pos[i] = seek(this.#docs, this.pos[i], this.end[i], target);
  }

  /** Moves term i one posting on. */
  next(i: number): void {
    this.pos[i]++;
  }

  /** Insertion sort of `ord` by current document (ties by term index); lists are short. */
  sort(): void {
    const ord = this.ord;
    for (let a = 1; a < this.n; a++) {
      const x = ord[a];
      const dx = this.doc(x);
      let b = a - 1;
      while (b >= 0 && (this.doc(ord[b]) > dx || (this.doc(ord[b]) === dx && ord[b] > x))) {
        ord[b + 1] = ord[b];
        b--;
      }
      ord[b + 1] = x;
    }
  }
}
