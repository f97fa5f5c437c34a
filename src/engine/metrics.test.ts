import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { Registry } from 'prom-client';
import { ingestPointsCounter } from '../metrics/registry.js';
import { openStore } from '../store/open-store.js';
import type { IngestPoint } from './engine.js';
import { createEngine } from './create-engine.js';

const BASE = Date.UTC(2025, 0, 1);

function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

it('registers and updates engine metrics on the registry it is given', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-engine-metrics-'));
  const store = await openStore();
  try {
    const registry = new Registry();
    // The server's family, registered first, stays the one instance.
    const ingest = ingestPointsCounter(registry);
    const engine = await createEngine({ store, spoolDir: dir, checkpointEveryMs: 0, registry });
    assert.equal(ingestPointsCounter(registry), ingest);
    const points: IngestPoint[] = Array.from({ length: 300 }, (_, i) => ({
      timestamp: BASE + i * 1000,
      device_id: 'pump-1',
      metrics: { temp: 20 + Math.sin(i / 5) + (i === 250 ? 40 : 0) },
    }));
    for (let i = 0; i < points.length; i += 50) {
      await engine.ingest(points.slice(i, i + 50), 'test');
    }
    await engine.flush();
    const text = await registry.metrics();
    assert.ok((sample(text, 'vigil_detection_latency_seconds_count') ?? 0) > 0, text);
    assert.ok((sample(text, 'vigil_store_write_seconds_count') ?? 0) > 0, text);
    assert.match(text, /^vigil_events_total\{level="(alert|severe)",change="open"\} [1-9]/m);
    assert.equal(sample(text, 'vigil_store_write_errors_total'), 0);
    await engine.close();
    // A second engine on the same registry reuses the families instead of throwing.
    const again = await createEngine({ store, spoolDir: dir, checkpointEveryMs: 0, registry });
    await again.close();
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
