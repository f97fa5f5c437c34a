import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { VectorDetector } from '../vector-detector.js';
import {
  IOT_DEFAULTS,
  IOT_FAULTS,
  IOT_METRICS,
  makeIotSeries,
  range,
  type IotFault,
  type IotSeries,
} from './synthetic-iot.js';
import { isTrainable } from './trainable.js';
import { createVectorDetector, vectorDetectorFactories } from './vector-registry.js';

/**
 * What the vector detectors are for, on the synthetic pump (synthetic-iot.ts): trained on the
 * first three clean days, each must catch every fault — a correlation break with every metric in
 * range, a stuck sensor, a drifting sensor — with the faulty metric on top of the explanation,
 * and stay quiet on the clean twins. Numbers are in docs/multivariate.md.
 */

const TRAIN = IOT_DEFAULTS.training;
const SEEDS = [101, 202, 303];
/** Points after the fault's end that still count as catching it. */
const GRACE = 12;

interface Outcome {
  readonly scores: Float64Array;
  /** Index of the top metric after each scored point (-1 when the score was 0). */
  readonly top: Int8Array;
}

function detect(d: VectorDetector, s: IotSeries, data: readonly Float64Array[]): Outcome {
  const scores = new Float64Array(data.length);
  const top = new Int8Array(data.length).fill(-1);
  const out = new Float64Array(d.dimensions);
  data.forEach((row, i) => {
    const t = s.times[i] as number;
    if (i < TRAIN) {
      if (isTrainable(d)) d.train(t, row);
      else d.learn(t, row);
      return;
    }
    scores[i] = d.update(t, row);
    d.contributions(out);
    if (scores[i]! > 0) top[i] = out.indexOf(Math.max(...out));
  });
  return { scores, top };
}

const series = (seed: number, fault: IotFault): IotSeries =>
  makeIotSeries({ seed: seed + IOT_FAULTS.indexOf(fault), fault });

test('the correlation break keeps every metric within its normal (training) range', () => {
  for (const seed of SEEDS) {
    const s = series(seed, 'correlation-break');
    IOT_METRICS.forEach((metric, j) => {
      const [lo, hi] = range(s.clean, j, TRAIN);
      for (let i = s.start; i < s.end; i++) {
        const v = s.values[i]![j] as number;
        assert.ok(v >= lo && v <= hi, `${metric} = ${v} outside [${lo}, ${hi}] at ${i}`);
      }
    });
  }
});

/**
 * `vector-hst` is not held to these bars: its density tail false-alarms at ~2e-3 per clean point
 * and one correlation break peaks below 0.5 (its figures: docs/multivariate.md, "vector-hst").
 */
const BELOW_THE_BAR = new Set(['vector-hst']);
/**
 * Not run here: `onnx` needs a model trained per series, and `vector-ensemble`'s params are its
 * parts' (no `adapt` of its own); onnx-autoencoder.test.ts and the conformance suite cover them,
 * their quality figures are in docs/multivariate.md (`npm run eval:multivariate`).
 */
const OWN_TESTS = new Set(['onnx', 'vector-ensemble']);

for (const kind of Object.keys(vectorDetectorFactories).filter(
  (k) => !BELOW_THE_BAR.has(k) && !OWN_TESTS.has(k),
)) {
  describe(`quality: ${kind}`, () => {
    const fresh = (params: Record<string, unknown> = {}) =>
      createVectorDetector(kind, params, IOT_METRICS.length, 7);

    for (const fault of IOT_FAULTS) {
      test(`catches the ${fault} and names the faulty metric`, () => {
        for (const seed of SEEDS) {
          const s = series(seed, fault);
          const { scores, top } = detect(fresh(), s, s.values);
          const to = Math.min(scores.length, s.end + GRACE);
          const window = Array.from(scores.subarray(s.start, to));
          const peak = Math.max(...window);
          assert.ok(peak >= 0.5, `seed ${seed}: peak ${peak.toFixed(3)} during the ${fault}`);
          const faulty = s.faulty.map((m) => IOT_METRICS.indexOf(m));
          const alarms = window.flatMap((x, k) => (x >= 0.5 ? [s.start + k] : []));
          const named = alarms.filter((i) => faulty.includes(top[i]!)).length;
          assert.ok(
            named >= 0.95 * alarms.length,
            `seed ${seed}: the faulty metric is on top at ${named} of ${alarms.length} alarms`,
          );
          const peakAt = s.start + window.indexOf(peak);
          assert.ok(faulty.includes(top[peakAt]!), `seed ${seed}: top metric at the peak`);
        }
      });
    }

    test('quiet on the clean twins (at most 1e-4 alarms per point after training)', () => {
      let points = 0;
      let alarms = 0;
      for (const seed of SEEDS) {
        for (const fault of IOT_FAULTS) {
          const s = series(seed, fault);
          const { scores } = detect(fresh(), s, s.clean);
          points += scores.length - TRAIN;
          alarms += scores.filter((x) => x >= 0.5).length;
        }
      }
      assert.ok(alarms <= 1e-4 * points, `${alarms} alarms in ${points} clean points`);
    });

    test('frozen (the default) keeps flagging a drift that ewma learns as normal', () => {
      const s = series(SEEDS[0]!, 'drift');
      const flagged = (params: Record<string, unknown>) =>
        detect(fresh(params), s, s.values)
          .scores.subarray(s.start)
          .filter((x) => x >= 0.5).length;
      const frozen = flagged({});
      const adapting = flagged({ adapt: 'ewma', alpha: 0.001 });
      const drifted = s.end - s.start;
      assert.ok(frozen > 0.6 * drifted, `frozen flags ${frozen} of ${drifted} drifted points`);
      assert.ok(adapting < 0.1 * drifted, `ewma flags ${adapting} of ${drifted} drifted points`);
    });
  });
}
