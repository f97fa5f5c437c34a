/**
 * Recent live scores per series, kept in memory for the dashboard at full resolution: what the
 * engine published on its live feed (flagged scores always, `ok` scores up to the feed budget).
 * Bounded: a ring of `perSeries` scores for at most `maxSeries` series. Series opened in the
 * dashboard (`watch`, called by GET /v1/scores) keep their ring while they are being looked at;
 * the others are kept least-recently-scored first out, so a new series always gets a ring.
 * Older history, and every series after a restart, comes from storage (score-history.ts).
 * The alert thresholds the feed carries (`ScoredPoint.threshold`, one per series and minute) are
 * kept beside the scores, in a ring of their own that grows only as they come.
 */
import type { Engine, ScoredPoint } from '../../engine/engine.js';
import type { Level } from '../../core/thresholds/threshold.js';

export const LEVEL_CODE: Readonly<Record<Level, number>> = { ok: 0, alert: 1, severe: 2 };
export const LEVELS: readonly Level[] = ['ok', 'alert', 'severe'];

export interface ScoreBufferOptions {
  /** Scores kept per series (default 3600: an hour at 1 Hz). */
  readonly perSeries?: number;
  /** Series with a ring at most (default 1000), watched ones included. */
  readonly maxSeries?: number;
  /** How long a series stays watched after its last look (default 10 minutes). */
  readonly watchMs?: number;
  /** Wall clock for watching (default Date.now). */
  readonly clock?: () => number;
}

export interface LatestScore {
  readonly device: string;
  readonly metric: string;
  readonly timestamp: number;
  readonly value: number;
  readonly score: number;
  readonly level: Level;
  readonly strategy: string;
}

/** An alert threshold in value space: [lower, upper], the values that would not alert. */
export type Threshold = readonly [number, number];

export interface ScoreColumns {
  readonly times: number[];
  /** The highest score in each bucket (or each score, without buckets). */
  readonly score: number[];
  /** The highest level in each bucket, as `ok` / `alert` / `severe`. */
  readonly level: Level[];
  /**
   * The alert threshold in value space read in each bucket (its first), or null: none read there
   * (between a series' minutes, without buckets) or none given (no band, warming up).
   */
  readonly threshold_lower: (number | null)[];
  readonly threshold_upper: (number | null)[];
}

/** Scores as (time, score, level code, threshold or null), oldest first. */
export interface ScoreRun {
  readonly times: number[];
  readonly scores: number[];
  readonly levels: number[];
  readonly thresholds: (Threshold | null)[];
}

export const emptyRun = (): ScoreRun => ({ times: [], scores: [], levels: [], thresholds: [] });

/**
 * Group a run into epoch-aligned buckets (highest score and level win, the first threshold
 * stays), or keep it as it is.
 */
export function bucketRun(run: ScoreRun, bucketMs: number | undefined): ScoreColumns {
  const times: number[] = [];
  const score: number[] = [];
  const level: Level[] = [];
  const lower: (number | null)[] = [];
  const upper: (number | null)[] = [];
  for (let i = 0; i < run.times.length; i++) {
    const t = run.times[i] as number;
    const s = run.scores[i] as number;
    const l = LEVELS[run.levels[i] as number] ?? 'ok';
    const th = run.thresholds[i] ?? null;
    const at = bucketMs === undefined ? t : Math.floor(t / bucketMs) * bucketMs;
    const last = times.length - 1;
    if (bucketMs !== undefined && last >= 0 && times[last] === at) {
      if (s > (score[last] as number)) score[last] = s;
      if (LEVEL_CODE[l] > LEVEL_CODE[level[last] as Level]) level[last] = l;
      if (lower[last] === null && th !== null) [lower[last], upper[last]] = th;
    } else {
      times.push(at);
      score.push(s);
      level.push(l);
      lower.push(th === null ? null : th[0]);
      upper.push(th === null ? null : th[1]);
    }
  }
  return { times, score, level, threshold_lower: lower, threshold_upper: upper };
}

/** A series' recent alert thresholds (one per minute at most), grown on demand. */
class ThresholdRing {
  times = new Float64Array(4);
  bounds = new Float64Array(8);
  start = 0;
  size = 0;

  constructor(private readonly capacity: number) {}

