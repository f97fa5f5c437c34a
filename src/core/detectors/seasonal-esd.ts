import { z } from 'zod';
import type { Detector, DetectorFactory, DetectorSnapshot } from './detector.js';
import { estimatePeriod } from '../stats/autocorrelation.js';
import {
  largestInPlace,
  MAD_TO_STD,
  medianAbsoluteDeviation,
  medianInPlace,
  RESOLUTION_FLOOR,
  stepResolution,
} from '../stats/robust.js';
import { esdCriticalValue } from '../stats/student-t.js';
import { ratioScore } from './score-map.js';
import { finiteNumber, parseSnapshot } from './snapshot-parts.js';
import { VigilError } from '../../errors.js';

export const SEASONAL_ESD_KIND = 'seasonal-esd';

export const seasonalEsdParamsSchema = z
  .strictObject({
    /** Season length in points; 0 = estimate it from the window's autocorrelation. */
    period: z.number().int().min(0).default(0),
    /** Points of history kept; it must hold at least 6 periods. 2016 = a week of 5-min data. */
    window: z.number().int().min(96).max(200_000).default(2016),
    /** Significance of the generalised ESD test. */
    alpha: z.number().gt(0).max(0.5).default(0.05),
    /** Upper bound on the share of the window the ESD test may call outliers. */
    max_anomalies: z.number().gt(0).max(0.5).default(0.02),
    /** Points between two refits of the seasonal profile and the residual statistics. */
    refit_every: z.number().int().min(1).default(64),
  })
  .refine((p) => p.period === 0 || (p.period >= 2 && p.period * 6 <= p.window), {
    message: 'period must be 0 (auto) or between 2 and window / 6',
    path: ['period'],
  });

export type SeasonalEsdParams = z.infer<typeof seasonalEsdParamsSchema>;

/** Level (trailing mean) length when no season is found. */
const LEVEL_POINTS_WITHOUT_SEASON = 32;
/** A window value further than this many residual scales from its profile is clipped when refitting. */
const CLIP_SCALES = 4;
const MEAN_ABS_TO_STD = Math.sqrt(Math.PI / 2);
/** Floor under the residual scale (the same divide-by-zero guard as the z-score detectors). */
const MIN_SCALE = 1e-6;

interface SeasonalEsdState {
  /** Ring of the last `window` values, physical order. */
  values: number[];
  head: number;
  /** Points learned so far (the global index that fixes each point's seasonal phase). */
  count: number;
  /** Current period (0 = none); `level` is the mean of the last `levelPoints` values. */
  period: number;
  levelPoints: number;
  levelSum: number;
  fitted: boolean;
  profile: number[];
  center: number;
  scale: number;
  critical: number;
  sinceRefit: number;
  sincePeriod: number;
}

const stateSchema: z.ZodType<SeasonalEsdState> = z.object({
  values: z.array(finiteNumber),
  head: z.number().int().nonnegative(),
  count: z.number().int().nonnegative(),
  period: z.number().int().nonnegative(),
  levelPoints: z.number().int().nonnegative(),
  levelSum: finiteNumber,
  fitted: z.boolean(),
  profile: z.array(finiteNumber),
  center: finiteNumber,
  scale: finiteNumber,
  critical: z.number().positive(),
  sinceRefit: z.number().int().nonnegative(),
  sincePeriod: z.number().int().nonnegative(),
});

/**
 * Online seasonal decomposition + generalised ESD on the residuals: level (the mean of the last
 * period) and a per-phase season profile removed, Rosner's ESD on the window's leave-one-out
 * residuals counts its outliers m, and a new point's robust statistic R scores R / (R + λ_{m+1}).
 * Assumes regular sampling. Scoring is O(1), refits amortised. The model, the scale floors and
 * the costs: docs/detectors.md, "seasonal-esd".
 */
export class SeasonalEsdDetector implements Detector {
  readonly kind = SEASONAL_ESD_KIND;
  readonly params: Readonly<SeasonalEsdParams>;
  private readonly ring: Float64Array;
  private head = 0;
  private size = 0;
  private count = 0;
  private period = 0;
  private levelPoints = 0;
  private levelSum = 0;
  private fitted = false;
  private profile: Float64Array = new Float64Array(0);
  private center = 0;
  private scale = 1;
  private critical = Infinity;
  private sinceRefit = 0;
  private sincePeriod = 0;

  constructor(params: SeasonalEsdParams, state?: SeasonalEsdState) {
    this.params = Object.freeze({ ...params });
    this.ring = new Float64Array(params.window);
    if (state) this.load(state);
  }

