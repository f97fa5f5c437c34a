/**
 * Recent live scores per series, kept in memory for the dashboard. Scores are not stored (the
 * store keeps values and events), so the chart's score axis and the fleet's "current level" come
 * from what the engine published on its live feed since the process started: flagged scores
 * always, `ok` scores up to the engine's feed budget. Bounded: a ring of `perSeries` scores for
 * at most `maxSeries` series (new series beyond that are not tracked).
 */
import type { Engine, ScoredPoint } from '../../engine/engine.js';
import type { Level } from '../../core/thresholds/threshold.js';

const LEVEL_CODE: Readonly<Record<Level, number>> = { ok: 0, alert: 1, severe: 2 };
export const LEVELS: readonly Level[] = ['ok', 'alert', 'severe'];

export interface ScoreBufferOptions {
  /** Scores kept per series (default 3600: an hour at 1 Hz). */
  readonly perSeries?: number;
  /** Series tracked at most (default 1000). */
  readonly maxSeries?: number;
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

export interface ScoreColumns {
  readonly times: number[];
  /** The highest score in each bucket (or each score, without buckets). */
  readonly score: number[];
  /** The highest level in each bucket, as `ok` / `alert` / `severe`. */
  readonly level: Level[];
}

/** One series' ring: times, scores and level codes, grown on demand up to the capacity. */
class Ring {
  times = new Float64Array(16);
  scores = new Float64Array(16);
  levels = new Uint8Array(16);
  start = 0;
  size = 0;
  latest: LatestScore;

  constructor(
    private readonly capacity: number,
    first: LatestScore,
  ) {
    this.latest = first;
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

  /** Scores in [from, to), per bucket (aligned to the epoch) when `bucketMs` is given. */
  range(from: number, to: number, bucketMs: number | undefined): ScoreColumns {
    const times: number[] = [];
    const score: number[] = [];
    const level: Level[] = [];
    const cap = this.times.length;
    for (let i = 0; i < this.size; i++) {
      const k = (this.start + i) % cap;
      const t = this.times[k] as number;
      if (t < from || t >= to) continue;
      const s = this.scores[k] as number;
      const l = LEVELS[this.levels[k] as number] ?? 'ok';
      const at = bucketMs === undefined ? t : Math.floor(t / bucketMs) * bucketMs;
      const last = times.length - 1;
      if (bucketMs !== undefined && last >= 0 && times[last] === at) {
        if (s > (score[last] as number)) score[last] = s;
        if (LEVEL_CODE[l] > LEVEL_CODE[level[last] as Level]) level[last] = l;
      } else {
        times.push(at);
        score.push(s);
        level.push(l);
      }
    }
    return { times, score, level };
  }
}

export class ScoreBuffer {
  private readonly perSeries: number;
  private readonly maxSeries: number;
  private readonly rings = new Map<string, Ring>();
  private readonly unsubscribe: () => void;

  constructor(engine: Pick<Engine, 'subscribe'>, options: ScoreBufferOptions = {}) {
    this.perSeries = options.perSeries ?? 3600;
    this.maxSeries = options.maxSeries ?? 1000;
    this.unsubscribe = engine.subscribe((item) => {
      if (item.type === 'score') this.add(item.point);
    });
  }

  private add(p: ScoredPoint): void {
    const key = `${p.device_id}\u0000${p.metric}`;
    const latest: LatestScore = {
      device: p.device_id,
      metric: p.metric,
      timestamp: p.timestamp,
      value: p.value,
      score: p.score,
      level: p.level,
      strategy: p.strategy,
    };
    let ring = this.rings.get(key);
    if (ring === undefined) {
      if (this.rings.size >= this.maxSeries) return;
      ring = new Ring(this.perSeries, latest);
      this.rings.set(key, ring);
    }
    ring.latest = latest;
    ring.push(p.timestamp, Number.isFinite(p.score) ? p.score : 0, LEVEL_CODE[p.level]);
  }

  /** The last score seen of every tracked series. */
  latest(): LatestScore[] {
    return [...this.rings.values()].map((r) => r.latest);
  }

  range(device: string, metric: string, from: number, to: number, bucketMs?: number): ScoreColumns {
    const ring = this.rings.get(`${device}\u0000${metric}`);
    return ring === undefined
      ? { times: [], score: [], level: [] }
      : ring.range(from, to, bucketMs);
  }

  close(): void {
    this.unsubscribe();
  }
}
