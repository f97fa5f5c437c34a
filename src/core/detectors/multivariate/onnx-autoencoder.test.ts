import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { makeMachineRun } from '../../../eval/multivariate/machines.js';
import { writeTestVectorModel } from '../../../models/vector-model-fixture.js';
import { TINY_AUTOENCODER } from '../../../serving/test-models.js';
import { compileDeviceStrategy, restoreDevicePipeline } from '../../strategy/compile.js';
import { parseStrategy } from '../../strategy/parse.js';
import type { VectorDetector } from '../vector-detector.js';
import { isTrainable } from './trainable.js';
import { createVectorDetector, restoreVectorDetector } from './vector-registry.js';

/**
 * The `onnx` detector: model lookup by name in the model directory with clear errors, the
 * training period's calibration, blame, hot reload through build/restore, and the pipeline.
 */

const RUN = makeMachineRun({
  kind: 'pump',
  seed: 5,
  length: 1200,
  fault: { kind: 'blockage', start: 700, end: 1000 },
});
const D = RUN.metrics.length;
// The models learn every normal row (all before the fault): an autoencoder trained on fewer
// rows than the operating modes need reconstructs later normal rows badly (docs/multivariate.md).
const NORMAL = RUN.values.slice(0, 700);
const DIR = writeTestVectorModel('pump', NORMAL, 4);
writeTestVectorModel('pump-other', NORMAL, 4, { dir: DIR, seed: 2 });
copyFileSync(TINY_AUTOENCODER, path.join(DIR, 'tiny.onnx'));

function scores(d: VectorDetector, from = 0, to = RUN.values.length): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i++) out.push(d.update(RUN.times[i] as number, RUN.values[i]!));
  return out;
}

describe('onnx: the model by name', () => {
  test('an unknown model names the directory and the models in it', () => {
    assert.throws(() => createVectorDetector('onnx', { model: 'pmup' }, D, 1), {
      code: 'VIGIL_ERR_MODEL_NOT_FOUND',
      message:
        /unknown model "pmup": no pmup\.onnx in the model directory .*models there: pump, pump-other, tiny/,
    });
  });

  test('a path instead of a name, and a missing name, are invalid params', () => {
    assert.throws(() => createVectorDetector('onnx', { model: '../pump' }, D, 1), {
      code: 'VIGIL_ERR_STRATEGY_INVALID',
      message: /a file name without \.onnx/,
    });
    assert.throws(() => createVectorDetector('onnx', {}, D, 1), /model/);
  });

  test('a model of another metric count, or a width that does not fit the device, is refused', () => {
    assert.throws(() => createVectorDetector('onnx', { model: 'pump' }, D - 1, 1), {
      code: 'VIGIL_ERR_STRATEGY_INVALID',
      message: new RegExp(
        `"pump" was trained on vectors of ${D} metrics, but the device has ${D - 1}`,
      ),
    });
    // The window autoencoder of one series takes rows of 8 values and declares a window of 8.
    assert.throws(() => createVectorDetector('onnx', { model: 'tiny' }, 3, 1), {
      code: 'VIGIL_ERR_STRATEGY_INVALID',
      message: /"tiny" takes rows of 8 values, which is not a window of 8 vectors × 3 metrics/,
    });
    assert.throws(() => createVectorDetector('onnx', { model: 'pump', window: 3 }, D, 1), {
      message: new RegExp(`takes rows of ${4 * D} values, which is not a window of 3 vectors`),
    });
    // Declared window and metric count agree: 8 = 8 × 1.
    assert.equal(createVectorDetector('onnx', { model: 'tiny' }, 1, 1).dimensions, 1);
  });
});

describe('onnx: scoring', () => {
  test('0 during its own training period, calibrated after it, the fault scored high', () => {
    const d = createVectorDetector('onnx', { model: 'pump', training_points: 400 }, D, 1);
    const s = scores(d);
    assert.ok(s.slice(0, 400).every((x) => x === 0));
    assert.ok(s[400]! > 0);
    const normal = s.slice(400, 700).filter((x) => x >= 0.5).length;
    const faulty = s.slice(700, 1000).filter((x) => x >= 0.5).length;
    assert.ok(faulty > 5 * normal && faulty > 50, `normal ${normal}, faulty ${faulty}`);
  });

  test('the blame names a metric the fault moves', () => {
    const d = createVectorDetector('onnx', { model: 'pump', training_points: 400 }, D, 1);
    scores(d, 0, 700);
    const shares = new Float64Array(D);
    const blamed = new Map<string, number>();
    for (let i = 700; i < 1000; i++) {
      if (d.update(RUN.times[i] as number, RUN.values[i]!) < 0.5) continue;
      d.contributions(shares);
      const top = RUN.metrics[shares.indexOf(Math.max(...shares))]!;
      blamed.set(top, (blamed.get(top) ?? 0) + 1);
    }
    const right = RUN.blame.reduce((n, m) => n + (blamed.get(m) ?? 0), 0);
    const all = [...blamed.values()].reduce((a, b) => a + b, 0);
    assert.ok(right > 0.8 * all, `blamed ${JSON.stringify([...blamed])}, to blame ${RUN.blame}`);
  });

  test('closeTraining calibrates on the pipeline period and refuses one too short', () => {
    const d = createVectorDetector('onnx', { model: 'pump' }, D, 1);
    assert.ok(isTrainable(d));
    for (let i = 0; i < 10; i++) d.train(RUN.times[i] as number, RUN.values[i]!);
    assert.throws(() => d.closeTraining(), /needs at least 23 training vectors, got 10/);
    for (let i = 10; i < 600; i++) d.train(RUN.times[i] as number, RUN.values[i]!);
    const held = d.closeTraining();
    assert.equal(held.length, 600 - 3, 'one score per complete training window');
    assert.ok(d.trainingClosed);
    assert.ok(d.update(RUN.times[600] as number, RUN.values[600]!) > 0);
  });
});

