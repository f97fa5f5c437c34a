import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { VectorDetector, VectorDetectorFactory } from '../vector-detector.js';
import { makeIotSeries } from './synthetic-iot.js';
import { writeTestVectorModel } from '../../../models/vector-model-fixture.js';
import { isTrainable } from './trainable.js';
import {
  createVectorDetector,
  getVectorDetectorFactory,
  restoreVectorDetector,
  UnknownVectorDetectorError,
  vectorDetectorFactories,
} from './vector-registry.js';

/**
 * The contract every registered vector detector keeps (vector-detector.ts), for each entry of
 * the registry, with its default params and with a configuration that keeps learning after a
 * short training period (so snapshots are taken in every phase). A kind added to the table is
 * covered automatically.
 */

const D = 5;
const STREAM = makeIotSeries({ seed: 5, fault: 'correlation-break', length: 1800, start: 1500 });
const { times } = STREAM;
const rows = STREAM.values;

const CONFIGS: Readonly<Record<string, Record<string, unknown>>> = {
  defaults: {},
  adapting: { training_points: 300, adapt: 'ewma', alpha: 0.01, refit_every: 7 },
};

// The `onnx` detector's model: trained on the stream's clean first 1,000 vectors, in a
// temporary model directory that becomes the process's.
writeTestVectorModel('conformance', STREAM.clean.slice(0, 1000), 4);

/** Kinds whose params differ from the covariance detectors': their two configurations. */
const KIND_CONFIGS: Readonly<Record<string, Readonly<Record<string, Record<string, unknown>>>>> = {
  onnx: {
    defaults: { model: 'conformance' },
    // The model is fixed, so "adapting" is a shorter own training period only.
    adapting: { model: 'conformance', training_points: 300, window: 4 },
  },
  'vector-ensemble': {
    defaults: {},
    adapting: {
      univariate: { kind: 'rolling-zscore' },
      vector: {
        kind: 'pca',
        params: { training_points: 300, adapt: 'ewma', alpha: 0.01, refit_every: 7 },
      },
      combine: 'noisy-or',
    },
  },
};

/** Params for the `training` tests: an own training period of `points` vectors. */
function withTrainingPoints(kind: string, points: number): Record<string, unknown> {
  if (kind === 'onnx') return { model: 'conformance', training_points: points };
  if (kind === 'vector-ensemble') {
    return { vector: { kind: 'hotelling', params: { training_points: points } } };
  }
  return { training_points: points };
}

/** The detector's own training period, from its parsed params (a composite's vector part's). */
function trainingPointsOf(params: unknown): number {
  const p = params as {
    training_points?: number;
    vector?: { params: { training_points: number } };
  };
  return p.training_points ?? p.vector?.params.training_points ?? 0;
}

/** Kinds that need more than the adapting config's 300 training vectors to see the fault. */
const SHORT_TRAINING_BLIND = new Set(['vector-hst']);

interface Run {
  readonly scores: number[];
  /** Contributions after each score, flattened. */
  readonly shares: number[];
}

function run(d: VectorDetector, data: readonly Float64Array[], from = 0, to = data.length): Run {
  const scores: number[] = [];
  const shares: number[] = [];
  const out = new Float64Array(d.dimensions);
  for (let i = from; i < to; i++) {
    scores.push(d.update(times[i] as number, data[i]!));
    d.contributions(out);
    shares.push(...out);
  }
  return { scores, shares };
}

