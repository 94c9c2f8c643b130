// Balanced linear assignment by Bertsekas's auction (with ε-scaling): tokens bid for experts that
// each hold at most `capacity` tokens, maximizing the total score. BASE layers assign their training
// tokens with it; COMET hardens its learned expert permutation with it (capacity 1).

/** Phases of ε-scaling: ε starts at the scores' range / 4 and shrinks ×4 each phase to this share. */
const FINAL_EPSILON_SHARE = 1e-7;

/**
 * The assignment of `tokens` tokens to `experts` experts, at most `capacity` each, maximizing
 * Σ scores[t, expert(t)]: a forward auction over the experts' slots, prices kept across ε phases.
 * The result is within tokens·ε of the optimum (ε = 1e-7 of the scores' range at the end).
 *
 * @param scores row-major [tokens × experts], finite
 * @returns the expert of each token
 * @throws {RangeError} when tokens > experts·capacity or a score is not finite
 * @example
 * ```ts
 * import { balancedAssignment } from "./_assignment.ts";
 * // Both tokens prefer expert 0; one of them must take expert 1, and the second loses less.
 * balancedAssignment(Float64Array.from([3, 0, 2, 1.5]), { tokens: 2, experts: 2, capacity: 1 });
 * // → [0, 1]
 * ```
 */
export function balancedAssignment(
  scores: ArrayLike<number>,
  shape: { tokens: number; experts: number; capacity: number },
): Int32Array {
  const { tokens: T, experts: E, capacity: c } = shape;
  if (!(Number.isInteger(c) && c >= 1) || T > E * c) {
    throw new RangeError(
      `Cannot assign ${T} tokens to ${E} experts of capacity ${c}: need an integer capacity ≥ 1 and tokens ≤ experts·capacity`,
    );
  }
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < T * E; i++) {
    const v = scores[i];
    if (!Number.isFinite(v)) {
      throw new RangeError(`Cannot assign tokens as score ${i} is ${v}: scores must be finite`);
    }
    lo = Math.min(lo, v, 0);
    hi = Math.max(hi, v, 0);
  }
  // Dummy bidders that value every slot alike fill the slots no token takes: with as many bidders
  // as slots the auction's ε-optimality holds (an asymmetric forward auction whose prices persist
  // across ε phases can strand a priced slot empty), and the dummies add a constant to the total.
  const slots = E * c, bidders = slots;
  const score = (t: number, e: number) => t < T ? scores[t * E + e] : 0;
  const price = new Float64Array(slots), holder = new Int32Array(slots);
  const slotOf = new Int32Array(bidders);
  // Per expert: its cheapest slot and the second-cheapest price (slots of one expert are alike).
  const minSlot = new Int32Array(E), secondPrice = new Float64Array(E);
  const refresh = (e: number) => {
    let best = e * c, second = Infinity;
    for (let q = e * c + 1; q < (e + 1) * c; q++) {
      if (price[q] < price[best]) {
        second = price[best];
        best = q;
      } else if (price[q] < second) second = price[q];
    }
    minSlot[e] = best;
    secondPrice[e] = second;
  };
  const range = hi - lo;
  let epsilon = range > 0 ? range / 4 : 1;
  const finalEpsilon = range > 0 ? range * FINAL_EPSILON_SHARE : 1;
  const queue = new Int32Array(bidders);
  for (;;) {
    holder.fill(-1);
    slotOf.fill(-1);
    for (let e = 0; e < E; e++) refresh(e);
    let head = 0, tail = 0;
    for (let t = 0; t < bidders; t++) queue[tail++ % bidders] = t;
    let pending = bidders;
    while (pending > 0) {
      const t = queue[head++ % bidders];
      pending--;
      let e1 = -1, v1 = -Infinity, v2 = -Infinity;
      for (let e = 0; e < E; e++) {
        const v = score(t, e) - price[minSlot[e]];
        if (v > v1) {
          v2 = v1;
          v1 = v;
          e1 = e;
        } else if (v > v2) v2 = v;
      }
      // The bidder's next best may be another slot of the same expert.
      v2 = Math.max(v2, score(t, e1) - secondPrice[e1]);
      const slot = minSlot[e1];
      price[slot] += (Number.isFinite(v2) ? v1 - v2 : 0) + epsilon;
      const evicted = holder[slot];
      holder[slot] = t;
      slotOf[t] = slot;
      if (evicted >= 0) {
        slotOf[evicted] = -1;
        queue[tail++ % bidders] = evicted;
        pending++;
      }
      refresh(e1);
    }
    if (epsilon <= finalEpsilon) break;
    epsilon = Math.max(finalEpsilon, epsilon / 4);
  }
  const out = new Int32Array(T);
  for (let t = 0; t < T; t++) out[t] = (slotOf[t] / c) | 0;
  return out;
}
