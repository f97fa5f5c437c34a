import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Detector, DetectorFactory } from './detector.js';
import {
  createDetector,
  detectorFactories,
  getDetectorFactory,
  restoreDetector,
  UnknownDetectorError,
} from './registry.js';
import { ANOMALY_KINDS, type AnomalyKind, makeSyntheticSeries } from './synthetic.js';

/**
 * The contract every registered detector keeps (detector.ts), checked for each entry of the
 * registry with its default params — a detector added to the table is covered automatically.
 * Then the quality part: each detector must catch the anomaly kinds its capability row claims and
 * stay quiet on the clean twins.
 */

/** The ensemble's test configuration: small, and exercising weights and a member param. */
const ENSEMBLE_PARAMS = {
  combine: 'weighted-mean',
  members: [
    { kind: 'ewzscore', weight: 2 },
    { kind: 'rolling-zscore', params: { window: 20 } },
  ],
};

function paramsFor(factory: DetectorFactory): unknown {
  return factory.paramsSchema.parse(factory.kind === 'ensemble' ? ENSEMBLE_PARAMS : {});
}

/**
 * One stream long enough to get past every warm-up (the seasonal ESD fits after 1008 points),
 * sampled every second so the time-windowed detector sees many points per window.
 */
const STREAM = makeSyntheticSeries({
  seed: 5,
  anomaly: 'spike',
  stepMs: 1000,
  length: 1440,
  start: 1200,
});

function run(
  d: Detector,
  times: ArrayLike<number>,
  values: ArrayLike<number>,
  from = 0,
  to = values.length,
): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i++) out.push(d.update(times[i] as number, values[i] as number));
  return out;
}

