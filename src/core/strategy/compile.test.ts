import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../stats/rng.js';
import { IOT_METRICS, makeIotSeries } from '../detectors/multivariate/synthetic-iot.js';
import {
  compileDeviceStrategy,
  compileStrategy,
  isVectorStrategy,
  restoreDevicePipeline,
  restorePipeline,
} from './compile.js';
import { parseStrategy } from './parse.js';
import { resolveStrategy } from '../../strategy-files/load.js';
import type {
  DevicePipeline,
  DevicePipelineSnapshot,
  Level,
  PipelineSnapshot,
  SeriesPipeline,
} from './pipeline.js';

function noise(n: number, seed: number, level = 0): Float64Array {
  const rng = Rng.fromSeed(seed);
  return Float64Array.from({ length: n }, () => level + rng.uniform(-1, 1));
}

function feed(pipeline: SeriesPipeline, xs: Float64Array, start: number) {
  const scores: number[] = [];
  const levels: Level[] = [];
  xs.forEach((x, i) => {
    scores.push(pipeline.process((start + i) * 1000, x));
    levels.push(pipeline.lastLevel);
  });
  return { scores, levels };
}

const shiftStrategy = (learnOnFlagged: boolean) =>
  parseStrategy(`
name: shift
version: 1
description: z-score with a static threshold.
detector:
  kind: ewzscore
  params: { alpha: 0.05 }
threshold:
  kind: static
learn_on_flagged: ${learnOnFlagged}
`);

describe('compiled pipelines', () => {
  for (const name of ['default', 'fast', 'half-space-trees']) {
    it(`${name}: snapshot → JSON → restore continues with identical scores and levels`, async () => {
      const strategy = await resolveStrategy(name);
      const original = compileStrategy(strategy)('dev/metric');
      const xs = noise(1200, 3, 20);
      xs[700] = 40;
      feed(original, xs.subarray(0, 600), 0);
      const snapshot = JSON.parse(JSON.stringify(original.snapshot())) as PipelineSnapshot;
      const restored = restorePipeline(strategy, snapshot);
      assert.equal(restored.lastLevel, original.lastLevel);
      assert.deepEqual(
        feed(restored, xs.subarray(600), 600),
        feed(original, xs.subarray(600), 600),
      );
    });
  }

  it('refuses a snapshot of another strategy version', async () => {
    const strategy = await resolveStrategy('fast');
    const snapshot = compileStrategy(strategy)('a').snapshot();
    assert.throws(
      () => restorePipeline({ ...strategy, version: strategy.version + 1 }, snapshot),
      /snapshot belongs to strategy fast@1, not fast@2/,
    );
  });

  it('holds learning on flagged points unless learn_on_flagged, for max_unlearned_points', () => {
    const xs = Float64Array.from([...noise(300, 5, 0), ...noise(300, 6, 10)]);
    const flagged = (learnOnFlagged: boolean) =>
      feed(compileStrategy(shiftStrategy(learnOnFlagged))('s'), xs, 0)
        .levels.slice(300)
        .filter((level) => level !== 'ok').length;
    const gated = flagged(false);
    const ungated = flagged(true);
    assert.ok(gated >= 100, `the held detector keeps flagging the shift (${gated} flagged)`);
    assert.ok(gated < 300, `then learns the lasting shift (${gated} flagged)`);
    assert.ok(ungated < 100, `the learning detector adapts (${ungated} flagged)`);
  });

  it('a non-finite value scores 0, is ok and leaves the state untouched', () => {
    const make = compileStrategy(shiftStrategy(false));
    const a = make('s');
    const b = make('s');
    const xs = noise(200, 9);
    feed(a, xs, 0);
    feed(b, xs, 0);
    b.process(200_000, 50);
    assert.notEqual(b.lastLevel, 'ok');
    for (const bad of [Number.NaN, Infinity, -Infinity]) {
      assert.equal(b.process(200_000, bad), 0);
      assert.equal(b.lastLevel, 'ok');
    }
    assert.deepEqual(b.snapshot().detector, a.snapshot().detector);
  });

  it('train learns without classifying; process then flags relative to what was trained', () => {
    const pipeline = compileStrategy(shiftStrategy(false))('s');
    noise(200, 11).forEach((x, i) => pipeline.train(i * 1000, x));
    assert.equal(pipeline.lastLevel, 'ok');
    assert.ok(pipeline.process(200_000, 30) > 0.5);
    assert.notEqual(pipeline.lastLevel, 'ok');
  });

  it('series get independent, reproducible seeds', async () => {
    const make = compileStrategy(await resolveStrategy('half-space-trees'));
    const xs = noise(400, 13);
    const one = feed(make('dev-a/x'), xs, 0).scores;
    assert.deepEqual(feed(make('dev-a/x'), xs, 0).scores, one);
    assert.notDeepEqual(feed(make('dev-b/x'), xs, 0).scores, one);
  });
});