  push(t: number, threshold: Threshold): void {
    if (this.size === this.times.length && this.size < this.capacity) this.grow();
    const cap = this.times.length;
    const at = (this.start + this.size) % cap;
    this.times[at] = t;
    this.bounds[2 * at] = threshold[0];
    this.bounds[2 * at + 1] = threshold[1];
    if (this.size < cap) this.size++;
    else this.start = (this.start + 1) % cap;
  }

  private grow(): void {
    const next = Math.min(this.capacity, this.times.length * 2);
    const times = new Float64Array(next);
    const bounds = new Float64Array(2 * next);
    for (let i = 0; i < this.size; i++) {
      const from = (this.start + i) % this.times.length;
      times[i] = this.times[from] as number;
      bounds[2 * i] = this.bounds[2 * from] as number;
      bounds[2 * i + 1] = this.bounds[2 * from + 1] as number;
    }
    this.times = times;
    this.bounds = bounds;
    this.start = 0;
  }

  /** Time and bounds of the i-th oldest. */
  time(i: number): number {
    return this.times[(this.start + i) % this.times.length] as number;
  }

  at(i: number): Threshold {
    const k = (this.start + i) % this.times.length;
    return [this.bounds[2 * k] as number, this.bounds[2 * k + 1] as number];
  }
}

/** One series' ring: times, scores and level codes, grown on demand up to the capacity. */
class Ring {
  times = new Float64Array(16);
  scores = new Float64Array(16);
  levels = new Uint8Array(16);
  start = 0;
  size = 0;
  latest: LatestScore | undefined;
  /** Wall time of the last look from the dashboard (0: never watched). */
  watchedAt = 0;
  /** Made at the first threshold: a series without any carries none. */
  thresholds: ThresholdRing | undefined;

  constructor(private readonly capacity: number) {}

  /** A threshold read at the score pushed last (at most one per score, so never more). */
  pushThreshold(t: number, threshold: Threshold): void {
    (this.thresholds ??= new ThresholdRing(this.capacity)).push(t, threshold);
  }

  push(t: number, score: number, level: number): void {
    if (this.size === this.times.length && this.size < this.capacity) this.grow();
    const cap = this.times.length;
    // Out-of-order scores do not happen (the engine scores each series in event-time order).
    const at = (this.start + this.size) % cap;
    this.times[at] = t;
    this.scores[at] = score;
    this.levels[at] = level;
    if (this.size < cap) this.size++;
    else this.start = (this.start + 1) % cap;
  }

  private grow(): void {
    const next = Math.min(this.capacity, this.times.length * 2);
    const times = new Float64Array(next);
    const scores = new Float64Array(next);
    const levels = new Uint8Array(next);
    for (let i = 0; i < this.size; i++) {
      const from = (this.start + i) % this.times.length;
      times[i] = this.times[from] as number;
      scores[i] = this.scores[from] as number;
      levels[i] = this.levels[from] as number;
    }
    this.times = times;
    this.scores = scores;
    this.levels = levels;
    this.start = 0;
  }

  /** Time of the oldest score held (Infinity when empty). */
  get oldest(): number {
    return this.size === 0 ? Infinity : (this.times[this.start] as number);
  }

  /** Scores in [from, to), oldest first, each with the threshold read at it (or null). */
  run(from: number, to: number): ScoreRun {
    const run = emptyRun();
    const cap = this.times.length;
    const th = this.thresholds;
    // Both rings are in time order: walk them together (a threshold goes with the first score
    // of its time; one older than the oldest score is skipped).
    let j = 0;
    for (let i = 0; i < this.size; i++) {
      const k = (this.start + i) % cap;
      const t = this.times[k] as number;
      let threshold: Threshold | null = null;
      if (th !== undefined) {
        while (j < th.size && th.time(j) < t) j++;
        if (j < th.size && th.time(j) === t) threshold = th.at(j++);
      }
      if (t < from || t >= to) continue;
      run.times.push(t);
      run.scores.push(this.scores[k] as number);
      run.levels.push(this.levels[k] as number);
      run.thresholds.push(threshold);
    }
    return run;
  }
}

const keyOf = (device: string, metric: string): string => `${device}\u0000${metric}`;

