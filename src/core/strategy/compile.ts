import { VigilError } from '../../errors.js';
import { getDetectorFactory, restoreDetector } from '../detectors/registry.js';
import { hashString } from '../stats/rng.js';
import { getThresholdFactory, restoreThreshold } from '../thresholds/registry.js';
import type { Detector, Level, PipelineSnapshot, SeriesPipeline, Threshold } from './pipeline.js';
import type { Strategy } from './schema.js';

/**
 * A strategy turned into per-series pipelines. Each series gets its own detector and threshold,
 * seeded from the series key and the strategy seed, so a replay repeats exactly and no series'
 * randomness depends on which other series exist.
 */

const LEVELS: readonly Level[] = ['ok', 'alert', 'severe'];

class StrategyPipeline implements SeriesPipeline {
  private level: Level;
  /** Flagged points in a row that the detector did not learn. */
  private unlearned = 0;

  constructor(
    private readonly strategy: Strategy,
    private readonly detector: Detector,
    private readonly threshold: Threshold,
    level: Level = 'ok',
  ) {
    this.level = level;
  }

  get lastLevel(): Level {
    return this.level;
  }

  process(timeMs: number, value: number): number {
    // `value - value` is NaN exactly for NaN and ±Infinity: a missing reading.
    if (value - value !== 0) {
      this.level = 'ok';
      return 0;
    }
    const score = this.detector.score(timeMs, value);
    const level = this.threshold.classify(timeMs, score);
    this.level = level;
    // Learning a flagged point would teach the detector that the anomaly is normal; but only up
    // to a bound, past which the change has lasted long enough to be the new normal.
    if (
      level === 'ok' ||
      this.strategy.learn_on_flagged ||
      this.unlearned >= this.strategy.max_unlearned_points
    ) {
      this.unlearned = 0;
      this.detector.learn(timeMs, value);
    } else {
      this.unlearned++;
    }
    return score;
  }

  train(timeMs: number, value: number): void {
    if (value - value !== 0) return;
    // The threshold sees training scores so its quantiles start from normal data; its verdict
    // is discarded because training rows are normal by definition.
    this.threshold.classify(timeMs, this.detector.update(timeMs, value));
  }

  snapshot(): PipelineSnapshot {
    return {
      strategy: this.strategy.name,
      version: this.strategy.version,
      detector: this.detector.snapshot(),
      threshold: this.threshold.snapshot(),
      lastLevel: this.level,
    };
  }
}

/** Seed of one series' components: a pure function of the series key and the strategy seed. */
export function seriesSeed(strategy: Strategy, seriesKey: string): number {
  return hashString(seriesKey, strategy.seed);
}

/**
 * Compile once per strategy; the returned function builds a fresh pipeline for a series.
 * `seriesKey` is the series' stable identity (e.g. `device/metric`).
 */
export function compileStrategy(strategy: Strategy): (seriesKey: string) => SeriesPipeline {
  // Parse once here (a no-op for a parsed strategy, a guard for a hand-built one), so that
  // creating each of possibly many series skips validation.
  const detectorFactory = getDetectorFactory(strategy.detector.kind);
  const detectorParams = detectorFactory.paramsSchema.parse(strategy.detector.params ?? {});
  const thresholdFactory = getThresholdFactory(strategy.threshold.kind);
  // Frozen so that every series shares this one object instead of copying it.
  const thresholdParams = Object.freeze(
    thresholdFactory.paramsSchema.parse(strategy.threshold.params ?? {}),
  );
  return (seriesKey) =>
    new StrategyPipeline(
      strategy,
      detectorFactory.create(detectorParams, seriesSeed(strategy, seriesKey)),
      thresholdFactory.create(thresholdParams),
    );
}

/**
 * Rebuild a pipeline from its snapshot. The snapshot must come from the same strategy name and
 * version: its detector and threshold carry the parameters of the version that made them.
 */
export function restorePipeline(strategy: Strategy, snapshot: PipelineSnapshot): SeriesPipeline {
  if (snapshot.strategy !== strategy.name || snapshot.version !== strategy.version) {
    throw new VigilError(
      'VIGIL_ERR_STRATEGY_INVALID',
      `snapshot belongs to strategy ${snapshot.strategy}@${snapshot.version}, ` +
        `not ${strategy.name}@${strategy.version}`,
    );
  }
  const level = snapshot.lastLevel ?? 'ok';
  if (!LEVELS.includes(level)) {
    throw new VigilError('VIGIL_ERR_STRATEGY_INVALID', `snapshot has an unknown level "${level}"`);
  }
  return new StrategyPipeline(
    strategy,
    restoreDetector(snapshot.detector),
    restoreThreshold(snapshot.threshold),
    level,
  );
}
