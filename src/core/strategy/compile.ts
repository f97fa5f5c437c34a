import { VigilError } from '../../errors.js';
import { isTrainable } from '../detectors/multivariate/trainable.js';
import { checkOnnxMetrics } from '../detectors/multivariate/onnx-autoencoder.js';
import {
  getVectorDetectorFactory,
  isVectorDetectorKind,
  restoreVectorDetector,
} from '../detectors/multivariate/vector-registry.js';
import type { VectorDetector } from '../detectors/vector-detector.js';
import { getDetectorFactory, restoreDetector } from '../detectors/registry.js';
import { hashString } from '../stats/rng.js';
import { getThresholdFactory, restoreThreshold } from '../thresholds/registry.js';
import type {
  Detector,
  DevicePipeline,
  DevicePipelineSnapshot,
  Level,
  PipelineSnapshot,
  SeriesPipeline,
  Threshold,
} from './pipeline.js';
import { parseIsoTime, type Strategy } from './schema.js';
import { EventTracker, type EventTrackerOptions, type OpenSpan } from '../events/event-tracker.js';
import { explainPoint, explainVector } from '../events/explain.js';
import { bandOf, canExplain } from '../detectors/explanation.js';
import { EnsembleDetector } from '../detectors/ensemble.js';
import type { EventChange, EventExplanation } from '../events/types.js';

/**
 * A strategy turned into pipelines: one per series for a univariate detector, one per device
 * for a vector detector. Each gets its own detector and threshold, seeded from its key and the
 * strategy seed, so a replay repeats exactly and no series' randomness depends on which other
 * series exist.
 */

const LEVELS: readonly Level[] = ['ok', 'alert', 'severe'];

/** Does the strategy score a device's metrics together (a vector detector kind)? */
export function isVectorStrategy(strategy: Strategy): boolean {
  return isVectorDetectorKind(strategy.detector.kind);
}

/**
 * The strategy and its training period (`training.rows`, `training.until`), made once per
 * strategy: one pointer in each pipeline for both.
 */
interface StrategySetup {
  readonly strategy: Strategy;
  readonly rows: number;
  readonly untilMs: number;
}

const setupByStrategy = new WeakMap<Strategy, StrategySetup>();

function strategySetup(strategy: Strategy): StrategySetup {
  let period = setupByStrategy.get(strategy);
  if (period === undefined) {
    const until = strategy.training?.until;
    period = {
      strategy,
      rows: strategy.training?.rows ?? 0,
      untilMs: until === undefined ? Number.NEGATIVE_INFINITY : parseIsoTime(until),
    };
    setupByStrategy.set(strategy, period);
  }
  return period;
}

/** The strategy's `name@version` label and frozen event params, made once per strategy. */
const eventSetupByStrategy = new WeakMap<Strategy, EventTrackerOptions>();

function eventSetup(strategy: Strategy, key: string): EventTrackerOptions {
  let setup = eventSetupByStrategy.get(strategy);
  if (setup === undefined) {
    setup = {
      series: '',
      strategy: `${strategy.name}@${strategy.version}`,
      params: Object.freeze({ ...strategy.events }),
    };
    eventSetupByStrategy.set(strategy, setup);
  }
  // A vector strategy's key is the device itself (a device name may contain `/`).
  return isVectorStrategy(strategy)
    ? { ...setup, series: key, device: key }
    : { ...setup, series: key };
}

/** The score every detector maps its own decision boundary to (docs/detectors.md). */
const DETECTOR_BOUNDARY = 0.5;

/**
 * What both kinds of pipeline share: the level, the learning hold on flagged points and the
 * training period. `S` is the kind of input (a value or a vector).
 */
abstract class GatedPipeline<S> {
  protected level: Level;
  /** Flagged points in a row that the detector did not learn. */
  private unlearned = 0;
  /** The strategy and its training period, shared by its pipelines. */
  private readonly training: StrategySetup;
  /** Points counted towards `training.rows` (counting stops there). */
  private trainingSeen: number;
  /** Made at the first flagged point (or restored): a series that never flags carries none. */
  private events: EventTracker | null;
  private eventChange: EventChange | null = null;