  score(_timeMs: number, value: number): number {
    if (!Number.isFinite(value) || !this.fitted) return 0;
    const r = value - this.expected();
    return ratioScore(Math.abs(r - this.center) / this.scale, this.critical);
  }

  learn(_timeMs: number, value: number): void {
    if (!Number.isFinite(value)) return;
    if (this.fitted) this.levelSum += value - this.back(this.levelPoints);
    this.ring[this.head] = value;
    this.head = this.head + 1 === this.ring.length ? 0 : this.head + 1;
    if (this.size < this.ring.length) this.size++;
    this.count++;
    this.sinceRefit++;
    this.sincePeriod++;
    const warm = this.size * 2 >= this.params.window;
    if (warm && (!this.fitted || this.sinceRefit >= this.params.refit_every)) this.refit();
  }

  update(timeMs: number, value: number): number {
    const s = this.score(timeMs, value);
    this.learn(timeMs, value);
    return s;
  }

  snapshot(): DetectorSnapshot {
    const ordered = this.size < this.ring.length ? this.ring.subarray(0, this.size) : this.ring;
    const state: SeasonalEsdState = {
      values: Array.from(ordered),
      head: this.head,
      count: this.count,
      period: this.period,
      levelPoints: this.levelPoints,
      levelSum: this.levelSum,
      fitted: this.fitted,
      profile: Array.from(this.profile),
      center: this.center,
      scale: this.scale,
      critical: this.fitted ? this.critical : 1,
      sinceRefit: this.sinceRefit,
      sincePeriod: this.sincePeriod,
    };
    return { kind: this.kind, params: { ...this.params }, state };
  }

  /** Level plus season for the next point. */
  private expected(): number {
    const season = this.period > 0 ? (this.profile[this.count % this.period] as number) : 0;
    return this.levelSum / this.levelPoints + season;
  }

  /** The value learned `k` points ago (k = 1 is the latest); requires k <= size. */
  private back(k: number): number {
    const i = this.head - k;
    return this.ring[i >= 0 ? i : i + this.ring.length] as number;
  }

  private load(s: SeasonalEsdState): void {
    const ok =
      s.values.length <= this.ring.length &&
      s.head < this.ring.length &&
      (!s.fitted || (s.levelPoints >= 1 && s.levelPoints < s.values.length)) &&
      s.profile.length === s.period;
    if (!ok)
      throw new VigilError(
        'VIGIL_ERR_STORE_INVALID',
        'seasonal-esd snapshot: state does not match its params',
      );
    this.ring.set(s.values);
    this.size = s.values.length;
    this.head = s.head;
    this.count = s.count;
    this.period = s.period;
    this.levelPoints = s.levelPoints;
    this.levelSum = s.levelSum;
    this.fitted = s.fitted;
    this.profile = Float64Array.from(s.profile);
    this.center = s.center;
    this.scale = s.scale;
    this.critical = s.fitted ? s.critical : Infinity;
    this.sinceRefit = s.sinceRefit;
    this.sincePeriod = s.sincePeriod;
  }

