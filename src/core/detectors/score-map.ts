/**
 * The shared score mapping: a non-negative statistic s becomes s / (s + boundary), so the
 * detector's native decision boundary lands at exactly 0.5, twice the boundary gives 0.67 and ten
 * times 0.91 — strong evidence stays distinguishable instead of saturating at 1.
 * Written as 1 / (1 + boundary / s) so s = Infinity maps to 1; NaN and negatives map to 0.
 */
export function ratioScore(statistic: number, boundary: number): number {
  const s = 1 / (1 + boundary / statistic);
  return s > 0 ? s : 0;
}