  constructor(
    strategy: Strategy,
    protected readonly threshold: Threshold,
    /** The series key (`device/metric`) or device key this pipeline belongs to. */
    protected readonly key: string,
    level: Level,
    trainingSeen: number,
    events?: unknown,
  ) {
    this.level = level;
    this.training = strategySetup(strategy);
    this.trainingSeen = trainingSeen;
    this.events = events === undefined ? null : EventTracker.restore(events);
  }

  protected get strategy(): Strategy {
    return this.training.strategy;
  }

  private tracker(): EventTracker {
    return (this.events ??= new EventTracker(eventSetup(this.strategy, this.key)));
  }

  /** Count a point; true when it is a training point. */
  private tick(timeMs: number): boolean {
    const { rows, untilMs } = this.training;
    const training = this.trainingSeen < rows || timeMs < untilMs;
    if (this.trainingSeen < rows) this.trainingSeen++;
    return training;
  }

  /** Would a point at `timeMs` be a training point (without counting it)? */
  protected isTraining(timeMs: number): boolean {
    const { rows, untilMs } = this.training;
    return this.trainingSeen < rows || timeMs < untilMs;
  }

  get lastLevel(): Level {
    return this.level;
  }

  get lastEventChange(): EventChange | null {
    return this.eventChange;
  }

  flushEvents(timeMs: number): EventChange | null {
    this.eventChange = this.events === null ? null : this.events.flush(timeMs);
    return this.eventChange;
  }

  get eventSpan(): OpenSpan | null {
    return this.events === null ? null : this.events.span;
  }

  /** The point's evidence before any alert gate of the detector's own (events' hysteresis). */
  protected evidence(score: number): number {
    return score;
  }

  /** Why the current point scored as it did; called before the detector learns it. */
  protected abstract explanation(timeMs: number, input: S, score: number): EventExplanation;

  protected abstract missing(input: S): boolean;
  protected abstract score(timeMs: number, input: S): number;
  protected abstract learn(timeMs: number, input: S): void;
  protected abstract learnAsNormal(timeMs: number, input: S): void;

  /** Does the strategy set a training period (the pipeline's, which governs the detector's)? */
  protected get hasTrainingPeriod(): boolean {
    return this.training.rows > 0 || this.training.untilMs > Number.NEGATIVE_INFINITY;
  }

  /**
   * At the first point after the training period: close the detector's (vector strategies).
   * True when the detector still needs training points (its minimum), so this point trains.
   */
  protected abstract afterTraining(): boolean;

  process(timeMs: number, input: S): number {
    this.eventChange = null;
    if (this.tick(timeMs) || this.afterTraining()) {
      this.trainPoint(timeMs, input);
      this.level = 'ok';
      return 0;
    }
    if (this.missing(input)) {
      this.level = 'ok';
      return 0;
    }
    const score = this.score(timeMs, input);
    const level = this.threshold.classify(timeMs, score);
    this.level = level;
    // Events before learning, so an explanation describes the point as the detector judged it.
    // The closure is only made for flagged points; ok points cost the tracker one branch.
    // A fresh tracker ignores ok points, so none is made for them.
    this.eventChange =
      level === 'ok'
        ? this.events === null
          ? null
          : this.events.update(timeMs, score, level, undefined, this.evidence(score))
        : this.tracker().update(timeMs, score, level, () => this.explanation(timeMs, input, score));
    // Learning a flagged point would teach the detector that the anomaly is normal; but only up
    // to a bound, past which the change has lasted long enough to be the new normal.
    if (
      level === 'ok' ||
      this.strategy.learn_on_flagged ||
      this.unlearned >= this.strategy.max_unlearned_points
    ) {
      this.unlearned = 0;
      this.learn(timeMs, input);
    } else {
      this.unlearned++;
    }
    return score;
  }

  train(timeMs: number, input: S): void {
    this.tick(timeMs);
    this.trainPoint(timeMs, input);
  }

