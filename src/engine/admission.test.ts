import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { VigilError } from '../errors.js';
import { Admission } from './admission.js';
import { BackpressureError, type IngestPoint } from './engine.js';
import { engineMetrics } from './metrics.js';
import { DEFAULT_LIMITS } from './validate.js';

const BASE = Date.UTC(2025, 0, 1);
const points = (n: number): IngestPoint[] =>
  Array.from({ length: n }, (_, i) => ({
    timestamp: BASE + i,
    device_id: 'd',
    metrics: { v: i },
  }));

describe('admission', () => {
  it('refuses a batch past the queue limit with a coded BackpressureError and counts it', async () => {
    const registry = new Registry();
    let unscored = 0;
    const admission = new Admission({
      limits: DEFAULT_LIMITS,
      queueLimit: 10,
      metrics: engineMetrics(registry),
      unscored: () => unscored,
      storeRate: () => 1000,
      append: () => Promise.resolve(),
    });
    assert.deepEqual(await admission.ingest(points(8), 'http'), { accepted: 8, errors: [] });
    assert.equal(admission.queued(), 8);
    const refused = await admission.ingest(points(3), 'http').then(
      () => assert.fail('accepted past the limit'),
      (error: unknown) => error,
    );
    assert.ok(refused instanceof BackpressureError);
    assert.ok(refused instanceof VigilError);
    assert.equal(refused.code, 'VIGIL_ERR_BACKPRESSURE');
    // One point over the limit at 1,000 rows/s: the 10 ms floor.
    assert.equal(refused.retryAfterMs, 10);
    admission.stored(8);
    unscored = 9;
    assert.equal(admission.queued(), 9, 'the longer of the store and scoring queues');
    const bad = [{ timestamp: BASE, device_id: 'd', metrics: { v: Number.NaN } }];
    assert.equal((await admission.ingest(bad, 'grpc')).accepted, 0);
    assert.deepEqual(admission.stats(), { accepted: 8, rejected: 3, stored: 8 });
    const text = await registry.metrics();
    assert.match(text, /vigil_ingest_points_total\{protocol="http",result="accepted"\} 8/);
    assert.match(text, /vigil_ingest_points_total\{protocol="http",result="backpressure"\} 3/);
    assert.match(text, /vigil_ingest_points_total\{protocol="grpc",result="rejected"\} 1/);
  });

  it('calls onQueued before the append is durable, and refuses ingest once closed', async () => {
    let durable: () => void = () => undefined;
    const admission = new Admission({
      limits: DEFAULT_LIMITS,
      queueLimit: 100,
      metrics: undefined,
      unscored: () => 0,
      storeRate: () => 1000,
      append: () => new Promise<void>((resolve) => (durable = resolve)),
    });
    let queued = false;
    const result = admission.ingest(points(2), 'http', () => (queued = true));
    assert.equal(queued, true);
    durable();
    assert.equal((await result).accepted, 2);
    admission.close();
    await assert.rejects(admission.ingest(points(1), 'http'), { code: 'VIGIL_ERR_NOT_READY' });
  });
});
