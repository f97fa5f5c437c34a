import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { readConfigFile } from '../cli/serve-config.js';
import { VigilError } from '../errors.js';
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

it('engine.lazy_restore_above in the config file sets the lazy restore threshold', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-engine-config-'));
  try {
    const file = path.join(dir, 'vigil.yaml');
    await writeFile(file, 'engine:\n  lazy_restore_above: 250000\n  workers: 0\n');
    const config = await readConfigFile(file);
    assert.deepEqual(engineOptions(config.engine ?? {}), {
      workers: 0,
      lazyRestoreAbove: 250_000,
    });
    // 0: every checkpointed series is restored on its next point.
    assert.equal(engineOptions(engineSchema.parse({ lazy_restore_above: 0 })).lazyRestoreAbove, 0);
    // Unset: the engine's default (10,000) applies.
    assert.equal('lazyRestoreAbove' in engineOptions({}), false);
    for (const bad of ['-1', '1.5', 'many']) {
      await writeFile(file, `engine:\n  lazy_restore_above: ${bad}\n`);
      await assert.rejects(readConfigFile(file), (err: unknown) => {
        assert.ok(err instanceof VigilError);
        assert.equal(err.code, 'VIGIL_ERR_CONFIG');
        assert.match(err.message, /engine\.lazy_restore_above/);
        return true;
      });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