  private trainPoint(timeMs: number, input: S): void {
    if (this.missing(input)) return;
    // The threshold sees training scores so its quantiles start from normal data; its verdict
    // is discarded because training points are normal by definition.
    this.threshold.classify(timeMs, this.score(timeMs, input));
    this.learnAsNormal(timeMs, input);
  }

  protected parts(detector: PipelineSnapshot['detector']): PipelineSnapshot {
    return {
      strategy: this.strategy.name,
      version: this.strategy.version,
      key: this.key,
      detector,
      threshold: this.threshold.snapshot(),
      lastLevel: this.level,
      trainingSeen: this.trainingSeen,
      // Same shape whether or not the series ever flagged (a fresh tracker's state otherwise).
      events: (this.events ?? new EventTracker(eventSetup(this.strategy, this.key))).snapshot(),
    };
  }
}

class StrategyPipeline extends GatedPipeline<number> implements SeriesPipeline {
  constructor(
    strategy: Strategy,
    seriesKey: string,
    private readonly detector: Detector,
    threshold: Threshold,
    level: Level = 'ok',
    trainingSeen = 0,
    events?: unknown,
  ) {
    super(strategy, threshold, seriesKey, level, trainingSeen, events);
  }

  protected afterTraining(): boolean {
    // Univariate detectors warm up on their own (no training period to close).
    return false;
  }

  protected explanation(timeMs: number, value: number, score: number): EventExplanation {
    return explainPoint(this.detector, metricOf(this.key), timeMs, value, score);
  }

  protected override evidence(score: number): number {
    return this.detector.lastEvidence === undefined ? score : this.detector.lastEvidence();
  }

  alertBand(timeMs: number, value: number): readonly [number, number] | null {
    const detector = this.detector;
    // The band is where the detector's score reaches its own boundary: the alert threshold
    // only while the strategy alerts at that score.
    if (!canExplain(detector) || this.threshold.alertScore?.() !== DETECTOR_BOUNDARY) return null;
    // An ensemble that averages its members has no member's band as its own boundary.
    if (detector instanceof EnsembleDetector && detector.params.combine !== 'max') return null;
    if (this.isTraining(timeMs) || this.missing(value)) return null;
    const band = bandOf(detector, timeMs, value);
    if (band === null) return null;
    const [lower, upper] = band;
    return Number.isFinite(lower) && Number.isFinite(upper) && lower <= upper ? band : null;
  }

  protected missing(value: number): boolean {
    // `value - value` is NaN exactly for NaN and ±Infinity: a missing reading.
    return value - value !== 0;
  }

  protected score(timeMs: number, value: number): number {
    return this.detector.score(timeMs, value);
  }

  protected learn(timeMs: number, value: number): void {
    this.detector.learn(timeMs, value);
  }

  protected learnAsNormal(timeMs: number, value: number): void {
    this.detector.learn(timeMs, value);
  }

  snapshot(): PipelineSnapshot {
    return this.parts(this.detector.snapshot());
  }
}

class DeviceStrategyPipeline extends GatedPipeline<Float64Array> implements DevicePipeline {
  /** Score of the last processed vector: its contributions are the detector's last ones. */
  private lastScore = 0;
  /** The training period has been closed (or there is none to close): skip the check. */
  private trainingDone = false;

  constructor(
    strategy: Strategy,
    deviceKey: string,
    readonly metrics: readonly string[],
    private readonly detector: VectorDetector,
    threshold: Threshold,
    level: Level = 'ok',
    trainingSeen = 0,
    events?: unknown,
  ) {
    super(strategy, threshold, deviceKey, level, trainingSeen, events);
    if (detector.dimensions !== metrics.length) {
      throw new VigilError(
        'VIGIL_ERR_STRATEGY_INVALID',
        `the detector has ${detector.dimensions} dimensions, but there are ${metrics.length} metrics`,
      );
    }
  }

  override process(timeMs: number, values: Float64Array): number {
    if (values.length !== this.metrics.length) {
      throw new RangeError(`expected ${this.metrics.length} values, got ${values.length}`);
    }
    this.lastScore = super.process(timeMs, values);
    return this.lastScore;
  }

  override train(timeMs: number, values: Float64Array): void {
    this.lastScore = 0;
    super.train(timeMs, values);
  }