  private refit(): void {
    const n = this.size;
    const sc = scratchFor(n);
    const y = sc.values;
    for (let j = 0; j < n; j++) y[j] = this.back(n - j);

    const previousPeriod = this.period;
    if (this.params.period > 0) {
      this.period = this.params.period;
    } else if (!this.fitted || this.sincePeriod >= this.params.window) {
      const maxLag = Math.floor(this.params.window / 6);
      this.period = estimatePeriod(
        y,
        n,
        { minLag: 4, maxLag, minStrength: 0.3, minProminence: 0.3 },
        sc.work,
      );
      this.sincePeriod = 0;
    }
    const P = this.period;
    const L = P > 0 ? P : LEVEL_POINTS_WITHOUT_SEASON;
    const canClip = this.fitted && P === previousPeriod;

    // Detrended values d_j = y_j - mean(y[j-L, j)) for every j with a full level behind it.
    const d = sc.work;
    let sum = 0;
    for (let j = 0; j < L; j++) sum += y[j] as number;
    for (let j = L; j < n; j++) {
      d[j] = (y[j] as number) - sum / L;
      sum += (y[j] as number) - (y[j - L] as number);
    }
    let levelSum = 0;
    for (let j = n - L; j < n; j++) levelSum += y[j] as number;

    const r = sc.residuals;
    const m = n - L;
    const firstIndex = this.count - n;
    if (P > 0) {
      this.accumulatePhases(d, L, n, firstIndex, canClip, sc);
      // Smoothing across neighbouring phases steadies a noisy profile but blurs a season with
      // sharp edges (a square wave, business hours), leaving a residual at every edge. Both are
      // fitted and the one that predicts the window's points better out of sample (mean absolute
      // leave-one-out residual) is kept.
      const h = Math.floor(P / 64);
      let profile = smoothedProfile(P, h, sc);
      const error = looResiduals(d, L, n, firstIndex, P, profile, sc, r);
      if (h > 0) {
        const sharp = smoothedProfile(P, 0, sc);
        const alt = sc.altResiduals;
        if (looResiduals(d, L, n, firstIndex, P, sharp, sc, alt) < error) {
          profile = sharp;
          r.set(alt.subarray(0, m));
        }
      }
      this.profile = profile;
    } else {
      for (let j = L; j < n; j++) r[j - L] = d[j] as number;
      this.profile = new Float64Array(0);
    }

    // Robust centre/scale on a copy (selection reorders), then the ESD count of outliers.
    const a = sc.abs;
    a.set(r.subarray(0, m));
    const center = medianInPlace(a, m);
    let scale = MAD_TO_STD * medianAbsoluteDeviation(r, center, a, m);
    if (!(scale > MIN_SCALE)) {
      // Over half the residuals sit exactly on the centre (a mostly constant series): fall back
      // to the mean absolute deviation (×√(π/2), consistent under normality) before the floors.
      let sum = 0;
      for (let j = 0; j < m; j++) sum += a[j] as number;
      scale = MEAN_ABS_TO_STD * (sum / m);
    }
    const k = Math.max(1, Math.floor(this.params.max_anomalies * m));
    largestInPlace(a, m, k + 1);
    if (m > k + 2) {
      // The outlier budget: the test may call at most k window points outliers, so the (k+1)-th
      // largest deviation is by its own terms not one, and the boundary cannot sit below it.
      // On Gaussian residuals that point is at about 2.3σ, far inside λ ≈ 4σ, and this changes
      // nothing; on heavy-tailed or zero-inflated residuals (bursty counters, byte counts) the
      // MAD describes only the quiet bulk, and without this every routine burst scored near 1.
      const budget = (a[m - k - 1] as number) / cachedCritical(m, k + 1, this.params.alpha);
      if (budget > scale) scale = budget;
    }
    // Readings are only known to half their resolution (integer or rounded data).
    scale = Math.max(scale, RESOLUTION_FLOOR * stepResolution(y, n), MIN_SCALE);
    const outliers = esdOutlierCount(a, m, k, scale, this.params.alpha);

    this.levelPoints = L;
    this.levelSum = levelSum;
    this.center = center;
    this.scale = scale;
    // Finite even when the test is undefined (tiny windows), so the state stays JSON.
    this.critical = Math.min(cachedCritical(m, outliers + 1, this.params.alpha), Number.MAX_VALUE);
    this.fitted = true;
    this.sinceRefit = 0;
  }

  /**
   * Per-phase sums and counts of the detrended values over the cycles in the window (into
   * `sc.rawSums` / `sc.rawCounts`), with the inputs clipped to the previous profile's band (kept in
   * `sc.clipped` for the leave-one-out residuals).
   */
  private accumulatePhases(
    d: Float64Array,
    from: number,
    n: number,
    firstIndex: number,
    canClip: boolean,
    sc: Scratch,
  ): void {
    const P = this.period;
    const raw = sc.rawSums;
    const rawCount = sc.rawCounts;
    raw.fill(0, 0, P);
    rawCount.fill(0, 0, P);
    const band = CLIP_SCALES * this.scale;
    for (let j = from; j < n; j++) {
      const phase = (firstIndex + j) % P;
      let v = d[j] as number;
      if (canClip) {
        // Anomalies already in the window must not bend the profile they are judged against.
        const p = this.profile[phase] as number;
        v = v > p + band ? p + band : v < p - band ? p - band : v;
      }
      sc.clipped[j] = v;
      raw[phase] = (raw[phase] as number) + v;
      rawCount[phase] = (rawCount[phase] as number) + 1;
    }
  }
}

/**
 * The seasonal profile: per-phase means pooled over ±h neighbouring phases (h = period / 64
 * flattens a sinusoidal season by under 0.2%; h = 0 keeps sharp edges). Leaves the pooled
 * sums/counts in `sc` for the leave-one-out residuals.
 */
