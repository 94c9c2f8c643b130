// The load-balancing loss Switch and GShard share: α·E·Σᵢ fᵢ·Pᵢ, with fᵢ the share of the batch's
// tokens whose first choice is expert i (a count: no gradient, as in the papers) and Pᵢ the mean
// router probability of expert i. At uniform routing it equals α.

/** fᵢ of the first choices and the loss α·E·Σ fᵢ·Pᵢ over router probabilities p [tokens × E]. */
export function firstChoiceBalanceLoss(
  p: Float32Array,
  firstChoice: (t: number) => number,
  shape: { tokens: number; experts: number; alpha: number },
): { f: Float64Array; loss: number } {
  const { tokens, experts: E, alpha } = shape;
  const f = new Float64Array(E), P = new Float64Array(E);
  for (let t = 0; t < tokens; t++) {
    f[firstChoice(t)] += 1 / tokens;
    for (let e = 0; e < E; e++) P[e] += p[t * E + e] / tokens;
  }
  let loss = 0;
  for (let e = 0; e < E; e++) loss += f[e] * P[e];
  return { f, loss: loss * (alpha * E) };
}

/** ∂(α·E·Σ fᵢ·Pᵢ)/∂p[t, i] = α·E·fᵢ/T for every token: a fresh ∂p [tokens × E] to add the rest to. */
export function balanceLossGradient(
  f: Float64Array,
  shape: { tokens: number; experts: number; alpha: number },
): Float32Array {
  const { tokens, experts: E, alpha } = shape;
  const dp = new Float32Array(tokens * E);
  for (let t = 0; t < tokens; t++) {
    for (let e = 0; e < E; e++) dp[t * E + e] = alpha * E * f[e] / tokens;
  }
  return dp;
}
