// Number and date formatting shared by every page, so a figure reads the same everywhere.

/** A number with about `digits` significant digits; "–" for missing values. */
export function num(value: number | null | undefined, digits = 3): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  if (value !== 0 && Math.abs(value) < 1e-3) return value.toExponential(digits - 1);
  return Number(value.toPrecision(digits)).toString();
}

/** A value with its 95% confidence interval, as "v [lo, hi]". */
export function withCi(value: number | null, ci: [number, number] | null, digits = 3): string {
  if (value === null) return "–";
  return ci
    ? `${num(value, digits)} [${num(ci[0], digits)}, ${num(ci[1], digits)}]`
    : num(value, digits);
}

/** A density in [0, 1] as a sparsity percentage ("90%" sparse means density 0.1). */
export function sparsity(density: number | null): string {
  if (density === null || !Number.isFinite(density)) return "–";
  return `${Number(((1 - density) * 100).toFixed(1))}%`;
}

/** A speed-up with its 95% interval when known, such as "×7.24 [6.91, 7.52]"; "–" if missing. */
export function speedup(value: number | null, ci: [number, number] | null = null): string {
  if (value === null || !Number.isFinite(value)) return "–";
  return ci ? `×${num(value)} [${num(ci[0])}, ${num(ci[1])}]` : `×${num(value)}`;
}

/** An ISO date as "2025-01-02 03:04 UTC"; other text unchanged. */
export function date(iso: string | null): string {
  if (!iso) return "–";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}
