import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extremeValueFactory, extremeValueParamsSchema } from './extreme-value.js';
import { makeSyntheticSeries } from './synthetic.js';

const series = makeSyntheticSeries({ seed: 5, anomaly: 'level-shift', stepMs: 300_000 });
const roundTrip = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

test('the level-shift CUSUM is snapshotted and continues with the very same scores', () => {
  const d = extremeValueFactory.create(extremeValueParamsSchema.parse({}), 1);
  const cut = Math.floor(series.times.length / 2);
  for (let i = 0; i < cut; i++) d.update(series.times[i]!, series.values[i]!);
  const snap = roundTrip(d.snapshot());
  assert.ok((snap.state as { cusum?: unknown }).cusum, 'the snapshot carries the CUSUM');
  const restored = extremeValueFactory.restore(snap);
  for (let i = cut; i < series.times.length; i++) {
    const t = series.times[i]!;
    const v = series.values[i]!;
    assert.equal(restored.update(t, v), d.update(t, v), `point ${i}`);
  }
});

test('a snapshot from before the CUSUM (no cusum_k) restores without it', () => {
  const off = extremeValueFactory.create(extremeValueParamsSchema.parse({ cusum_k: 0 }), 1);
  const cut = Math.floor(series.times.length / 2);
  for (let i = 0; i < cut; i++) off.update(series.times[i]!, series.values[i]!);
  const snap = roundTrip(off.snapshot());
  const params = { ...(snap.params as Record<string, unknown>) };
  for (const key of Object.keys(params)) if (key.startsWith('cusum_')) delete params[key];
  const restored = extremeValueFactory.restore({ ...snap, params });
  assert.equal((restored.snapshot().params as { cusum_k: number }).cusum_k, 0);
  for (let i = cut; i < series.times.length; i++) {
    const t = series.times[i]!;
    const v = series.values[i]!;
    assert.equal(restored.update(t, v), off.update(t, v), `point ${i}`);
  }
});

test('the CUSUM adds 9 float64 and cusum_tail_size float32 slots of state, nothing when off', () => {
  const on = extremeValueFactory.create(extremeValueParamsSchema.parse({}), 1);
  const off = extremeValueFactory.create(extremeValueParamsSchema.parse({ cusum_k: 0 }), 1);
  const bytes = (d: unknown): number =>
    ((d as { store: Float64Array }).store.buffer as ArrayBuffer).byteLength;
  assert.equal(bytes(on) - bytes(off), 9 * 8 + 30 * 4);
});