describe('onnx: hot reload', () => {
  test('a restore with the same file continues; with a changed file it calibrates again', () => {
    const d = createVectorDetector('onnx', { model: 'pump', training_points: 400 }, D, 1);
    const before = scores(d, 0, 500);
    const snap = JSON.parse(JSON.stringify(d.snapshot())) as ReturnType<VectorDetector['snapshot']>;
    const same = scores(restoreVectorDetector(snap), 500, 520);
    assert.deepEqual(same, scores(d, 500, 520));
    assert.ok(before.at(-1)! > 0);
    // Replace the file under the same name (another model), as a deployment would.
    copyFileSync(path.join(DIR, 'pump-other.onnx'), path.join(DIR, 'pump.onnx'));
    utimesSync(path.join(DIR, 'pump.onnx'), new Date(), new Date(Date.now() + 5000));
    try {
      const reloaded = restoreVectorDetector(snap);
      assert.ok(isTrainable(reloaded));
      assert.equal(reloaded.trainedVectors, 0, 'the old calibration is dropped');
      const again = scores(reloaded, 500, 1000);
      assert.ok(
        again.slice(0, 400).every((x) => x === 0),
        'a new training period',
      );
      assert.ok(again[400]! > 0);
      const fresh = createVectorDetector('onnx', { model: 'pump' }, D, 1).snapshot();
      assert.notEqual(
        (fresh.state as { model_sha256: string }).model_sha256,
        (snap.state as { model_sha256: string }).model_sha256,
        'a new build uses the new file',
      );
    } finally {
      writeTestVectorModel('pump', NORMAL, 4, { dir: DIR });
      utimesSync(path.join(DIR, 'pump.onnx'), new Date(), new Date(Date.now() + 10_000));
    }
  });
});

describe('onnx in a strategy', () => {
  const strategy = (detector: string) =>
    parseStrategy(`
name: onnx-test
version: 1
description: an autoencoder from the model directory
detector: ${detector}
threshold:
  kind: static
training:
  rows: 400
`);

  test('scores from the first row after the training period and raises an explained event', () => {
    const s = strategy('{ kind: onnx, params: { model: pump } }');
    const p = compileDeviceStrategy(s, RUN.metrics)('pump-1');
    const out: number[] = [];
    let explained = false;
    RUN.values.forEach((row, i) => {
      out.push(p.process(RUN.times[i] as number, row));
      const e = p.lastEventChange?.event.explanation;
      if (e && i >= 700) {
        assert.equal(e.detectors[0]!.name, 'onnx');
        explained = true;
      }
    });
    assert.ok(out.slice(0, 400).every((x) => x === 0));
    assert.ok(out[400]! > 0, `row 400 scores ${out[400]}`);
    assert.ok(explained, 'an event with an explanation during the fault');
    // A snapshot taken mid-run continues the same scores.
    const q = compileDeviceStrategy(s, RUN.metrics)('pump-1');
    for (let i = 0; i < 800; i++) q.process(RUN.times[i] as number, RUN.values[i]!);
    const restored = restoreDevicePipeline(s, JSON.parse(JSON.stringify(q.snapshot())));
    for (let i = 800; i < 900; i++) {
      assert.equal(restored.process(RUN.times[i] as number, RUN.values[i]!), out[i]);
    }
  });

  test('vector-ensemble with the onnx detector lists both parts in the explanation', () => {
    const s = strategy(
      '{ kind: vector-ensemble, params: { univariate: { kind: ewzscore }, vector: { kind: onnx, params: { model: pump } } } }',
    );
    const p = compileDeviceStrategy(s, RUN.metrics)('pump-1');
    const names = new Set<string>();
    RUN.values.forEach((row, i) => {
      p.process(RUN.times[i] as number, row);
      for (const d of p.lastEventChange?.event.explanation?.detectors ?? []) names.add(d.name);
    });
    assert.ok(names.has('vector-ensemble'), [...names].join(', '));
    assert.ok(names.has('vector-ensemble/onnx'), [...names].join(', '));
    const metricParts = [...names].filter((n) => n.startsWith('vector-ensemble/ewzscore@'));
    assert.ok(metricParts.length > 0, [...names].join(', '));
    assert.ok(
      metricParts.every((n) => RUN.metrics.includes(n.split('@')[1]!)),
      'the univariate part names a metric of the device',
    );
  });

  test('a bad part kind is reported at its path', () => {
    assert.throws(
      () => strategy('{ kind: vector-ensemble, params: { vector: { kind: ewzscore } } }'),
      /vector\.kind.*unknown vector detector kind 'ewzscore'/s,
    );
    assert.throws(
      () =>
        strategy(
          '{ kind: vector-ensemble, params: { univariate: { kind: ewzscore, params: { alpha: 7 } } } }',
        ),
      /univariate\.params\.alpha/,
    );
  });
});
