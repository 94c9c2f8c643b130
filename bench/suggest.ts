// "Did you mean …" answers for unknown names, shared by the registries and the CLI.

/** Levenshtein edit distance between two strings. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost);
    }
    prev = row;
  }
  return prev[b.length];
}

/**
 * The known names closest to `name`: those within a third of its length in edits, or that
 * contain it, nearest first.
 */
export function closestNames(name: string, known: readonly string[], limit = 3): string[] {
  const budget = Math.max(2, Math.ceil(name.length / 3));
  return known
    .map((k) => ({ k, d: k.includes(name) || name.includes(k) ? 0.5 : editDistance(name, k) }))
    .filter(({ d }) => d <= budget)
    .sort((x, y) => x.d - y.d || x.k.localeCompare(y.k))
    .slice(0, limit)
    .map(({ k }) => k);
}

/** A message naming an unknown name, its close matches and every valid one. */
export function unknownNameMessage(kind: string, name: string, known: readonly string[]): string {
  const close = closestNames(name, known);
  const hint = close.length > 0 ? ` Did you mean ${close.map((c) => `'${c}'`).join(" or ")}?` : "";
  return `Unknown ${kind} '${name}'.${hint} Valid ${kind}s: ${[...known].sort().join(", ")}.`;
}