function assertSame(actual: readonly number[], expected: readonly number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i])
      assert.fail(`${what}: ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

const roundTrip = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
const stateOf = (d: VectorDetector): string => JSON.stringify(d.snapshot());

describe('vector registry', () => {
  test('lookups by kind, with clear errors', () => {
    for (const [kind, factory] of Object.entries(vectorDetectorFactories)) {
      assert.equal(factory.kind, kind);
      assert.equal(getVectorDetectorFactory(kind), factory);
      assert.ok(factory.description.length > 0);
    }
    assert.throws(
      () => getVectorDetectorFactory('ewzscore'),
      (e: unknown) => e instanceof UnknownVectorDetectorError && /hotelling, pca/.test(e.message),
    );
    assert.throws(() => getVectorDetectorFactory('constructor'), UnknownVectorDetectorError);
    assert.throws(
      () => createVectorDetector('pca', { explained_variance: 2 }, D, 1),
      /explained_variance/,
    );
    assert.throws(() => createVectorDetector('pca', { minStd: 1 }, D, 1), {
      code: 'VIGIL_ERR_STRATEGY_INVALID',
      message: /minStd/,
    });
    assert.throws(() => createVectorDetector('hotelling', {}, 0, 1), /dimension/);
  });
});

for (const factory of Object.values(vectorDetectorFactories)) {
  for (const [config, raw] of Object.entries(KIND_CONFIGS[factory.kind] ?? CONFIGS)) {
    describe(`vector conformance: ${factory.kind} (${config})`, () => {
      const params = (): unknown => factory.paramsSchema.parse(raw);
      const fresh = (seed = 42): VectorDetector => factory.create(params(), D, seed);
      const baseline = run(fresh(), rows);

      test('scores are in [0, 1], 0 while training, positive afterwards', () => {
        const d = fresh();
        assert.equal(d.kind, factory.kind);
        assert.equal(d.dimensions, D);
        baseline.scores.forEach((s, i) => {
          if (!(s >= 0 && s <= 1)) assert.fail(`score ${i} is ${s}`);
        });
        const training = trainingPointsOf(params());
        assert.ok(
          baseline.scores.slice(0, training).every((s) => s === 0),
          'zeros in training',
        );
        const after = baseline.scores.slice(training).filter((s) => s > 0).length;
        assert.ok(after > (rows.length - training) / 2, `mostly positive after (${after})`);
        // A density from 300 training vectors holds this break inside its tail (multivariate.md).
        if (config === 'defaults' || !SHORT_TRAINING_BLIND.has(factory.kind))
          assert.ok(Math.max(...baseline.scores.slice(1500)) >= 0.5, 'the fault is scored high');
      });

      test('contributions are non-negative and sum to 1, or all 0 when the score is 0', () => {
        baseline.scores.forEach((s, i) => {
          const shares = baseline.shares.slice(i * D, (i + 1) * D);
          assert.ok(
            shares.every((c) => c >= 0 && c <= 1),
            `shares at ${i}: ${shares.join(' ')}`,
          );
          const sum = shares.reduce((a, b) => a + b, 0);
          if (s === 0) assert.equal(sum, 0, `shares at ${i} with score 0`);
          else assert.ok(Math.abs(sum - 1) < 1e-12, `shares at ${i} sum to ${sum}`);
        });
      });

      test('snapshot + JSON round trip continues bit for bit, in every phase', () => {
        for (const cut of [0, 7, 299, 300, 301, 999, 1000, 1001, 1234, 1550]) {
          const d = fresh();
          run(d, rows, 0, cut);
          const snap = roundTrip(d.snapshot());
          assert.equal(snap.kind, factory.kind);
          const restored = restoreVectorDetector(snap);
          const rest = run(restored, rows, cut);
          assertSame(rest.scores, baseline.scores.slice(cut), `scores after a cut at ${cut}`);
          assertSame(rest.shares, baseline.shares.slice(cut * D), `shares after a cut at ${cut}`);
          run(d, rows, cut);
          assert.equal(stateOf(restored), stateOf(d), `final state after a cut at ${cut}`);
        }
      });

      test('same seed, same scores; update() = score() then learn(); score() changes nothing', () => {
        assertSame(run(fresh(), rows).scores, baseline.scores, 'second run');
        const seven = run(fresh(7), rows).scores;
        assertSame(run(fresh(7), rows).scores, seven, 'another seed, twice');
        const viaRegistry = createVectorDetector(factory.kind, raw, D, 42);
        assertSame(run(viaRegistry, rows).scores, baseline.scores, 'createVectorDetector');
        const d = fresh();
        const split: number[] = [];
        rows.forEach((row, i) => {
          const before = i % 97 === 0 ? stateOf(d) : '';
          split.push(d.score(times[i] as number, row));
          if (before) assert.equal(stateOf(d), before, `score() changed the state at ${i}`);
          d.learn(times[i] as number, row);
        });
        assertSame(split, baseline.scores, 'score + learn');
      });

      test('inputs are not mutated and snapshots do not alias live state', () => {
        const copy = rows.map((row) => Float64Array.from(row));
        const d = factory.create(deepFreeze(params()), D, 42); // a write to params would throw
        run(d, copy, 0, 1200);
        copy.forEach((row, i) => assert.deepEqual(row, rows[i]));
        const snap = d.snapshot();
        const text = JSON.stringify(snap);
        run(d, copy, 1200);
        assert.equal(JSON.stringify(snap), text, 'a later update changed an earlier snapshot');
        run(restoreVectorDetector(snap), copy, 0, 100);
        assert.equal(JSON.stringify(snap), text, 'the restored detector shares the snapshot');
      });

      test('a vector with any non-finite entry scores 0, explains nothing, changes nothing', () => {
        const d = fresh();
        const out = new Float64Array(D);
        const good: number[] = [];
        const junk = [Number.NaN, Infinity, -Infinity];
        rows.forEach((row, i) => {
          if (i % 151 === 3) {
            const bad = Float64Array.from(row);
            bad[i % D] = junk[i % 3] as number;
            const before = stateOf(d);
            assert.equal(d.update(times[i] as number, bad), 0, `score of ${bad.join(',')}`);
            d.contributions(out);
            assert.deepEqual(Array.from(out), new Array(D).fill(0));
            assert.equal(stateOf(d), before, `state changed by ${bad.join(',')}`);
            if (isTrainable(d)) {
              d.train(times[i] as number, bad);
              assert.equal(stateOf(d), before, 'train() learned a non-finite vector');
            }
          }
          good.push(d.update(times[i] as number, row));
        });
        assertSame(good, baseline.scores, 'scores around the bad vectors');
      });

      test('a vector of the wrong length is a programming error', () => {
        assert.throws(() => fresh().update(0, new Float64Array(D + 1)), RangeError);
      });

      test('extreme but finite inputs keep scores in [0, 1] and shares finite', () => {
        const shapes: Record<string, (i: number, j: number) => number> = {
          constant: () => 7,
          zeros: () => 0,
          'one stuck metric': (i, j) => (j === 2 ? 5 : Math.sin(i / 10 + j)),
          collinear: (i, j) => (j + 1) * Math.sin(i / 10),
          alternating: (i, j) => (i % 2 ? 1e9 : -1e9) * (j + 1),
          tiny: (i, j) => ((i + j) % 3) * 1e-300,
          burst: (i, j) => (i % 100 === 99 ? 1e12 : ((i * (j + 1)) % 5) + j),
          step: (i, j) => (i < 1500 ? j : 1e6 * j),
        };
        for (const [name, shape] of Object.entries(shapes)) {
          const d = fresh();
          const out = new Float64Array(D);
          for (let i = 0; i < 1800; i++) {
            const s = d.update(
              i * 1000,
              Float64Array.from({ length: D }, (_, j) => shape(i, j)),
            );
            if (!(s >= 0 && s <= 1)) assert.fail(`${name}: score ${i} is ${s}`);
            d.contributions(out);
            if (!out.every((c) => c >= 0 && c <= 1))
              assert.fail(`${name}: shares ${out.join(' ')}`);
          }
          const restored = restoreVectorDetector(roundTrip(d.snapshot()));
          const s = restored.update(
            2e6,
            Float64Array.from({ length: D }, (_, j) => shape(3, j)),
          );
          assert.ok(s >= 0 && s <= 1, `${name} restored: ${s}`);
        }
      });
    });
  }
}

describe('training', () => {
  for (const factory of Object.values(vectorDetectorFactories) as VectorDetectorFactory[]) {
    test(`${factory.kind}: train() extends the baseline past training_points; learn() then follows adapt`, () => {
      const params = factory.paramsSchema.parse(withTrainingPoints(factory.kind, 100));
      const trained = factory.create(params, D, 1);
      const learned = factory.create(params, D, 1);
      assert.ok(isTrainable(trained));
      for (let i = 0; i < 600; i++) {
        trained.train(times[i] as number, rows[i]!);
        learned.learn(times[i] as number, rows[i]!);
      }
      const count = (d: VectorDetector): number => (isTrainable(d) ? d.trainedVectors : -1);
      assert.equal(count(trained), 600, 'train() learns the whole training period');
      assert.equal(count(learned), 100, 'frozen learn() stops after training_points');
      // The longer baseline explains normal data at least as well.
      const probe = (d: VectorDetector): number =>
        run(d, STREAM.clean, 600, 1400).scores.filter((s) => s >= 0.5).length;
      assert.ok(probe(trained) <= probe(learned) + 1);
    });
  }
});
