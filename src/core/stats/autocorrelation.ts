/**
 * Sample autocorrelation of a linearly detrended window, and the dominant seasonal period read off
 * it. Deterministic and O(n · lags), so callers run it occasionally, not per point.
 */

export interface PeriodSearch {
  readonly minLag: number;
  readonly maxLag: number;
  /** Minimum autocorrelation at the chosen lag. */
  readonly minStrength: number;
  /**
   * Minimum rise of the peak over the lowest autocorrelation at any shorter lag: tells a true
   * seasonal peak (the correlation dips, then returns) from sampling wiggles on the slow decay
   * of a merely persistent series.
   */
  readonly minProminence: number;
}

/**
 * Autocorrelations r(minLag..maxLag) of `values[0..n)` after removing the least-squares line,
 * each the Pearson correlation of the series with its lagged copy over their overlap. (Dividing
 * by the whole-series energy instead would taper long lags and pull the peak of a season of
 * length P a few lags below P.)
 * Returns an array indexed by lag; lags from minLag - 1 on are filled (the one below minLag lets a
 * caller tell whether minLag itself is a peak), lower entries are 0. `scratch` (length >= n) receives
 * the detrended values.
 */
export function autocorrelations(
  values: ArrayLike<number>,
  n: number,
  minLag: number,
  maxLag: number,
  scratch: Float64Array,
): Float64Array {
  const top = Math.min(maxLag, n - 1);
  const out = new Float64Array(Math.max(0, top + 1));
  if (n < 3 || top < minLag) return out;
  // Least-squares line through (i, x_i); a trend would otherwise correlate at every lag.
  const meanI = (n - 1) / 2;
  let meanX = 0;
  for (let i = 0; i < n; i++) meanX += values[i] as number;
  meanX /= n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    const di = i - meanI;
    sxy += di * ((values[i] as number) - meanX);
    sxx += di * di;
  }
  const slope = sxy / sxx;
  // Prefix sums of y² give each lag's segment energies in O(1).
  const cum = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    const y = (values[i] as number) - meanX - slope * (i - meanI);
    scratch[i] = y;
    cum[i + 1] = (cum[i] as number) + y * y;
  }
  for (let lag = Math.max(1, minLag - 1); lag <= top; lag++) {
    let s = 0;
    for (let i = 0, j = lag; j < n; i++, j++) s += (scratch[i] as number) * (scratch[j] as number);
    const e = ((cum[n - lag] as number) * ((cum[n] as number) - (cum[lag] as number))) ** 0.5;
    out[lag] = e > 0 ? s / e : 0;
  }
  return out;
}

/**
 * The seasonal period: among the qualifying autocorrelation peaks, the shortest lag whose
 * correlation is within 10% of the best one (multiples of a period correlate about as well as the
 * period itself, and the shortest is the one a seasonal model wants). 0 when no peak qualifies.
 */
export function dominantPeriod(acf: Float64Array, search: PeriodSearch): number {
  const top = Math.min(search.maxLag, acf.length - 2);
  const peaks: number[] = [];
  let bestR = -Infinity;
  let trough = Infinity;
  for (let lag = Math.max(2, search.minLag); lag <= top; lag++) {
    const r = acf[lag] as number;
    const prev = acf[lag - 1] as number;
    if (prev < trough) trough = prev;
    const isPeak = r > prev && r >= (acf[lag + 1] as number);
    if (isPeak && r >= search.minStrength && r - trough >= search.minProminence) {
      peaks.push(lag);
      if (r > bestR) bestR = r;
    }
  }
  for (const lag of peaks) if ((acf[lag] as number) >= 0.9 * bestR) return lag;
  return 0;
}

/**
 * Sharpen a coarse period (an autocorrelation peak, whose flat top lets noise move it by a lag
 * or more) to the integer nearest the period of the best-fitting sinusoid within ±1/12 of it.
 * The fit is least squares on cos and sin together, which, unlike a plain periodogram, is not
 * biased when the window holds a fractional number of cycles. `detrended` is the scratch that
 * `autocorrelations` filled.
 */