function smoothedProfile(P: number, h: number, sc: Scratch): Float64Array {
  const raw = sc.rawSums;
  const rawCount = sc.rawCounts;
  const profile = new Float64Array(P);
  for (let phase = 0; phase < P; phase++) {
    let s = 0;
    let c = 0;
    for (let o = -h; o <= h; o++) {
      const q = (((phase + o) % P) + P) % P;
      s += raw[q] as number;
      c += rawCount[q] as number;
    }
    sc.sums[phase] = s;
    sc.counts[phase] = c;
    profile[phase] = c > 0 ? s / c : 0;
  }
  return profile;
}

/**
 * Leave-one-out residuals of `d[from..n)` against the profile whose pooled sums/counts are in `sc`
 * (each point's own clipped contribution is taken back out), into `out[0..n-from)`; returns their
 * mean absolute value.
 */
function looResiduals(
  d: Float64Array,
  from: number,
  n: number,
  firstIndex: number,
  P: number,
  profile: Float64Array,
  sc: Scratch,
  out: Float64Array,
): number {
  const { sums, counts, clipped } = sc;
  let total = 0;
  for (let j = from; j < n; j++) {
    const phase = (firstIndex + j) % P;
    const c = counts[phase] as number;
    const own = clipped[j] as number;
    const fit = c > 1 ? ((sums[phase] as number) - own) / (c - 1) : (profile[phase] as number);
    const r = (d[j] as number) - fit;
    out[j - from] = r;
    total += Math.abs(r);
  }
  return total / Math.max(1, n - from);
}

/**
 * Generalised ESD with a fixed robust centre/scale: `sortedAbs[m-k..m)` holds the k largest
 * |r - centre| ascending; returns the largest i with R_i > λ_i (0 = no outliers). λ_i falls with
 * i, so only candidates above λ_k need their own critical value.
 */
function esdOutlierCount(
  sortedAbs: Float64Array,
  m: number,
  k: number,
  scale: number,
  alpha: number,
): number {
  const kk = Math.min(k, m - 2);
  if (kk < 1) return 0;
  const rAt = (i: number): number => (sortedAbs[m - i] as number) / scale;
  const lowest = cachedCritical(m, kk, alpha);
  let i = kk;
  while (i >= 1 && rAt(i) <= lowest) i--;
  for (; i >= 1; i--) if (rAt(i) > cachedCritical(m, i, alpha)) return i;
  return 0;
}

/**
 * Critical values depend only on (n, i, alpha) and every series of the same window size asks for
 * the same few, so they are memoised process-wide (a pure function: the cache cannot change
 * results). Bounded so a stream of odd sizes cannot grow it without limit.
 */
const criticalCache = new Map<string, number>();

function cachedCritical(n: number, i: number, alpha: number): number {
  const key = `${n}:${i}:${alpha}`;
  let v = criticalCache.get(key);
  if (v === undefined) {
    if (criticalCache.size >= 4096) criticalCache.clear();
    v = esdCriticalValue(n, i, alpha);
    criticalCache.set(key, v);
  }
  return v;
}

interface Scratch {
  values: Float64Array;
  work: Float64Array;
  clipped: Float64Array;
  residuals: Float64Array;
  altResiduals: Float64Array;
  abs: Float64Array;
  rawSums: Float64Array;
  rawCounts: Float64Array;
  sums: Float64Array;
  counts: Float64Array;
}

/**
 * Refit buffers shared by all detectors in this thread: refits are synchronous and never
 * interleave, and sharing keeps per-series memory at the window itself.
 */
let scratch: Scratch | undefined;

function scratchFor(n: number): Scratch {
  if (!scratch || scratch.values.length < n) {
    const mk = (): Float64Array => new Float64Array(n);
    scratch = {
      values: mk(),
      work: mk(),
      clipped: mk(),
      residuals: mk(),
      altResiduals: mk(),
      abs: mk(),
      rawSums: mk(),
      rawCounts: mk(),
      sums: mk(),
      counts: mk(),
    };
  }
  return scratch;
}

export const seasonalEsdFactory: DetectorFactory<SeasonalEsdParams> = {
  kind: SEASONAL_ESD_KIND,
  description: 'Seasonal decomposition (auto period) + robust generalised ESD on the residuals',
  paramsSchema: seasonalEsdParamsSchema,
  create: (params) => new SeasonalEsdDetector(params),
  restore: (snapshot) => {
    const { params, state } = parseSnapshot(
      snapshot,
      SEASONAL_ESD_KIND,
      seasonalEsdParamsSchema,
      stateSchema,
    );
    return new SeasonalEsdDetector(params, state);
  },
};
