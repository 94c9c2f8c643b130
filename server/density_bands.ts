// Realized-density bands: attention methods' nominal budgets mean different things (an upper
// bound, a lower bound, a recall target), so the leaderboard compares attention cells only with
// cells that attended about as many keys, and draws each method's quality against the density it
// realized.

/** Families whose cells are compared by band. Pruning cells meet their target density by check. */
export const BANDED_FAMILIES: readonly string[] = ["attention"];

/**
 * Case parameters that set a matched budget (the attention tasks' `targetDensity`,
 * TaskMeta.matchedBudget): cells that differ only in them are points of one method's curve.
 */
export const MATCHED_CASE_PARAMS: readonly string[] = ["targetDensity"];

/**
 * Band centres: each band spans a factor √2 either side, so the matched targets 0.05, 0.1 and 0.2
 * (tuned within ±10%) each fall inside one band.
 */
export const BAND_CENTRES: readonly number[] = [0.0125, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8];

/** Realized density from which a cell counts as dense. */
const DENSE_FROM = 0.999;

function short(x: number): string {
  return String(Number(x.toPrecision(2)));
}

/**
 * The band of a realized density, e.g. `≈0.1 (0.071–0.14)`, `dense`, or null without one.
 *
 * @example
 * ```ts
 * import { densityBand } from "./density_bands.ts";
 * densityBand(0.105); // "≈0.1 (0.071–0.14)"
 * densityBand(1); // "dense"
 * ```
 */
export function densityBand(realized: number | null): string | null {
  if (realized === null || !Number.isFinite(realized)) return null;
  if (realized >= DENSE_FROM) return "dense";
  const lowest = BAND_CENTRES[0] / Math.SQRT2;
  if (realized < lowest) return `< ${short(lowest)}`;
  for (const c of BAND_CENTRES) {
    if (realized < c * Math.SQRT2) {
      return `≈${short(c)} (${short(c / Math.SQRT2)}–${short(c * Math.SQRT2)})`;
    }
  }
  return "dense";
}

/** Where a band sorts: by its lower edge (dense last). */
export function bandOrder(band: string): number {
  if (band === "dense") return Infinity;
  if (band.startsWith("<")) return 0;
  return Number(band.slice(1, band.indexOf(" ")));
}

/** The case without its matched-budget parameters: what a method's curve is drawn over. */
export function shapeOf(
  caseParams: Readonly<Record<string, number | boolean | string>>,
): Record<string, number | boolean | string> {
  return Object.fromEntries(
    Object.entries(caseParams).filter(([k]) => !MATCHED_CASE_PARAMS.includes(k)),
  );
}
