// Logistic regression for the family's small learned classifiers (DHSA's boundary predictor):
// Newton's method (iteratively reweighted least squares) in float64 on standardised features, with
// a ridge on the weights. No seed, no sampling order: the same samples give the same weights, bit
// for bit.

/** Ridge strength per sample on the standardised weights (not the bias). */
const RIDGE = 1e-3;
const MAX_NEWTON_STEPS = 30;
const STEP_TOLERANCE = 1e-9;
/** The bias a one-class sample set gets: a probability of about 2e-9 or 1 − 2e-9. */
const ONE_CLASS_BIAS = 20;

/** Solves the symmetric positive definite system a·x = b (Cholesky), a and b unchanged. */
function choleskySolve(a: Float64Array[], b: Float64Array): Float64Array {
  const n = b.length;
  const l = Array.from({ length: n }, () => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i][j];
      for (let k = 0; k < j; k++) s -= l[i][k] * l[j][k];
      l[i][j] = i === j ? Math.sqrt(Math.max(s, 1e-300)) : s / l[j][j];
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i][k] * y[k];
    y[i] = s / l[i][i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= l[k][i] * x[k];
    x[i] = s / l[i][i];
  }
  return x;
}

/** A fitted classifier and how its fit went. */
export interface LogisticFit {
  /** n weights over the raw features, the last (the bias feature's) being the bias. */
  weights: Float64Array;
  /** Newton steps taken. */
  steps: number;
  /** Share of the samples labelled 1. */
  positiveShare: number;
}

/**
 * Fits P(y = 1 | x) = σ(w·x) by maximum likelihood with a ridge to samples whose last feature is
 * the bias's constant 1 (every sample weighs alike, so σ(w·x) is calibrated to the labels' share).
 * Features are standardised for the fit (a constant feature gets weight 0) and the weights mapped
 * back to the raw features.
 *
 * @param x samples × n features, row-major (each row's last entry 1)
 * @param y one label per sample, 0 or 1
 * @returns the weights over the raw features, the steps, the share of 1s
 * @throws {RangeError} when x does not hold y.length rows of n features
 */
export function fitLogistic(x: Float64Array, y: Uint8Array, n: number): LogisticFit {
  const m = y.length;
  if (x.length !== m * n || n < 1) {
    throw new RangeError(
      `Cannot fit a classifier on ${x.length} feature values: expected ${m} samples × ${n} features`,
    );
  }
  const positives = y.reduce((s, v) => s + v, 0);
  const weights = new Float64Array(n);
  if (positives === 0 || positives === m) {
    weights[n - 1] = positives === 0 ? -ONE_CLASS_BIAS : ONE_CLASS_BIAS;
    return { weights, steps: 0, positiveShare: m === 0 ? 0 : positives / m };
  }
  const mean = new Float64Array(n);
  const sd = new Float64Array(n).fill(1);
  for (let a = 0; a < n - 1; a++) {
    let s = 0;
    for (let i = 0; i < m; i++) s += x[i * n + a];
    mean[a] = s / m;
    let v = 0;
    for (let i = 0; i < m; i++) v += (x[i * n + a] - mean[a]) ** 2;
    sd[a] = Math.sqrt(v / m);
  }
  const z = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let a = 0; a < n - 1; a++) z[i * n + a] = sd[a] > 0 ? (x[i * n + a] - mean[a]) / sd[a] : 0;
    z[i * n + n - 1] = 1;
  }
  const beta = new Float64Array(n);
  let steps = 0;
  for (; steps < MAX_NEWTON_STEPS; steps++) {
    const hessian = Array.from({ length: n }, () => new Float64Array(n));
    const gradient = new Float64Array(n);
    for (let i = 0; i < m; i++) {
      const row = z.subarray(i * n, (i + 1) * n);
      let logit = 0;
      for (let a = 0; a < n; a++) logit += beta[a] * row[a];
      const p = 1 / (1 + Math.exp(-logit));
      const g = y[i] - p;
      const h = p * (1 - p);
      for (let a = 0; a < n; a++) {
        gradient[a] += g * row[a];
        const ha = h * row[a];
        if (ha === 0) continue;
        const hr = hessian[a];
        for (let b = 0; b <= a; b++) hr[b] += ha * row[b];
      }
    }
    for (let a = 0; a < n; a++) {
      for (let b = a + 1; b < n; b++) hessian[a][b] = hessian[b][a];
      if (a < n - 1) {
        hessian[a][a] += RIDGE * m;
        gradient[a] -= RIDGE * m * beta[a];
      }
    }
    const delta = choleskySolve(hessian, gradient);
    let largest = 0;
    for (let a = 0; a < n; a++) {
      beta[a] += delta[a];
      largest = Math.max(largest, Math.abs(delta[a]));
    }
    if (largest < STEP_TOLERANCE * (1 + Math.max(...beta.map(Math.abs)))) {
      steps++;
      break;
    }
  }
  let bias = beta[n - 1];
  for (let a = 0; a < n - 1; a++) {
    weights[a] = sd[a] > 0 ? beta[a] / sd[a] : 0;
    bias -= weights[a] * mean[a];
  }
  weights[n - 1] = bias;
  return { weights, steps, positiveShare: positives / m };
}
