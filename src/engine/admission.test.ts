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
    admission.stored(8, 8, admission.queuedBytes());
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

  it('counts values, not points: points of 1,000 metrics are refused once the value limit is reached', async () => {
    const registry = new Registry();
    const wide = (n: number, from = 0): IngestPoint[] =>
      Array.from({ length: n }, (_, i) => ({
        timestamp: BASE + from + i,
        device_id: 'd',
        metrics: Object.fromEntries(Array.from({ length: 1000 }, (_, m) => [`m${m}`, m])),
      }));
    const admission = new Admission({
      limits: DEFAULT_LIMITS,
      queueLimit: 5000,
      metrics: engineMetrics(registry),
      unscored: () => 0,
      storeRate: () => 1000,
      append: () => Promise.resolve(),
    });
    assert.equal((await admission.ingest(wide(3), 'http')).accepted, 3);
    assert.equal(admission.queued(), 3000);
    assert.equal((await admission.ingest(wide(2, 3), 'http')).accepted, 2);
    // 5 points, 5,000 values: the next point is one value too many.
    await assert.rejects(admission.ingest(wide(1, 5), 'http'), BackpressureError);
    assert.deepEqual(admission.stats(), { accepted: 5, rejected: 1, stored: 0 });
  });

  it('refuses a batch once the bytes of unstored rows reach their limit, and accepts after a store', async () => {
    const admission = new Admission({
      limits: DEFAULT_LIMITS,
      queueLimit: 1_000_000,
      queueBytesLimit: 1000,
      metrics: undefined,
      unscored: () => 0,
      storeRate: () => 1000,
      append: () => Promise.resolve(),
    });
    // One batch larger than the limit is taken when nothing waits (else it never could be).
    assert.equal((await admission.ingest(points(40), 'http')).accepted, 40);
    const bytes = admission.queuedBytes();
    assert.ok(bytes > 1000, `${bytes} bytes`);
    await assert.rejects(admission.ingest(points(1), 'http'), { code: 'VIGIL_ERR_BACKPRESSURE' });
    admission.stored(40, 40, bytes);
    assert.equal(admission.queuedBytes(), 0);
    assert.equal((await admission.ingest(points(1), 'http')).accepted, 1);
  });

  it('refuses per point the series beyond the caps with VIGIL_ERR_CARDINALITY, accepting the rest', async () => {
    const registry = new Registry();
    const admission = new Admission({
      limits: DEFAULT_LIMITS,
      queueLimit: 1_000_000,
      caps: { perDevice: 2, total: 3 },
      series: [['a', 'x']],
      metrics: engineMetrics(registry),
      unscored: () => 0,
      storeRate: () => 1000,
      append: () => Promise.resolve(),
    });
    const p = (device: string, ...metrics: string[]): IngestPoint => ({
      timestamp: BASE,
      device_id: device,
      metrics: Object.fromEntries(metrics.map((m) => [m, 1])),
    });
    const result = await admission.ingest(
      [
        p('a', 'x'), // known
        p('a', 'y', 'z'), // a would have 3 series: over the device cap
        p('a', 'y'), // a: 2
        p('b', 'x'), // 3 in total
        p('c', 'x'), // 4: over the total cap
        p('a', 'x', 'y'), // known now
        { timestamp: BASE, device_id: 'a', metrics: { x: Number.NaN } },
      ],
      'http',
    );
    assert.equal(result.accepted, 4);
    assert.deepEqual(
      result.errors.map((e) => [e.index, e.code]),
      [
        [1, 'VIGIL_ERR_CARDINALITY'],
        [4, 'VIGIL_ERR_CARDINALITY'],
        [6, 'VIGIL_ERR_INPUT'],
      ],
    );
    assert.match(result.errors[0]?.message ?? '', /max_series_per_device/);
    assert.match(result.errors[1]?.message ?? '', /max_series\)/);
    assert.equal(admission.series(), 3);
    const text = await registry.metrics();
    assert.match(text, /vigil_ingest_points_total\{protocol="http",result="rejected"\} 3/);
    assert.match(text, /vigil_series_refused_total\{reason="device"\} 1/);
    assert.match(text, /vigil_series_refused_total\{reason="total"\} 1/);
  });
});