export function refinePeriod(detrended: Float64Array, n: number, lag: number): number {
  if (lag < 2) return lag;
  const w = Math.max(1, Math.floor(lag / 12));
  const phi = (Math.sqrt(5) - 1) / 2;
  let a = Math.max(2, lag - w);
  let b = lag + w;
  let c = b - phi * (b - a);
  let d = a + phi * (b - a);
  let fc = sinusoidFit(detrended, n, c);
  let fd = sinusoidFit(detrended, n, d);
  for (let it = 0; it < 32; it++) {
    if (fc > fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - phi * (b - a);
      fc = sinusoidFit(detrended, n, c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + phi * (b - a);
      fd = sinusoidFit(detrended, n, d);
    }
  }
  return Math.round((a + b) / 2);
}

/**
 * Energy of `y[0..n)` explained by a least-squares sinusoid of the given period, fitted together
 * with a line (y was detrended, and a partial cycle leaks into the line: ignoring that would pull
 * the period).
 */
function sinusoidFit(y: Float64Array, n: number, period: number): number {
  const step = (2 * Math.PI) / period;
  const cs = Math.cos(step);
  const sn = Math.sin(step);
  const mid = (n - 1) / 2;
  // Rotate (cos, sin) by one step per sample instead of calling the trig functions n times.
  let co = 1;
  let si = 0;
  let yc = 0;
  let ys = 0;
  let cc = 0;
  let ss = 0;
  let csum = 0;
  let c1 = 0;
  let s1 = 0;
  let cu = 0;
  let su = 0;
  let uu = 0;
  for (let i = 0; i < n; i++) {
    const v = y[i] as number;
    const u = i - mid;
    yc += v * co;
    ys += v * si;
    cc += co * co;
    ss += si * si;
    csum += co * si;
    c1 += co;
    s1 += si;
    cu += u * co;
    su += u * si;
    uu += u * u;
    const next = co * cs - si * sn;
    si = si * cs + co * sn;
    co = next;
  }
  // Gram matrix of cos and sin after projecting out the constant and the centred index.
  const gcc = cc - (c1 * c1) / n - (cu * cu) / uu;
  const gss = ss - (s1 * s1) / n - (su * su) / uu;
  const gcs = csum - (c1 * s1) / n - (cu * su) / uu;
  const det = gcc * gss - gcs * gcs;
  return det > 0 ? (gss * yc * yc - 2 * gcs * yc * ys + gcc * ys * ys) / det : 0;
}

/**
 * Seasonal period of `values[0..n)`, or 0 when the series shows no season: the autocorrelation
 * peak, then sharpened by `refinePeriod`. `scratch` needs length >= n.
 */
export function estimatePeriod(
  values: ArrayLike<number>,
  n: number,
  search: PeriodSearch,
  scratch: Float64Array,
): number {
  const acf = autocorrelations(values, n, search.minLag, search.maxLag, scratch);
  const coarse = dominantPeriod(acf, search);
  if (coarse === 0) return 0;
  const refined = refinePeriod(scratch, n, coarse);
  // The sinusoid fit only knows the fundamental: on a season with sharp edges (a square wave,
  // business hours) its harmonics and a partial last cycle can pull the fit a lag off, which
  // costs far more correlation than noise explains. The refinement is meant to move the period
  // within the flat top of a noisy peak, so it is kept only while the correlation it gives up is
  // small against what the noise already leaves unexplained (1 - r at the peak).
  const r = acf[refined];
  if (r === undefined || refined === coarse) return refined;
  const lostToNoise = 1 - (acf[coarse] as number);
  return 1 - r <= REFINE_TOLERANCE * lostToNoise ? refined : coarse;
}

/** How much more unexplained correlation than at the raw peak a refined period may leave. */
const REFINE_TOLERANCE = 1.5;