  contributions(out: Float64Array): void {
    if (this.lastScore === 0) out.fill(0);
    else this.detector.contributions(out);
  }

  /**
   * With a training period, the detector's ends with it (not at its own `training_points`), and
   * the threshold is calibrated on the period's held-out scores: armed at the first scored
   * vector. A period that gave fewer usable vectors than the detector's minimum (`training.until`
   * passed before a device's first points, missing readings) goes on until it has them: a live
   * device must not fail. Without a training period, the detector keeps its own warm-up.
   */
  protected afterTraining(): boolean {
    if (this.trainingDone) return false;
    const detector = this.detector;
    if (!this.hasTrainingPeriod || !isTrainable(detector) || detector.trainingClosed) {
      this.trainingDone = true;
      return false;
    }
    if (detector.trainedVectors < detector.minimumTraining) return true;
    this.trainingDone = true;
    const scores = detector.closeTraining();
    this.threshold.calibrate?.(scores);
    return false;
  }

  protected explanation(_timeMs: number, values: Float64Array, score: number): EventExplanation {
    // Called right after scoring, so the detector's contributions are this vector's.
    const shares = new Float64Array(this.metrics.length);
    this.detector.contributions(shares);
    const parts = this.detector.scoreParts?.() ?? [];
    return explainVector(this.detector.kind, this.metrics, values, shares, score, parts);
  }

  protected missing(values: Float64Array): boolean {
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      if (v - v !== 0) return true;
    }
    return false;
  }

  protected score(timeMs: number, values: Float64Array): number {
    return this.detector.score(timeMs, values);
  }

  protected learn(timeMs: number, values: Float64Array): void {
    this.detector.learn(timeMs, values);
  }

  protected learnAsNormal(timeMs: number, values: Float64Array): void {
    if (isTrainable(this.detector)) this.detector.train(timeMs, values);
    else this.detector.learn(timeMs, values);
  }

  snapshot(): DevicePipelineSnapshot {
    return { ...this.parts(this.detector.snapshot()), metrics: [...this.metrics] };
  }
}

/** The metric part of a `device/metric` series key (the whole key when it has no device). */
function metricOf(seriesKey: string): string {
  const slash = seriesKey.lastIndexOf('/');
  return slash < 0 ? seriesKey : seriesKey.slice(slash + 1);
}

/** Seed of one series' (or device's) components: a pure function of its key and the strategy seed. */
export function seriesSeed(strategy: Strategy, seriesKey: string): number {
  return hashString(seriesKey, strategy.seed);
}

function wrongShape(strategy: Strategy, vector: boolean): VigilError {
  const kind = strategy.detector.kind;
  const what = vector
    ? `uses the multivariate detector '${kind}', which scores a device's metrics together: compile it per device`
    : `uses the univariate detector '${kind}': compile it per series`;
  return new VigilError(
    'VIGIL_ERR_STRATEGY_INVALID',
    `strategy ${strategy.name}@${strategy.version} ${what}`,
  );
}

function thresholdMaker(strategy: Strategy): () => Threshold {
  const factory = getThresholdFactory(strategy.threshold.kind);
  // Frozen so that every series shares this one object instead of copying it.
  const params = Object.freeze(factory.paramsSchema.parse(strategy.threshold.params ?? {}));
  return () => factory.create(params);
}

/**
 * Compile once per strategy; the returned function builds a fresh pipeline for a series.
 * `seriesKey` is the series' stable identity (e.g. `device/metric`). Throws for a vector
 * strategy (see `isVectorStrategy` and `compileDeviceStrategy`).
 */
export function compileStrategy(strategy: Strategy): (seriesKey: string) => SeriesPipeline {
  if (isVectorStrategy(strategy)) throw wrongShape(strategy, true);
  // Parse once here (a no-op for a parsed strategy, a guard for a hand-built one), so that
  // creating each of possibly many series skips validation.
  const detectorFactory = getDetectorFactory(strategy.detector.kind);
  // Frozen so that every series shares this one object instead of copying it.
  const detectorParams = Object.freeze(
    detectorFactory.paramsSchema.parse(strategy.detector.params ?? {}),
  );
  const threshold = thresholdMaker(strategy);
  return (seriesKey) =>
    new StrategyPipeline(
      strategy,
      seriesKey,
      detectorFactory.create(detectorParams, seriesSeed(strategy, seriesKey)),
      threshold(),
    );
}

