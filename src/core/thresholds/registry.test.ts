import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createThreshold,
  getThresholdFactory,
  restoreThreshold,
  thresholdFactories,
  UnknownThresholdError,
} from './registry.js';
import { DynamicThreshold } from './dynamic.js';

test('every kind: defaults parse, create, snapshot, restore through JSON', () => {
  for (const [kind, factory] of Object.entries(thresholdFactories)) {
    assert.equal(factory.kind, kind);
    assert.ok(factory.description.length > 0);
    const t = createThreshold(kind, undefined);
    assert.equal(t.kind, kind);
    for (let i = 0; i < 500; i++) t.classify(i * 1000, (i % 17) / 20);
    const restored = restoreThreshold(JSON.parse(JSON.stringify(t.snapshot())));
    assert.deepEqual(restored.snapshot(), t.snapshot());
  }
});

test('unknown kinds and bad params are reported clearly', () => {
  assert.throws(
    () => getThresholdFactory('nope'),
    (e: unknown) => {
      assert.ok(e instanceof UnknownThresholdError);
      assert.match(e.message, /unknown threshold kind 'nope'.*static.*dynamic/);
      assert.equal(e.code, 'VIGIL_ERR_STRATEGY_INVALID');
      return true;
    },
  );
  assert.throws(() => getThresholdFactory('toString'), UnknownThresholdError);
  assert.throws(() => createThreshold('dynamic', { window: 'big' }), {
    code: 'VIGIL_ERR_STRATEGY_INVALID',
    message: /threshold 'dynamic'.*window/s,
  });
  assert.throws(() => createThreshold('static', { alert: 0.9, severe: 0.5 }), /severe/);
  assert.throws(() => restoreThreshold({ kind: 'static', params: { alert: 2 }, state: null }), {
    code: 'VIGIL_ERR_STORE_INVALID',
    message: /invalid 'static' snapshot params/,
  });
});

test('series of one strategy share a single frozen params object', () => {
  const raw = { window: 500 };
  const a = createThreshold('dynamic', raw) as DynamicThreshold;
  const b = createThreshold('dynamic', { window: 500 }) as DynamicThreshold;
  assert.equal(a.params, b.params);
  assert.ok(Object.isFrozen(a.params));
  assert.equal(a.params.window, 500);
  assert.notEqual((createThreshold('dynamic', {}) as DynamicThreshold).params, a.params);
});