export class ScoreBuffer {
  private readonly perSeries: number;
  private readonly maxSeries: number;
  private readonly watchMs: number;
  private readonly clock: () => number;
  /** Insertion order is recency: the first entry is the least recently scored. */
  private readonly rings = new Map<string, Ring>();
  private readonly watched = new Map<string, Ring>();
  private readonly unsubscribe: () => void;

  constructor(engine: Pick<Engine, 'subscribe'>, options: ScoreBufferOptions = {}) {
    this.perSeries = options.perSeries ?? 3600;
    this.maxSeries = Math.max(1, options.maxSeries ?? 1000);
    this.watchMs = options.watchMs ?? 600_000;
    this.clock = options.clock ?? Date.now;
    this.unsubscribe = engine.subscribe((item) => {
      if (item.type === 'score') this.add(item.point);
    });
  }

  private add(p: ScoredPoint): void {
    const key = keyOf(p.device_id, p.metric);
    let ring = this.watched.get(key);
    if (ring === undefined) {
      ring = this.rings.get(key);
      if (ring === undefined) ring = this.make();
      else this.rings.delete(key);
      this.rings.set(key, ring);
    }
    ring.latest = {
      device: p.device_id,
      metric: p.metric,
      timestamp: p.timestamp,
      value: p.value,
      score: p.score,
      level: p.level,
      strategy: p.strategy,
    };
    ring.push(p.timestamp, Number.isFinite(p.score) ? p.score : 0, LEVEL_CODE[p.level]);
    const threshold = p.threshold;
    if (threshold !== undefined && Number.isFinite(threshold[0]) && Number.isFinite(threshold[1])) {
      ring.pushThreshold(p.timestamp, threshold);
    }
  }

  /** A new ring, making room first: expired watches go back to the others, the oldest goes. */
  private make(): Ring {
    if (this.rings.size + this.watched.size >= this.maxSeries) {
      const expired = this.clock() - this.watchMs;
      for (const [key, ring] of this.watched) {
        if (ring.watchedAt >= expired) continue;
        this.watched.delete(key);
        this.rings.set(key, ring);
      }
      const oldest = this.rings.keys().next();
      if (!oldest.done) this.rings.delete(oldest.value);
      else {
        // Everything is watched: the least recently looked at gives way.
        let victim: string | undefined;
        let at = Infinity;
        for (const [key, ring] of this.watched) {
          if (ring.watchedAt < at) [victim, at] = [key, ring.watchedAt];
        }
        if (victim !== undefined) this.watched.delete(victim);
      }
    }
    return new Ring(this.perSeries);
  }

  /** The series is being looked at: keep (or start) its ring while it is. */
  watch(device: string, metric: string): void {
    const key = keyOf(device, metric);
    let ring = this.watched.get(key);
    if (ring === undefined) {
      ring = this.rings.get(key);
      if (ring === undefined) ring = this.make();
      else this.rings.delete(key);
      this.watched.set(key, ring);
    }
    ring.watchedAt = this.clock();
  }

  /** The last score seen of every series with a ring. */
  latest(): LatestScore[] {
    const out: LatestScore[] = [];
    for (const map of [this.watched, this.rings]) {
      for (const ring of map.values()) if (ring.latest !== undefined) out.push(ring.latest);
    }
    return out;
  }

  /** The last score seen of one series, when it has a ring. */
  latestOf(device: string, metric: string): LatestScore | undefined {
    const key = keyOf(device, metric);
    return (this.watched.get(key) ?? this.rings.get(key))?.latest;
  }

  /** Scores in [from, to), and the time of the oldest score held (Infinity: none). */
  run(device: string, metric: string, from: number, to: number): ScoreRun & { oldest: number } {
    const key = keyOf(device, metric);
    const ring = this.watched.get(key) ?? this.rings.get(key);
    return ring === undefined
      ? { ...emptyRun(), oldest: Infinity }
      : { ...ring.run(from, to), oldest: ring.oldest };
  }

  range(device: string, metric: string, from: number, to: number, bucketMs?: number): ScoreColumns {
    return bucketRun(this.run(device, metric, from, to), bucketMs);
  }

  /** Series with a ring now (watched ones included). */
  get size(): number {
    return this.rings.size + this.watched.size;
  }

  close(): void {
    this.unsubscribe();
  }
}
