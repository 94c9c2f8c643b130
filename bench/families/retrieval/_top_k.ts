// A bounded heap that keeps the k best (score, doc) pairs: higher score first, ties by lower doc.
import type { Ranking } from "./_interface.ts";

/** The k best documents seen so far; the worst of them sits at the root. */
export class TopK {
  readonly k: number;
  #scores: Float64Array;
  #docs: Int32Array;
  #size = 0;

  /** @throws {RangeError} when k is not a positive integer */
  constructor(k: number) {
    if (!Number.isInteger(k) || k < 1) {
      throw new RangeError(`Cannot keep a top-k as 'k' must be a positive integer: got ${k}`);
    }
    this.k = k;
    this.#scores = new Float64Array(k);
    this.#docs = new Int32Array(k);
  }

  get size(): number {
    return this.#size;
  }

  /** Score a document must beat to enter (−Infinity until the heap is full). */
  get threshold(): number {
    return this.#size < this.k ? -Infinity : this.#scores[0];
  }

  /** Whether (score, doc) would enter: better than the worst kept, or room is left. */
  admits(score: number, doc: number): boolean {
    if (this.#size < this.k) return true;
    const s = this.#scores[0];
    return score > s || (score === s && doc < this.#docs[0]);
  }

  /** Offers a document; returns whether it was kept. */
  push(score: number, doc: number): boolean {
    if (this.#size < this.k) {
      let i = this.#size++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!this.#worse(score, doc, parent)) break;
        this.#scores[i] = this.#scores[parent];
        this.#docs[i] = this.#docs[parent];
        i = parent;
      }
      this.#scores[i] = score;
      this.#docs[i] = doc;
      return true;
    }
    if (!this.admits(score, doc)) return false;
    this.#siftDown(score, doc);
    return true;
  }

  // Whether (score, doc) ranks below the entry at index i.
  #worse(score: number, doc: number, i: number): boolean {
    const s = this.#scores[i];
    return score < s || (score === s && doc > this.#docs[i]);
  }

  #siftDown(score: number, doc: number): void {
    const n = this.#size;
    let i = 0;
    while (true) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.#isWorseAt(r, l) ? r : l;
      if (!this.#entryWorseThan(c, score, doc)) break;
      this.#scores[i] = this.#scores[c];
      this.#docs[i] = this.#docs[c];
      i = c;
    }
    this.#scores[i] = score;
    this.#docs[i] = doc;
  }

  #isWorseAt(a: number, b: number): boolean {
    return this.#worse(this.#scores[a], this.#docs[a], b);
  }

  #entryWorseThan(i: number, score: number, doc: number): boolean {
    const s = this.#scores[i];
    return s < score || (s === score && this.#docs[i] > doc);
  }

  /** The kept documents, best first. */
  ranking(postingsScored: number): Ranking {
    const order = Array.from({ length: this.#size }, (_, i) => i);
    order.sort((a, b) => this.#scores[b] - this.#scores[a] || this.#docs[a] - this.#docs[b]);
    return {
      docs: Int32Array.from(order, (i) => this.#docs[i]),
      scores: Float64Array.from(order, (i) => this.#scores[i]),
      postingsScored,
    };
  }
}
