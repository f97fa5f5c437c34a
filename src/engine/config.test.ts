import assert from 'node:assert/strict';
import { it } from 'node:test';
import { engineOptions, engineSchema } from './config.js';

it('the engine section takes the limits and hands them to the engine', () => {
  const config = engineSchema.parse({
    queue_limit: 2000,
    queue_bytes_limit: 1 << 20,
    max_series_per_device: 10,
    max_series: 100,
    workers: 0,
  });
  assert.deepEqual(engineOptions(config), {
    workers: 0,
    queueLimit: 2000,
    queueBytesLimit: 1 << 20,
    maxSeriesPerDevice: 10,
    maxSeries: 100,
  });
  for (const key of ['queue_bytes_limit', 'max_series_per_device', 'max_series']) {
    assert.equal(engineSchema.safeParse({ [key]: 0 }).success, false, key);
  }
  assert.equal(engineSchema.safeParse({ max_series_total: 1 }).success, false, 'unknown key');
});
