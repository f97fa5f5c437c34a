import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StaticThreshold, staticParamsSchema } from './static.js';
import { restoreThreshold } from './registry.js';

test('static: the boundaries are inclusive; NaN is ok', () => {
  const t = new StaticThreshold(staticParamsSchema.parse({}));
  const levels = [0, 0.4999, 0.5, 0.7999, 0.8, 1, NaN].map((s) => t.classify(0, s));
  assert.deepEqual(levels, ['ok', 'ok', 'alert', 'alert', 'severe', 'severe', 'ok']);
});

test('static: params are validated, severe below alert is refused', () => {
  assert.deepEqual(staticParamsSchema.parse({}), { alert: 0.5, severe: 0.8 });
  assert.equal(staticParamsSchema.safeParse({ alert: 0.9, severe: 0.8 }).success, false);
  assert.equal(staticParamsSchema.safeParse({ alert: 0.5, extra: 1 }).success, false);
});

test('static: snapshot round trip', () => {
  const t = new StaticThreshold(staticParamsSchema.parse({ alert: 0.6, severe: 0.9 }));
  const restored = restoreThreshold(JSON.parse(JSON.stringify(t.snapshot())));
  assert.deepEqual(restored.snapshot(), t.snapshot());
  assert.equal(restored.classify(0, 0.65), 'alert');
  assert.equal(restored.classify(0, 0.95), 'severe');
});
