/**
 * Student's t distribution tail and quantiles, and the critical values of the generalised ESD
 * (Rosner) test built on them. Written out because the ESD detector needs exact critical values
 * for arbitrary sample sizes and no dependency is worth it for three textbook formulas.
 */

const LN_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** ln Γ(x) for x > 0: shift up to x >= 10, then the Stirling series (error below 1e-13). */
export function logGamma(x: number): number {
  let shift = 0;
  while (x < 10) {
    shift -= Math.log(x);
    x += 1;
  }
  const inv = 1 / x;
  const inv2 = inv * inv;
  const series = inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 / 1680)));
  return shift + (x - 0.5) * Math.log(x) - x + LN_SQRT_2PI + series;
}

/** Regularised incomplete beta I_x(a, b) for a, b > 0 and x in [0, 1]. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  // The continued fraction converges fast only on this side of the mean; use symmetry otherwise.
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBeta(1 - x, b, a);
  const lnFront =
    a * Math.log(x) + b * Math.log1p(-x) - (logGamma(a) + logGamma(b) - logGamma(a + b));
  return (Math.exp(lnFront) / a) * betaContinuedFraction(x, a, b);
}

/**
 * The continued fraction of the regularised incomplete beta, 1 / (1 + d1 / (1 + d2 / (1 + ...))),
 * evaluated with the modified Lentz method; accurate for x <= (a + 1) / (a + b + 2).
 */
export function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 0;
  let f = 1;
  for (let j = 1; j <= 100000; j++) {
    const m = j >> 1;
    const dj =
      j % 2 === 1
        ? (-(a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1))
        : (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m));
    d = 1 + dj * d;
    if (Math.abs(d) < tiny) d = tiny;
    d = 1 / d;
    c = 1 + dj / c;
    if (Math.abs(c) < tiny) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  // f holds 1 + d1/(1 + ...) from the second convergent on; the fraction we want is its inverse.
  return 1 / f;
}

/** P(T > t) for Student's t with `df` degrees of freedom. */
export function studentTTail(t: number, df: number): number {
  if (t === Infinity) return 0;
  if (t === -Infinity) return 1;
  const half = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? half : 1 - half;
}

/** P(T <= t). */
export function studentTCdf(t: number, df: number): number {
  return 1 - studentTTail(t, df);
}

/**
 * The t with P(T > t) = tail, for tail in (0, 1). Works on the tail probability directly so
 * the tiny tails of the ESD test keep full relative precision.
 */
export function studentTUpperQuantile(tail: number, df: number): number {
  if (!(tail > 0 && tail < 1)) throw new RangeError(`tail must be in (0, 1), got ${tail}`);
  if (tail === 0.5) return 0;
  if (tail > 0.5) return -studentTUpperQuantile(1 - tail, df);
  let lo = 0;
  let hi = 1;
  while (studentTTail(hi, df) > tail) {
    lo = hi;
    hi *= 2;
    if (hi > 1e12) return hi;
  }
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = 0.5 * (lo + hi);
    if (studentTTail(mid, df) > tail) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/**
 * Critical value λ_i of the generalised ESD test for the i-th most extreme of n values at
 * significance `alpha` (two-sided): the i-th removed value is an outlier when its standardised
 * distance R_i exceeds λ_i. Defined for 1 <= i <= n - 2.
 */
export function esdCriticalValue(n: number, i: number, alpha: number): number {
  const rest = n - i + 1;
  const df = n - i - 1;
  if (df < 1) return Infinity;
  const t = studentTUpperQuantile(alpha / (2 * rest), df);
  return ((n - i) * t) / Math.sqrt((df + t * t) * rest);
}