describe('training periods', () => {
  const trained = (training: string) =>
    parseStrategy(`
name: trained
version: 1
description: z-score with a static threshold and a training period.
detector:
  kind: ewzscore
  params: { alpha: 0.05 }
threshold:
  kind: static
training: ${training}
`);

  it('training.rows: the first points are learned, score 0 and are never flagged', () => {
    const pipeline = compileStrategy(trained('{ rows: 300 }'))('s');
    const xs = noise(600, 21);
    xs[100] = 50; // inside training: learned, not flagged
    xs[400] = 50;
    const { scores, levels } = feed(pipeline, xs, 0);
    assert.ok(scores.slice(0, 300).every((s) => s === 0));
    assert.ok(levels.slice(0, 300).every((level) => level === 'ok'));
    assert.notEqual(levels[400], 'ok', 'flagged after training');
    assert.equal(pipeline.snapshot().trainingSeen, 300, 'counting stops at training.rows');
  });

  it('training.until: points before that event time are training points', () => {
    const pipeline = compileStrategy(trained('{ until: "1970-01-01T00:05:00Z" }'))('s');
    const xs = noise(600, 22);
    xs[200] = 50; // 200 s: before 00:05
    xs[450] = 50;
    const { scores, levels } = feed(pipeline, xs, 0);
    assert.ok(scores.slice(0, 300).every((s) => s === 0));
    assert.equal(levels[200], 'ok');
    assert.notEqual(levels[450], 'ok');
  });

  it('train() calls count towards training.rows; a snapshot mid-training resumes it', () => {
    const strategy = trained('{ rows: 300 }');
    const a = compileStrategy(strategy)('s');
    const xs = noise(600, 23);
    xs.subarray(0, 100).forEach((x, i) => a.train(i * 1000, x));
    const snapshot = JSON.parse(JSON.stringify(a.snapshot())) as PipelineSnapshot;
    assert.equal(snapshot.trainingSeen, 100);
    const b = restorePipeline(strategy, snapshot);
    const rest = xs.subarray(100);
    const fromA = feed(a, rest, 100);
    assert.deepEqual(feed(b, rest, 100), fromA);
    assert.ok(
      fromA.scores.slice(0, 200).every((s) => s === 0),
      'rows 100–299 still train',
    );
    assert.ok(fromA.scores.slice(200).some((s) => s > 0));
  });
});

