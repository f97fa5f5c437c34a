import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeMachineRun } from '../../eval/multivariate/machines.js';
import { DynamicThreshold, dynamicParamsSchema } from '../thresholds/dynamic.js';
import { createVectorDetector } from '../detectors/multivariate/vector-registry.js';
import { isTrainable } from '../detectors/multivariate/trainable.js';
import { compileDeviceStrategy, restoreDevicePipeline, withTrainingRows } from './compile.js';
import { parseStrategy } from './parse.js';

/**
 * One training period governs a vector strategy: the detector's warm-up ends with it (not at its
 * own `training_points`), its boundary and the threshold are calibrated on the period's held-out
 * scores, and a period too short for the detector is refused.
 */

const RUN = makeMachineRun({
  kind: 'pump',
  seed: 3,
  length: 1200,
  fault: { kind: 'blockage', start: 700, end: 1000 },
});

const strategy = (kind: string, threshold: string, training: string) =>
  parseStrategy(`
name: trained
version: 1
description: vector strategy with a training period
detector:
  kind: ${kind}
  # PCA keeps enough components for its Q to see a broken relation (docs/multivariate.md).
  params: ${kind === 'pca' ? '{ explained_variance: 0.999 }' : '{}'}
threshold:
  kind: ${threshold}
training: ${training}
`);

function replay(
  pipelineFor: (key: string) => ReturnType<ReturnType<typeof compileDeviceStrategy>>,
) {
  const p = pipelineFor('pump-1');
  const scores = RUN.values.map((row, i) => p.process(RUN.times[i] as number, row));
  return { p, scores };
}

describe('a vector strategy with a training period', () => {
  for (const kind of ['hotelling', 'pca']) {
    for (const threshold of ['static', 'dynamic']) {
      it(`${kind}/${threshold}: scores from the first row after 400 training rows (training_points is 1000)`, () => {
        const { scores } = replay(
          compileDeviceStrategy(strategy(kind, threshold, '{ rows: 400 }'), RUN.metrics),
        );
        assert.ok(
          scores.slice(0, 400).every((s) => s === 0),
          'training rows score 0',
        );
        assert.ok(scores[400]! > 0, `row 400 scores ${scores[400]}`);
        const faulty = scores.slice(RUN.start, RUN.end).filter((s) => s >= 0.5).length;
        assert.ok(faulty > 0.5 * (RUN.end - RUN.start), `${faulty} faulty rows scored ≥ 0.5`);
      });
    }
  }

  it('the calibration and the closed period survive a snapshot taken at any row', () => {
    const compiled = compileDeviceStrategy(
      strategy('hotelling', 'dynamic', '{ rows: 400 }'),
      RUN.metrics,
    );
    const { scores } = replay(compiled);
    for (const cut of [399, 400, 401, 800]) {
      const p = compiled('pump-1');
      for (let i = 0; i < cut; i++) p.process(RUN.times[i] as number, RUN.values[i]!);
      const snap = JSON.parse(JSON.stringify(p.snapshot())) as ReturnType<typeof p.snapshot>;
      const restored = restoreDevicePipeline(
        strategy('hotelling', 'dynamic', '{ rows: 400 }'),
        snap,
      );
      for (let i = cut; i < RUN.values.length; i++) {
        const s = restored.process(RUN.times[i] as number, RUN.values[i]!);
        if (s !== scores[i]) assert.fail(`cut ${cut}: row ${i} scores ${s}, expected ${scores[i]}`);
      }
    }
  });

  it('a training period of rows shorter than d + 2 is refused when compiled', () => {
    assert.throws(
      () => compileDeviceStrategy(strategy('pca', 'static', '{ rows: 5 }'), RUN.metrics),
      {
        code: 'VIGIL_ERR_STRATEGY_INVALID',
        message:
          /training period of 5 rows is too short for detector 'pca' on 8 metrics.*at least 10 \(d \+ 2\)/,
      },
    );
    const cli = withTrainingRows(strategy('pca', 'static', '{ rows: 500 }'), 3);
    assert.deepEqual(cli.training, { rows: 3 });
    assert.throws(() => compileDeviceStrategy(cli, RUN.metrics), /3 rows is too short/);
  });

  it('a period that gave too few usable vectors is refused when it closes', () => {
    const d = createVectorDetector('hotelling', {}, RUN.metrics.length, 1);
    assert.ok(isTrainable(d));
    for (let i = 0; i < 4; i++) d.train(RUN.times[i] as number, RUN.values[i]!);
    assert.throws(() => d.closeTraining(), {
      code: 'VIGIL_ERR_STRATEGY_INVALID',
      message:
        /'hotelling' on 8 metrics needs a training period of at least 10 usable vectors \(d \+ 2\); it got 4/,
    });
  });

  it('a period that gave fewer vectors than the minimum goes on until it has them (no failure)', () => {
    // `until` passed before the device's first point: no vector trained in the period.
    const late = strategy('hotelling', 'static', "{ until: '2023-06-01' }");
    const { scores } = replay(compileDeviceStrategy(late, RUN.metrics));
    const minimum = RUN.metrics.length + 2;
    assert.ok(
      scores.slice(0, minimum).every((s) => s === 0),
      'the minimum is trained',
    );
    assert.ok(scores[minimum]! > 0, `row ${minimum} scores ${scores[minimum]}`);
  });

  it('without a training period the detector keeps its own warm-up (training_points)', () => {
    const plain = parseStrategy(`
name: plain
version: 1
description: no training period
detector:
  kind: hotelling
  params: { training_points: 600 }
threshold:
  kind: static
`);
    const { scores } = replay(compileDeviceStrategy(plain, RUN.metrics));
    assert.ok(scores.slice(0, 600).every((s) => s === 0));
    assert.ok(scores[600]! > 0);
  });
});

describe('dynamic threshold calibration', () => {
  it('takes the training scores as its quantiles at once, never below the floors', () => {
    const t = new DynamicThreshold(dynamicParamsSchema.parse({}));
    assert.equal(t.state, 'warmup');
    const scores = Float64Array.from({ length: 400 }, (_, i) => (i < 396 ? 0.3 : 0.7));
    t.calibrate(scores);
    assert.equal(t.state, 'stable');
    assert.ok(t.alertThreshold > 0.5, `alert at ${t.alertThreshold}`);
    const low = new DynamicThreshold(dynamicParamsSchema.parse({}));
    low.calibrate(new Float64Array(400).fill(0.1));
    assert.equal(low.alertThreshold, 0.5);
    const few = new DynamicThreshold(dynamicParamsSchema.parse({}));
    few.calibrate(new Float64Array(10).fill(0.9));
    assert.equal(few.state, 'warmup', 'too few scores change nothing');
  });
});