function assertSameScores(
  actual: readonly number[],
  expected: readonly number[],
  what: string,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    // `===`: identical numbers, without Object.is's distinction between 0 and -0.
    if (actual[i] !== expected[i]) {
      assert.fail(`${what}: score ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

function assertUnitScores(scores: readonly number[], what: string): void {
  scores.forEach((s, i) => {
    if (!(s >= 0 && s <= 1)) assert.fail(`${what}: score ${i} is ${s}, not in [0, 1]`);
  });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

const roundTrip = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

describe('registry', () => {
  test('lookups by kind, with a clear error that lists the known kinds', () => {
    for (const [kind, factory] of Object.entries(detectorFactories)) {
      assert.equal(factory.kind, kind);
      assert.equal(getDetectorFactory(kind), factory);
      assert.ok(factory.description.length > 0);
    }
    assert.throws(
      () => getDetectorFactory('nope'),
      (e: unknown) => {
        assert.ok(e instanceof UnknownDetectorError);
        assert.match(e.message, /unknown detector kind 'nope'.*ewzscore.*seasonal-esd/);
        assert.equal(e.code, 'VIGIL_ERR_STRATEGY_INVALID');
        return true;
      },
    );
    assert.throws(() => getDetectorFactory('toString'), UnknownDetectorError);
    assert.throws(() => createDetector('rolling-zscore', { window: 1 }, 1), {
      code: 'VIGIL_ERR_STRATEGY_INVALID',
      message: /window/,
    });
  });
});

for (const factory of Object.values(detectorFactories)) {
  const { kind } = factory;
  describe(`conformance: ${kind}`, () => {
    const { times, values } = STREAM;
    const fresh = (seed = 42): Detector => factory.create(paramsFor(factory), seed);
    const baseline = run(fresh(), times, values);

    test('default params parse and the scores are in [0, 1]', () => {
      assert.equal(fresh().kind, kind);
      assertUnitScores(baseline, kind);
      assert.ok(
        baseline.some((s) => s > 0),
        'the detector never scored anything',
      );
    });

    test('snapshot mid-stream + JSON round trip continues with the very same scores', () => {
      for (const cut of [0, 7, 500, 1100, 1300]) {
        const d = fresh();
        run(d, times, values, 0, cut);
        const snap = roundTrip(d.snapshot());
        assert.equal(snap.kind, kind);
        const restored = restoreDetector(snap);
        assertSameScores(run(restored, times, values, cut), baseline.slice(cut), `cut at ${cut}`);
        // Both copies end in the same state, too.
        run(d, times, values, cut);
        assert.deepEqual(roundTrip(restored.snapshot()), roundTrip(d.snapshot()));
      }
    });

    test('same seed, same scores; update() = score() then learn()', () => {
      assertSameScores(run(fresh(), times, values), baseline, 'second run');
      assertSameScores(
        run(createDetector(kind, paramsFor(factory), 42), times, values),
        baseline,
        'via createDetector',
      );
      const d = fresh();
      const split: number[] = [];
      for (let i = 0; i < values.length; i++) {
        const before = i % 97 === 0 ? JSON.stringify(d.snapshot()) : '';
        split.push(d.score(times[i] as number, values[i] as number));
        if (before) assert.equal(JSON.stringify(d.snapshot()), before, 'score() changed the state');
        d.learn(times[i] as number, values[i] as number);
      }
      assertSameScores(split, baseline, 'score + learn');
    });

    test('inputs are not mutated and snapshots do not alias live state', () => {
      const params = deepFreeze(structuredClone(paramsFor(factory)));
      const t = Float64Array.from(times);
      const v = Float64Array.from(values);
      const d = factory.create(params, 42); // frozen params: any write would throw
      run(d, t, v, 0, 1200);
      assert.deepEqual(t, times);
      assert.deepEqual(v, values);
      const snap = d.snapshot();
      const frozenText = JSON.stringify(snap);
      run(d, t, v, 1200);
      assert.equal(JSON.stringify(snap), frozenText, 'a later update changed an earlier snapshot');
      const restored = restoreDetector(snap);
      run(restored, t, v, 0, 50);
      assert.equal(JSON.stringify(snap), frozenText, 'the restored detector shares the snapshot');
    });

    test('NaN and ±Infinity score 0 and leave the state untouched', () => {
      const bad = new Set([3, 50, 600, 1050, 1201]);
      const t: number[] = [];
      const v: number[] = [];
      const isBad: boolean[] = [];
      const junk = [NaN, Infinity, -Infinity];
      for (let i = 0; i < values.length; i++) {
        if (bad.has(i)) {
          t.push(times[i] as number);
          v.push(junk[i % 3] as number);
          isBad.push(true);
        }
        t.push(times[i] as number);
        v.push(values[i] as number);
        isBad.push(false);
      }
      const d = fresh();
      const good: number[] = [];
      for (let i = 0; i < v.length; i++) {
        const before = isBad[i] ? JSON.stringify(d.snapshot()) : '';
        const s = d.update(t[i] as number, v[i] as number);
        if (isBad[i]) {
          assert.equal(s, 0, `score of ${v[i]}`);
          assert.equal(JSON.stringify(d.snapshot()), before, `state changed by ${v[i]}`);
        } else {
          good.push(s);
        }
      }
      assertSameScores(good, baseline, 'scores around the bad points');
    });

    test('gaps, repeated and backward timestamps give finite scores in [0, 1]', () => {
      const d = fresh();
      const scores: number[] = [];
      let t = 1_700_000_000_000;
      for (let i = 0; i < values.length; i++) {
        if (i % 200 === 0)
          t += 86_400_000; // a day's gap
        else if (i % 50 === 0)
          t -= 30_000; // clock steps back
        else if (i % 7 !== 0) t += 1000; // otherwise every 7th point repeats the timestamp
        scores.push(d.update(t, values[i] as number));
      }
      assertUnitScores(scores, 'irregular time');
      const snap = roundTrip(d.snapshot());
      assertUnitScores(run(restoreDetector(snap), [t, t, t - 5], [1, 2, 3]), 'after restore');
    });

    test('extreme but finite inputs keep scores in [0, 1]', () => {
      const shapes: Record<string, (i: number) => number> = {
        constant: () => 7,
        zeros: () => 0,
        alternating: (i) => (i % 2 ? 1e9 : -1e9),
        tiny: (i) => (i % 3) * 1e-300,
        step: (i) => (i < 700 ? 1 : 1e6),
        negative: (i) => -1e5 - (i % 13),
        burst: (i) => (i % 100 === 99 ? 1e12 : i % 5),
      };
      for (const [name, shape] of Object.entries(shapes)) {
        const d = fresh();
        const scores: number[] = [];
        for (let i = 0; i < 1400; i++) scores.push(d.update(i * 1000, shape(i)));
        assertUnitScores(scores, name);
        assertUnitScores(
          run(restoreDetector(roundTrip(d.snapshot())), [1e7], [shape(3)]),
          `${name} restored`,
        );
      }
    });
  });
}

/**
 * What each detector is designed to catch, checked below and mirrored in docs/detectors.md.
 * `catches`: anomaly kinds it must flag (score >= 0.5 between the anomaly's start and a little
 * after its end). `maxCleanRate`: the most points per clean point that may score >= 0.5 on the
 * clean twins after warm-up. The quiet detectors get 1e-4 — a calibrated test at about 4 sigma
 * (the seasonal ESD's critical value) fires 0.3e-4 to 0.75e-4 per point on Gaussian noise by
 * construction, so "never" is not a property any statistical detector has; one in 10,000 is the
 * promise we keep.
 */
interface Capability {
  readonly catches: readonly AnomalyKind[];
  readonly maxCleanRate: number;
  /** Points after which the detector is judged. */
  readonly warmup: number;
  /** Sampling step of the synthetic series it is judged on. */
  readonly stepMs: number;
  readonly why: string;
}

const FIVE_MIN = 300_000;

const CAPABILITIES: Readonly<Record<string, Capability>> = {
  'rolling-zscore': {
    catches: ['spike', 'level-shift', 'flatline'],
    // The seed's baseline, kept as the reference: 30 points span 2.5 h of a daily season, so
    // the season's own slope pushes ~1% of clean points past 3 sigma. Not quiet, by design.
    maxCleanRate: 0.02,
    warmup: 30,
    stepMs: FIVE_MIN,
    why: "short memory: sees jumps; a flatline only when readings resume (the flat window's σ falls to the data floor); blind to slow or seasonal changes",
  },
  ewzscore: {
    catches: ['spike', 'level-shift'],
    maxCleanRate: 1e-4,
    warmup: 30,
    stepMs: FIVE_MIN,
    why: 'σ includes the season, so only jumps larger than the seasonal swing stand out',
  },
  'adaptive-window': {
    catches: ['spike', 'level-shift', 'flatline'],
    maxCleanRate: 1e-4,
    warmup: 60,
    // Its windows are seconds long (60 s by default): it is meant for 1 Hz-class streams.
    stepMs: 1000,
    why: 'deviation + trend break see jumps; a flatline when readings resume; no notion of season or drift',
  },
  'seasonal-esd': {
    catches: ['spike', 'level-shift', 'variance-change', 'seasonality-break', 'flatline', 'drift'],
    maxCleanRate: 1e-4,
    warmup: 1008,
    stepMs: FIVE_MIN,
    why: 'residuals after removing level and season: anything the season does not explain',
  },
  'half-space-trees': {
    catches: ['spike', 'level-shift', 'variance-change'],
    maxCleanRate: 1e-4,
    warmup: 274,
    stepMs: FIVE_MIN,
    why: 'mass in random half-spaces of recent shingles: rare shapes; measures rarity, not distance, so small shifts pass',
  },
  'extreme-value': {
    catches: ['spike', 'level-shift', 'variance-change', 'seasonality-break', 'flatline', 'drift'],
    maxCleanRate: 2e-4,
    warmup: 150,
    stepMs: FIVE_MIN,
    why: 'tail probability of value and seasonal residual, plus range records; one alert per incident',
  },
  ensemble: {
    catches: ['spike', 'level-shift', 'variance-change', 'seasonality-break', 'flatline', 'drift'],
    maxCleanRate: 1e-4,
    warmup: 1008,
    stepMs: FIVE_MIN,
    why: 'default members seasonal-esd + ewzscore combined by max: the union of both',
  },
};

const QUALITY_SEEDS = [101, 202, 303];

for (const factory of Object.values(detectorFactories)) {
  const cap = CAPABILITIES[factory.kind];
  describe(`quality: ${factory.kind}`, () => {
    if (!cap) {
      test('has a capability row', () => {
        assert.fail(`every detector documents what it catches: add a row for '${factory.kind}'`);
      });
      return;
    }
    const params = factory.paramsSchema.parse({});
    const scoresOf = (times: Float64Array, values: Float64Array): number[] =>
      run(factory.create(params, 7), times, values);

    for (const anomaly of cap.catches) {
      test(`flags ${anomaly}`, () => {
        for (const seed of QUALITY_SEEDS) {
          const s = makeSyntheticSeries({ seed, anomaly, stepMs: cap.stepMs });
          const scores = scoresOf(s.times, s.values);
          const near = scores.slice(s.start, Math.min(scores.length, s.end + 12));
          const peak = Math.max(...near);
          assert.ok(peak >= 0.5, `seed ${seed}: peak score ${peak.toFixed(3)} near the ${anomaly}`);
        }
      });
    }

    test(`quiet on the clean twins (at most ${cap.maxCleanRate} alarms per point)`, () => {
      let points = 0;
      let alarms = 0;
      for (const seed of QUALITY_SEEDS) {
        for (const anomaly of ANOMALY_KINDS) {
          const s = makeSyntheticSeries({
            seed: seed + ANOMALY_KINDS.indexOf(anomaly),
            anomaly,
            stepMs: cap.stepMs,
          });
          const scores = scoresOf(s.times, s.clean).slice(cap.warmup);
          points += scores.length;
          alarms += scores.filter((x) => x >= 0.5).length;
        }
      }
      assert.ok(
        alarms <= cap.maxCleanRate * points,
        `${alarms} alarms in ${points} clean points (limit ${cap.maxCleanRate * points})`,
      );
    });
  });
}
