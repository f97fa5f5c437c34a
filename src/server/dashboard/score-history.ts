/**
 * Writes the live feed's scores to storage as one-minute buckets (highest score and level per
 * series and minute, and the alert threshold in value space read at the minute's first point), so the dashboard's score history covers every series and survives a
 * restart. Buckets are merged in memory and saved every few seconds in one statement; a failed
 * save is logged and retried with the next one (bounded: beyond `maxPending` buckets new ones
 * are dropped and counted, never ingest held up).
 */
import type { Engine, ScoredPoint } from '../../engine/engine.js';
import { errorMessage } from '../../store/sql-common.js';
import type { ScoreBucket, ScoreHistoryStore } from '../../store/store.js';
import { BAND_EVERY_MS } from '../../engine/scoring/protocol.js';
import { LEVEL_CODE, type ScoreRun, type Threshold } from './score-buffer.js';

/** One bucket per minute: the engine reads one alert threshold per series and bucket. */
export const SCORE_BUCKET_MS = BAND_EVERY_MS;

export interface ScoreHistoryOptions {
  /** How often buckets are saved (default 5 s). */
  readonly flushMs?: number;
  /** Buckets held unsaved at most (default 200,000). */
  readonly maxPending?: number;
  readonly log?: (message: string) => void;
}

export class ScoreHistoryWriter {
  private pending = new Map<string, ScoreBucket>();
  private readonly unsubscribe: () => void;
  private readonly timer: NodeJS.Timeout;
  private readonly maxPending: number;
  private readonly log: (message: string) => void;
  private saving: Promise<void> = Promise.resolve();
  /** Buckets dropped because saves fell behind. */
  dropped = 0;

  constructor(
    engine: Pick<Engine, 'subscribe'>,
    private readonly store: ScoreHistoryStore,
    options: ScoreHistoryOptions = {},
  ) {
    this.maxPending = options.maxPending ?? 200_000;
    this.log = options.log ?? (() => {});
    this.unsubscribe = engine.subscribe((item) => {
      if (item.type === 'score') this.add(item.point);
    });
    this.timer = setInterval(() => void this.flush(), options.flushMs ?? 5_000);
    this.timer.unref();
  }

  private add(p: ScoredPoint): void {
    const time = Math.floor(p.timestamp / SCORE_BUCKET_MS) * SCORE_BUCKET_MS;
    const key = `${p.device_id}\u0000${p.metric}\u0000${time}`;
    const score = Number.isFinite(p.score) ? p.score : 0;
    const level = LEVEL_CODE[p.level];
    const threshold = p.threshold;
    const seen = this.pending.get(key);
    if (seen === undefined) {
      if (this.pending.size >= this.maxPending) {
        this.dropped++;
        return;
      }
      const bucket: ScoreBucket = { device: p.device_id, metric: p.metric, time, score, level };
      this.pending.set(key, threshold === undefined ? bucket : { ...bucket, threshold });
    } else if (
      score > seen.score ||
      level > seen.level ||
      (seen.threshold === undefined && threshold !== undefined)
    ) {
      this.pending.set(key, merge(seen, { score, level, threshold }));
    }
  }

  /** Save what is pending now (one save at a time; resolves when this one is done). */
  flush(): Promise<void> {
    this.saving = this.saving.then(async () => {
      if (this.pending.size === 0) return;
      const batch = this.pending;
      this.pending = new Map();
      try {
        await this.store.save([...batch.values()]);
      } catch (error) {
        this.log(
          `score history: saving ${batch.size} buckets failed, retrying: ${errorMessage(error)}`,
        );
        // Put them back under what arrived meanwhile (the store merges duplicates by max).
        for (const [key, b] of batch) {
          const now = this.pending.get(key);
          if (now === undefined) {
            if (this.pending.size < this.maxPending) this.pending.set(key, b);
            else this.dropped++;
          } else {
            this.pending.set(key, merge(b, now));
          }
        }
      }
    });
    return this.saving;
  }

  /** Buckets of one series not saved yet, in [from, to), oldest first. */
  unsaved(device: string, metric: string, from: number, to: number): ScoreBucket[] {
    const out: ScoreBucket[] = [];
    for (const b of this.pending.values()) {
      if (b.device === device && b.metric === metric && b.time >= from && b.time < to) out.push(b);
    }
    return out.sort((a, b) => a.time - b.time);
  }

  async close(): Promise<void> {
    this.unsubscribe();
    clearInterval(this.timer);
    await this.flush();
  }
}

/** What one bucket adds to another. */
interface BucketPart {
  readonly score: number;
  readonly level: number;
  readonly threshold?: Threshold | undefined;
}

/** Two parts of one bucket: the higher score and level win, the first threshold stays. */
function merge<B extends BucketPart>(first: B, then: BucketPart): B {
  const threshold = first.threshold ?? then.threshold;
  return {
    ...first,
    score: Math.max(first.score, then.score),
    level: Math.max(first.level, then.level),
    ...(threshold === undefined ? {} : { threshold }),
  };
}

/**
 * Stored and unsaved buckets as one run, oldest first (a minute in both: the higher score and
 * level win, the stored threshold stays).
 */
export function mergeBuckets(...lists: readonly ScoreBucket[][]): ScoreRun {
  const byTime = new Map<number, BucketPart>();
  for (const list of lists) {
    for (const b of list) {
      const seen = byTime.get(b.time);
      byTime.set(b.time, seen === undefined ? b : merge(seen, b));
    }
  }
  const times = [...byTime.keys()].sort((a, b) => a - b);
  return {
    times,
    scores: times.map((t) => byTime.get(t)!.score),
    levels: times.map((t) => byTime.get(t)!.level),
    thresholds: times.map((t) => byTime.get(t)!.threshold ?? null),
  };
}