describe('device (vector) pipelines', () => {
  const METRICS = IOT_METRICS;
  const vectorStrategy = (extra = '') =>
    parseStrategy(`
name: pumps
version: 1
description: PCA over each pump's metrics.
detector:
  kind: pca
  params: { training_points: 500 }
threshold:
  kind: dynamic
${extra}
`);

  function feedDevice(
    pipeline: DevicePipeline,
    rows: readonly Float64Array[],
    times: Float64Array,
    from: number,
  ) {
    const scores: number[] = [];
    const levels: Level[] = [];
    const shares: number[] = [];
    const out = new Float64Array(METRICS.length);
    for (let i = from; i < rows.length; i++) {
      scores.push(pipeline.process(times[i] as number, rows[i]!));
      levels.push(pipeline.lastLevel);
      pipeline.contributions(out);
      shares.push(...out);
    }
    return { scores, levels, shares };
  }

  it('univariate and vector strategies are told apart, and each compiler refuses the other', async () => {
    const fast = await resolveStrategy('fast');
    const multi = await resolveStrategy('multivariate');
    assert.equal(isVectorStrategy(fast), false);
    assert.equal(isVectorStrategy(multi), true);
    assert.throws(() => compileStrategy(multi), /multivariate detector 'hotelling'.*per device/);
    assert.throws(() => compileDeviceStrategy(fast, ['a']), /univariate detector 'ewzscore'/);
    assert.throws(() => compileDeviceStrategy(multi, ['a', 'a']), /distinct metric names/);
    assert.throws(
      () => compileDeviceStrategy(multi, ['a', 'b'])('d').process(0, new Float64Array(3)),
      RangeError,
    );
  });

  it('training never flags; the correlation break is flagged and explained by flow and pressure', () => {
    const s = makeIotSeries({ seed: 31, fault: 'correlation-break' });
    const pipeline = compileDeviceStrategy(
      vectorStrategy('training: { rows: 864 }'),
      METRICS,
    )('pump-1');
    assert.deepEqual(pipeline.metrics, METRICS);
    const { scores, levels, shares } = feedDevice(pipeline, s.values, s.times, 0);
    assert.ok(scores.slice(0, 864).every((x) => x === 0));
    assert.ok(levels.slice(0, 864).every((level) => level === 'ok'));
    const flagged = levels.flatMap((level, i) => (level === 'ok' ? [] : [i]));
    const inFault = flagged.filter((i) => i >= s.start && i < s.end + 12);
    assert.ok(inFault.length > 0.5 * (s.end - s.start), `${inFault.length} flagged in the fault`);
    assert.ok(
      flagged.length - inFault.length <= 2,
      `${flagged.length - inFault.length} false alarms`,
    );
    for (const i of inFault) {
      const row = shares.slice(i * METRICS.length, (i + 1) * METRICS.length);
      const top = METRICS[row.indexOf(Math.max(...row))];
      assert.ok(top === 'flow' || top === 'pressure', `top metric ${top} at ${i}`);
    }
  });

  it('snapshot → JSON → restore continues with identical scores, levels and contributions', () => {
    const strategy = vectorStrategy('training: { rows: 700 }\nlearn_on_flagged: false');
    const s = makeIotSeries({ seed: 32, fault: 'stuck', length: 2400, start: 1500 });
    const make = compileDeviceStrategy(strategy, METRICS);
    const whole = feedDevice(make('pump-2'), s.values, s.times, 0);
    for (const cut of [0, 300, 699, 700, 1000, 1520]) {
      const original = make('pump-2');
      feedDevice(original, s.values.slice(0, cut), s.times, 0);
      const snapshot = JSON.parse(JSON.stringify(original.snapshot())) as DevicePipelineSnapshot;
      assert.deepEqual(snapshot.metrics, METRICS);
      const restored = restoreDevicePipeline(strategy, snapshot);
      assert.equal(restored.lastLevel, original.lastLevel);
      const rest = feedDevice(restored, s.values, s.times, cut);
      assert.deepEqual(rest.scores, whole.scores.slice(cut), `scores after a cut at ${cut}`);
      assert.deepEqual(rest.levels, whole.levels.slice(cut), `levels after a cut at ${cut}`);
      assert.deepEqual(rest.shares, whole.shares.slice(cut * METRICS.length), `shares at ${cut}`);
    }
    assert.throws(
      () => restoreDevicePipeline({ ...strategy, version: 2 }, make('x').snapshot()),
      /snapshot belongs to strategy pumps@1, not pumps@2/,
    );
  });

  it('a vector with a missing reading scores 0, is ok, explains nothing and changes nothing', () => {
    const s = makeIotSeries({ seed: 33, fault: 'drift', length: 1200 });
    const pipeline = compileDeviceStrategy(vectorStrategy(), METRICS)('pump-3');
    feedDevice(pipeline, s.values.slice(0, 1100), s.times, 0);
    const before = JSON.stringify(pipeline.snapshot());
    const bad = Float64Array.from(s.values[1100]!);
    bad[2] = Number.NaN;
    assert.equal(pipeline.process(s.times[1100] as number, bad), 0);
    assert.equal(pipeline.lastLevel, 'ok');
    const out = new Float64Array(METRICS.length).fill(9);
    pipeline.contributions(out);
    assert.deepEqual(Array.from(out), [0, 0, 0, 0, 0]);
    assert.equal(JSON.stringify(pipeline.snapshot()), before);
  });

  it('devices get independent, reproducible pipelines', () => {
    const s = makeIotSeries({ seed: 34, fault: 'stuck', length: 900 });
    const make = compileDeviceStrategy(vectorStrategy(), METRICS);
    const one = feedDevice(make('pump-a'), s.values, s.times, 0);
    assert.deepEqual(feedDevice(make('pump-a'), s.values, s.times, 0), one);
  });
});
