/**
 * How reconstruction errors (mean squared error over a window, raw units squared) become scores:
 * `typical` scores 0 and anything below it too, `boundary` scores 0.5. Vigil's trainer sets them
 * to the median and the q99.9 of the errors on the training series.
 */
export interface ErrorCalibration {
  readonly typical: number;
  readonly boundary: number;
}

/**
 * A calibration that always maps: the boundary is kept strictly above `typical` (by at least a
 * millionth of it) so a perfectly flat reference never divides by zero.
 */
export function calibrationOf(typical: number, boundary: number): ErrorCalibration {
  const t = Math.max(0, typical);
  const floor = t + Math.max(t * 1e-6, Number.MIN_VALUE);
  return { typical: t, boundary: Math.max(boundary, floor) };
}
