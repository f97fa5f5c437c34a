import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { openStore } from '../store/open-store.js';
import { createEngine } from './create-engine.js';
import { CRASH_BASE, CRASH_POINTS_PER_BATCH, crashBatch } from './testing/crash-child.js';
import { runAndKill } from './testing/run-and-kill.js';

it(
  'every acknowledged point survives kill -9 and is stored exactly once (scoring in workers and in-process)',
  { timeout: 180_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-crash-'));
    const dataDir = join(dir, 'data');
    const spoolDir = join(dir, 'spool');
    try {
      const acked: number[] = [];
      // Scoring in 2 worker threads, then on the main thread, then in workers again: each
      // restart also restores checkpoints written under another worker count.
      for (let round = 0; round < 3; round++) {
        const ids = await runAndKill(dataDir, spoolDir, round * 100_000, round === 1 ? 0 : 2);
        assert.ok(ids.length > 0, `round ${round} acknowledged something`);
        acked.push(...ids);
      }
      // Recover in-process: replay what the last crash left, then close cleanly.
      const store = await openStore({ dataDir });
      try {
        const engine = await createEngine({ store, spoolDir, checkpointEveryMs: 0 });
        await engine.close();
        const expected = new Map<string, Map<number, number>>();
        for (const id of acked) {
          for (const p of crashBatch(id)) {
            const times = expected.get(p.device_id) ?? new Map<number, number>();
            times.set(p.timestamp, p.metrics['v'] as number);
            expected.set(p.device_id, times);
          }
        }
        for (const [device, times] of expected) {
          const raw = await store.querier.points({
            device,
            metric: 'v',
            from: CRASH_BASE,
            to: CRASH_BASE + 400_000 * CRASH_POINTS_PER_BATCH,
            limit: 10_000_000,
          });
          assert.equal(raw.kind, 'raw');
          const stored = new Map<number, number>();
          raw.times.forEach((t, i) => {
            assert.ok(!stored.has(t), `${device}@${t} stored twice`);
            stored.set(t, raw.values[i] as number);
          });
          for (const [t, v] of times) assert.equal(stored.get(t), v, `${device}@${t} lost`);
        }
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);
