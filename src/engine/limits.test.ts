import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { Registry } from 'prom-client';
import { openStore } from '../store/open-store.js';
import { createEngine } from './create-engine.js';
import { SpoolLog } from './log/spool-log.js';
import { spooledBatch } from './spool-record.js';

const BASE = Date.UTC(2025, 0, 1);
const DEVICES = 100;

const device = (d: number): string => `dev-${String(d).padStart(3, '0')}`;

it(
  'a spool over max_series replays within it: every point stored, series ≤ the cap, across restarts',
  { timeout: 120_000 },
  async () => {
    const spoolDir = await mkdtemp(join(tmpdir(), 'vigil-limits-'));
    const store = await openStore();
    try {
      // An earlier run accepted 100 devices × 3 points (as if it had no cap) and died unstored.
      const spool = await SpoolLog.open(spoolDir, () => undefined);
      for (let t = 0; t < 3; t++) {
        const points = Array.from({ length: DEVICES }, (_, d) => ({
          timestamp: BASE + t * 1000,
          device_id: device(d),
          metrics: { v: d + t },
        }));
        await spool.append(spooledBatch(points));
      }
      await spool.close();

      for (const workers of [0, 1]) {
        const registry = new Registry();
        const engine = await createEngine({
          store,
          spoolDir,
          checkpointEveryMs: 0,
          maxSeries: 50,
          workers,
          registry,
        });
        try {
          await engine.flush();
          assert.equal(engine.stats().series, 50, `workers ${workers}`);
          // Acknowledged points are never lost: those over the cap are stored, not scored.
          for (const d of [0, 99]) {
            const raw = await store.querier.points({
              device: device(d),
              metric: 'v',
              from: BASE,
              to: BASE + 10_000,
            });
            assert.equal(raw.kind, 'raw');
            // dev-000 also holds the point each earlier round accepted live.
            assert.equal(raw.times.length, d === 0 ? 3 + workers : 3, device(d));
          }
          // A new device is refused; a known one is accepted.
          const result = await engine.ingest(
            [
              { timestamp: BASE + 5000, device_id: 'new', metrics: { v: 1 } },
              { timestamp: BASE + 5000 + workers * 1000, device_id: device(0), metrics: { v: 1 } },
            ],
            'test',
          );
          assert.equal(result.accepted, 1);
          assert.deepEqual(
            result.errors.map((e) => [e.index, e.code]),
            [[0, 'VIGIL_ERR_CARDINALITY']],
          );
          await engine.flush();
          assert.equal(engine.stats().series, 50);
          const text = await registry.metrics();
          if (workers === 0) {
            assert.match(text, /vigil_series_refused_total\{reason="total"\} 151/);
          } else {
            // Restarted: the 50 series come back from checkpoints, nothing is replayed.
            assert.match(text, /vigil_series_refused_total\{reason="total"\} 1/);
          }
          assert.match(text, /vigil_ingest_points_total\{protocol="test",result="rejected"\} 1/);
        } finally {
          await engine.close();
        }
      }
    } finally {
      await store.close();
      await rm(spoolDir, { recursive: true, force: true });
    }
  },
);
