// Sparse Model Soups' mechanisms, shared by the method and the recipe that trains it: one phase of
// iterative magnitude pruning (a global |w| threshold over the layers), and the parameter average
// of models retrained from one pruned model, which keeps their common mask by construction.
import type { Linear } from "../../nn/layers.ts";
import type { Param } from "../../nn/param.ts";
import { lowestScoring } from "./_sparse_topology.ts";

/**
 * One IMP pruning step, in place: of the weights the layers keep (all of a layer without a mask),
 * the ones with the lowest |w| across every layer are pruned until round((1 − sparsity)·weights)
 * remain; every layer gets a hard mask. Ties go to the earlier layer, then the lower index.
 *
 * @param layers the layers to prune together
 * @param sparsity the model-wide share of weights pruned after the step, in [0, 1)
 * @returns the weights each layer keeps
 * @throws {RangeError} when the sparsity is outside [0, 1) or below what the masks already prune
 * @example
 * ```ts
 * import { Linear } from "../../nn/layers.ts";
 * import { globalMagnitudeStep } from "./mod.ts";
 * const a = new Linear("a", 2, 1), b = new Linear("b", 2, 1);
 * a.weight.data.set([0.1, 0.5]);
 * b.weight.data.set([-0.2, 0.05]);
 * globalMagnitudeStep([a, b], 0.5); // [1, 1]: 0.05 and 0.1 go, 0.5 and −0.2 stay
 * ```
 */
export function globalMagnitudeStep(layers: readonly Linear[], sparsity: number): number[] {
  if (!(sparsity >= 0 && sparsity < 1)) {
    throw new RangeError(`Cannot prune to sparsity ${sparsity}: it must be in [0, 1)`);
  }
  const total = layers.reduce((n, l) => n + l.weight.size, 0);
  const keep = Math.round((1 - sparsity) * total);
  const offsets: number[] = [], candidates: number[] = [];
  const magnitude = new Float32Array(total);
  let offset = 0;
  for (const l of layers) {
    offsets.push(offset);
    const { data, mask } = l.weight;
    for (let i = 0; i < data.length; i++) {
      magnitude[offset + i] = Math.abs(data[i]);
      if (!mask || mask[i] !== 0) candidates.push(offset + i);
    }
    offset += l.weight.size;
  }
  if (keep > candidates.length) {
    throw new RangeError(
      `Cannot prune to sparsity ${sparsity}: the masks keep ${candidates.length} weights already, fewer than ${keep}`,
    );
  }
  const masks = layers.map((l) => l.weight.mask ? Float32Array.from(l.weight.mask) : null)
    .map((m, k) => m ?? new Float32Array(layers[k].weight.size).fill(1));
  for (const g of lowestScoring(magnitude, candidates, candidates.length - keep)) {
    let k = layers.length - 1;
    while (offsets[k] > g) k--;
    masks[k][g - offsets[k]] = 0;
  }
  layers.forEach((l, k) => l.weight.setMask(masks[k], "hard"));
  return masks.map((m) => m.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0));
}

/**
 * The uniform soup: each parameter of `into` becomes the mean of the members' (summed in float64),
 * and each masked one takes the members' common mask as a hard mask. Models retrained from one
 * pruned model share that mask, so the soup keeps it exactly; members whose masks differ are
 * refused, since their average would be denser than any of them.
 *
 * @param members the members' parameters, each list in the same order as `into`'s
 * @param into the soup's parameters (overwritten)
 * @param weights each member's share (default 1/m each); they must sum to 1
 * @throws {RangeError} when there are no members, the lists or shapes differ, or the masks differ
 * @example
 * ```ts
 * import { Param } from "../../nn/param.ts";
 * import { averageSharedMask } from "./mod.ts";
 * const make = (values: number[]) => {
 *   const p = new Param("w", [1, 3]);
 *   p.data.set(values);
 *   p.setMask(Float32Array.from([1, 0, 1]));
 *   return p;
 * };
 * const soup = new Param("w", [1, 3]);
 * averageSharedMask([[make([1, 0, 2])], [make([3, 0, 4])]], [soup]); // soup.data: [2, 0, 3]
 * ```
 */
export function averageSharedMask(
  members: readonly (readonly Param[])[],
  into: readonly Param[],
  weights?: readonly number[],
): void {
  if (members.length === 0) throw new RangeError("Cannot average: no members given");
  const shares = weights ?? members.map(() => 1 / members.length);
  if (shares.length !== members.length) {
    throw new RangeError(
      `Cannot average ${members.length} members with ${shares.length} weights`,
    );
  }
  members.forEach((list, j) => {
    if (list.length !== into.length) {
      throw new RangeError(
        `Cannot average: member ${j + 1} has ${list.length} parameters, the soup ${into.length}`,
      );
    }
  });
  into.forEach((target, k) => {
    const first = members[0][k];
    const sum = new Float64Array(target.size);
    members.forEach((list, j) => {
      const p = list[k];
      if (p.name !== target.name || p.size !== target.size) {
        throw new RangeError(
          `Cannot average: member ${
            j + 1
          }'s parameter ${k} is '${p.name}' (${p.size}), the soup's '${target.name}' (${target.size})`,
        );
      }
      const differs = maskDifference(first.mask, p.mask);
      if (differs >= 0) {
        throw new RangeError(
          `Cannot average models with different masks: member ${
            j + 1
          }'s '${p.name}' differs from member 1's at entry ${differs}`,
        );
      }
      const values = p.effective();
      for (let i = 0; i < sum.length; i++) sum[i] += shares[j] * values[i];
    });
    target.data.set(sum);
    target.setMask(first.mask ? Float32Array.from(first.mask) : null, "hard");
  });
}

/** The first entry where two masks differ (null: dense), or −1 when they are equal. */
function maskDifference(a: Float32Array | null, b: Float32Array | null): number {
  if (!a || !b) return a === b ? -1 : 0;
  for (let i = 0; i < a.length; i++) if ((a[i] !== 0) !== (b[i] !== 0)) return i;
  return -1;
}

/**
 * The greedy soup (Wortsman et al., as SMS's code runs it): members sorted by validation score,
 * best first; each next one joins the soup when the soup's validation score with it is at least
 * the best so far.
 *
 * @param scores each member's own validation score
 * @param soupScore the validation score of the uniform soup of the members at these indices
 * @returns the indices of the members in the soup, in the order they joined
 */
export function greedySoupMembers(
  scores: readonly number[],
  soupScore: (members: number[]) => number,
): number[] {
  const order = scores.map((s, i) => ({ s, i })).sort((a, b) => b.s - a.s || a.i - b.i);
  const chosen = [order[0].i];
  let best = order[0].s;
  for (const { i } of order.slice(1)) {
    const score = soupScore([...chosen, i]);
    if (score >= best) {
      chosen.push(i);
      best = score;
    }
  }
  return chosen;
}