/**
 * Compile a vector strategy for devices whose vectors hold `metrics` in this order; the returned
 * function builds a fresh pipeline for a device (`deviceKey`, its stable identity). Throws for a
 * univariate strategy.
 */
export function compileDeviceStrategy(
  strategy: Strategy,
  metrics: readonly string[],
): (deviceKey: string) => DevicePipeline {
  if (!isVectorStrategy(strategy)) throw wrongShape(strategy, false);
  if (metrics.length === 0 || new Set(metrics).size !== metrics.length) {
    throw new VigilError(
      'VIGIL_ERR_INPUT',
      `a device needs distinct metric names, got [${metrics.join(', ')}]`,
    );
  }
  const names = Object.freeze([...metrics]);
  const detectorFactory = getVectorDetectorFactory(strategy.detector.kind);
  checkTrainingRows(strategy, detectorFactory.minimumTraining?.(names.length) ?? 0, names.length);
  const detectorParams = detectorFactory.paramsSchema.parse(strategy.detector.params ?? {});
  checkOnnxMetrics(strategy.detector.kind, detectorParams, names);
  const threshold = thresholdMaker(strategy);
  return (deviceKey) =>
    new DeviceStrategyPipeline(
      strategy,
      deviceKey,
      names,
      detectorFactory.create(detectorParams, names.length, seriesSeed(strategy, deviceKey)),
      threshold(),
    );
}

/** A training period of rows must give the detector at least its minimum. */
function checkTrainingRows(strategy: Strategy, minimum: number, metrics: number): void {
  const rows = strategy.training?.rows;
  if (rows === undefined || rows >= minimum) return;
  throw new VigilError(
    'VIGIL_ERR_STRATEGY_INVALID',
    `a training period of ${rows} rows is too short for detector '${strategy.detector.kind}' ` +
      `on ${metrics} metrics (strategy ${strategy.name}@${strategy.version}): ` +
      `it needs at least ${minimum} (d + 2)`,
  );
}

/**
 * The strategy with its training period replaced by the first `rows` points (`--train-rows`):
 * one training period governs, the detector's warm-up follows it. 0 keeps the strategy's own.
 */
export function withTrainingRows(strategy: Strategy, rows: number): Strategy {
  return rows > 0 ? { ...strategy, training: { rows } } : strategy;
}

function checkSnapshot(strategy: Strategy, snapshot: PipelineSnapshot): Level {
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
  return level;
}

/**
 * Rebuild a pipeline from its snapshot. The snapshot must come from the same strategy name and
 * version: its detector and threshold carry the parameters of the version that made them.
 */
export function restorePipeline(strategy: Strategy, snapshot: PipelineSnapshot): SeriesPipeline {
  const level = checkSnapshot(strategy, snapshot);
  return new StrategyPipeline(
    strategy,
    snapshot.key ?? '',
    restoreDetector(snapshot.detector),
    restoreThreshold(snapshot.threshold),
    level,
    snapshot.trainingSeen ?? 0,
    snapshot.events,
  );
}

/** Rebuild a device pipeline from its snapshot (same rules as `restorePipeline`). */
export function restoreDevicePipeline(
  strategy: Strategy,
  snapshot: DevicePipelineSnapshot,
): DevicePipeline {
  const level = checkSnapshot(strategy, snapshot);
  checkOnnxMetrics(strategy.detector.kind, strategy.detector.params, snapshot.metrics);
  return new DeviceStrategyPipeline(
    strategy,
    snapshot.key ?? '',
    Object.freeze([...snapshot.metrics]),
    restoreVectorDetector(snapshot.detector),
    restoreThreshold(snapshot.threshold),
    level,
    snapshot.trainingSeen ?? 0,
    snapshot.events,
  );
}
