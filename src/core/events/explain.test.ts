import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { canExplain } from '../detectors/explanation.js';
import { createDetector } from '../detectors/registry.js';
import { explainPoint, explainVector } from './explain.js';

describe('event explanations', () => {
  test('explainPoint: one metric, evidence named <kind>/<piece>', () => {
    const d = createDetector('ewzscore', {}, 0);
    for (let i = 0; i < 100; i++) d.update(i, i % 2);
    const score = d.score(100, 9);
    const e = explainPoint(d, 'temperature', 100, 9, score);
    assert.equal(e.metrics.length, 1);
    assert.equal(e.metrics[0]?.name, 'temperature');
    assert.equal(e.metrics[0]?.share, 1);
    assert.equal(e.metrics[0]?.observed, 9);
    assert.ok(e.metrics[0]?.band && e.metrics[0].expected !== undefined);
    assert.deepEqual(e.detectors, [{ name: 'ewzscore/zscore', score }]);
  });

  test('explainPoint: a detector that cannot explain is named with its score', () => {
    const d = createDetector('rolling-zscore', {}, 0);
    assert.equal(canExplain(d), false);
    const e = explainPoint(d, 'rpm', 0, 5, 0.25);
    assert.deepEqual(e, {
      metrics: [{ name: 'rpm', share: 1, observed: 5 }],
      detectors: [{ name: 'rolling-zscore', score: 0.25 }],
    });
  });

  test('explainVector: metrics by share, strongest first', () => {
    const e = explainVector('pca', ['a', 'b', 'c'], [1, 2, 3], [0.2, 0.7, 0.1], 0.8);
    assert.deepEqual(
      e.metrics.map((m) => [m.name, m.share, m.observed]),
      [
        ['b', 0.7, 2],
        ['a', 0.2, 1],
        ['c', 0.1, 3],
      ],
    );
    assert.deepEqual(e.detectors, [{ name: 'pca', score: 0.8 }]);
    assert.throws(() => explainVector('pca', ['a'], [1, 2], [1], 0.5));
  });
});
