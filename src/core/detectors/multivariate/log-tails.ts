import { betaContinuedFraction, logGamma } from '../../stats/student-t.js';
import { ratioScore } from '../score-map.js';

/**
 * Natural logarithms of the upper tails of the F and chi-square distributions, computed in log
 * space so that a far-out statistic keeps a finite, ordered p-value (1e-40 and 1e-400 stay
 * distinguishable; a plain tail would underflow to 0 near 1e-308 and every score would
 * saturate at 1). Each tail is an object that precomputes its log-gamma constants once per
 * fit, because the tail is evaluated for every scored vector.
 */

const TINY = 1e-300;
const EPS = 1e-15;
const MAX_TERMS = 10_000;

/** ln P(χ²_k > x). */
export class ChiSquareTail {
  private readonly a: number;
  private readonly lnGammaA: number;

  constructor(readonly dof: number) {
    if (!(dof > 0)) throw new RangeError(`chi-square: degrees of freedom must be > 0, got ${dof}`);
    this.a = dof / 2;
    this.lnGammaA = logGamma(this.a);
  }

  logTail(x: number): number {
    if (!(x > 0)) return 0;
    if (x === Infinity) return -Infinity;
    return logGammaTail(this.a, x / 2, this.lnGammaA);
  }
}

/** ln Q(a, x), the regularised upper incomplete gamma function, for x > 0. */
function logGammaTail(a: number, x: number, lnGammaA: number): number {
  const lnFront = a * Math.log(x) - x - lnGammaA;
  if (x < a + 1) {
    // Series for the lower part P = front/a · Σ xⁿ / ((a+1)…(a+n)); the upper tail is not small here.
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < MAX_TERMS; n++) {
      term *= x / (a + n);
      sum += term;
      if (term < sum * EPS) break;
    }
    return Math.log1p(-Math.min(1, Math.exp(lnFront) * sum));
  }
  // Continued fraction for Q (modified Lentz): front · 1/(x+1-a - 1(1-a)/(x+3-a - 2(2-a)/…)).
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_TERMS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) < EPS) break;
  }
  return lnFront + Math.log(h);
}

/** ln P(F(d1, d2) > f). */
export class FTail {
  private readonly a: number;
  private readonly b: number;
  private readonly lnBeta: number;

  constructor(
    readonly d1: number,
    readonly d2: number,
  ) {
    if (!(d1 > 0 && d2 > 0))
      throw new RangeError(`F: degrees of freedom must be > 0, got ${d1}, ${d2}`);
    // P(F > f) = I_x(d2/2, d1/2) with x = d2 / (d2 + d1·f).
    this.a = d2 / 2;
    this.b = d1 / 2;
    this.lnBeta = logGamma(this.a) + logGamma(this.b) - logGamma(this.a + this.b);
  }

  logTail(f: number): number {
    if (!(f > 0)) return 0;
    if (f === Infinity) return -Infinity;
    const x = this.d2 / (this.d2 + this.d1 * f);
    const { a, b } = this;
    // The continued fraction converges fast only below the mean of the beta; use symmetry above.
    if (x > (a + 1) / (a + b + 2)) {
      return Math.log1p(-Math.min(1, Math.exp(logBetaCf(1 - x, b, a, this.lnBeta))));
    }
    return logBetaCf(x, a, b, this.lnBeta);
  }
}

/** ln I_x(a, b) by the continued fraction; accurate for x <= (a + 1) / (a + b + 2). */
function logBetaCf(x: number, a: number, b: number, lnBeta: number): number {
  if (x <= 0) return -Infinity;
  const lnFront = a * Math.log(x) + b * Math.log1p(-x) - lnBeta - Math.log(a);
  return lnFront + Math.log(betaContinuedFraction(x, a, b));
}

/**
 * The score of a p-value (given as its natural log) against the boundary p-value: the evidence
 * in decades, -log10 p, through the shared ratio mapping, so p = boundary scores 0.5, p =
 * boundary² (twice the decades) 0.67, and a p-value beyond double precision still ranks.
 */
export function pValueScore(logP: number, boundaryDecades: number): number {
  return ratioScore(-logP / Math.LN10, boundaryDecades);
}
