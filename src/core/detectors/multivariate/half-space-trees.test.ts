import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeIotSeries, IOT_METRICS } from './synthetic-iot.js';
import { isTrainable } from './trainable.js';
import { createVectorDetector, restoreVectorDetector } from './vector-registry.js';
import type { VectorDetector } from '../vector-detector.js';

/** What the conformance suite does not reach: the closed training period, seeds, blame. */

const S = makeIotSeries({ seed: 11, fault: 'stuck', length: 1800, start: 1500 });
const D = IOT_METRICS.length;
const TRAIN = 1000;

function trained(params: Record<string, unknown> = {}, seed = 3): VectorDetector {
  const d = createVectorDetector('vector-hst', params, D, seed);
  assert.ok(isTrainable(d));
  for (let i = 0; i < TRAIN; i++) d.train(S.times[i] as number, S.values[i]!);
  const held = d.closeTraining();
  assert.ok(held.length > 0 && held.every((s) => s > 0 && s < 1), 'held-out scores in (0, 1)');
  assert.ok(d.trainingClosed);
  return d;
}

const scores = (d: VectorDetector, from: number): number[] =>
  S.values.slice(from).map((row, k) => d.update(S.times[from + k] as number, row));

describe('vector-hst', () => {
  test('a closed training period round-trips through JSON exactly, frozen and ewma', () => {
    for (const params of [{}, { adapt: 'ewma', alpha: 0.004, refit_every: 5 }]) {
      const cut = TRAIN + 123;
      const a = createVectorDetector('vector-hst', params, D, 3);
      if (!isTrainable(a)) assert.fail('not trainable');
      for (let i = 0; i < TRAIN; i++) a.train(S.times[i] as number, S.values[i]!);
      a.closeTraining();
      for (let i = TRAIN; i < cut; i++) a.update(S.times[i] as number, S.values[i]!);
      const restored = restoreVectorDetector(JSON.parse(JSON.stringify(a.snapshot())));
      assert.deepEqual(scores(restored, cut), scores(a, cut), JSON.stringify(params));
      assert.equal(JSON.stringify(restored.snapshot()), JSON.stringify(a.snapshot()));
    }
  });

  test('the seed draws the trees: same seed same scores, another seed other scores', () => {
    const one = scores(trained({}, 3), TRAIN);
    assert.deepEqual(scores(trained({}, 3), TRAIN), one);
    assert.notDeepEqual(scores(trained({}, 4), TRAIN), one);
  });

  test('closing too short a training period names the detector and the count', () => {
    const d = createVectorDetector('vector-hst', {}, D, 1);
    if (!isTrainable(d)) assert.fail('not trainable');
    for (let i = 0; i < 5; i++) d.train(S.times[i] as number, S.values[i]!);
    assert.throws(() => d.closeTraining(), {
      code: 'VIGIL_ERR_STRATEGY_INVALID',
      message: /vector-hst.*at least 16.*got 5/,
    });
  });

  test('a stuck sensor is flagged and blamed on the stuck metric', () => {
    const d = trained();
    const out = new Float64Array(D);
    const faulty = S.faulty.map((m) => IOT_METRICS.indexOf(m));
    let alarms = 0;
    let named = 0;
    for (let i = TRAIN; i < S.values.length; i++) {
      const s = d.update(S.times[i] as number, S.values[i]!);
      d.contributions(out);
      if (i >= S.start && s >= 0.5) {
        alarms++;
        if (faulty.includes(out.indexOf(Math.max(...out)))) named++;
      }
    }
    assert.ok(alarms > 0, 'the stuck sensor is flagged');
    assert.ok(named >= 0.9 * alarms, `the stuck metric is on top at ${named} of ${alarms} alarms`);
  });

  test('without whitening the trees split the raw metrics, and still explain', () => {
    const d = trained({ whiten: false });
    const out = new Float64Array(D);
    d.score(
      0,
      Float64Array.from(S.values[1700]!, (v, j) => (j === 0 ? v * 50 : v)),
    );
    d.contributions(out);
    assert.equal(out.indexOf(Math.max(...out)), 0, `shares ${out.join(' ')}`);
  });
});
