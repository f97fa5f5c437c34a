import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { openStore } from '../store/open-store.js';
import { createEngine } from './create-engine.js';
import type { IngestPoint, ScoredPoint } from './engine.js';
import { seriesKey } from './scoring/checkpoint-keys.js';
import { CRASH_BASE, CRASH_POINTS_PER_BATCH, crashBatch } from './testing/crash-child.js';
import { runAndKill } from './testing/run-and-kill.js';

/** Points of a series that goes idle before the crashes (its checkpoint is never rewritten). */
const stillPoints = (from: number, to: number): IngestPoint[] =>
  Array.from({ length: to - from }, (_, k) => ({
    timestamp: CRASH_BASE + (from + k) * 1000,
    device_id: 'still',
    metrics: { v: Math.sin((from + k) / 4) + ((from + k) % 97 === 0 ? 6 : 0) },
  }));

/** The scores `engine` gives the `still` points `from`..`to`. */
async function stillScores(
  engine: Awaited<ReturnType<typeof createEngine>>,
  from: number,
  to: number,
): Promise<ScoredPoint[]> {
  const scores: ScoredPoint[] = [];
  engine.subscribe((item) => {
    if (item.type === 'score' && item.point.device_id === 'still') scores.push(item.point);
  });
  await engine.ingest(stillPoints(from, to), 'test');
  await engine.flush();
  return scores;
}

/**
 * Three kill -9 rounds, then a clean recovery. `lazy`: every restart, the children's and the
 * recovery's, restores checkpointed series lazily (heads first, each state on its next point), so
 * the idle series stays a head through every crash and incremental checkpoint.
 */
async function crashRounds(lazy: boolean): Promise<void> {
  {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-crash-'));
    const dataDir = join(dir, 'data');
    const spoolDir = join(dir, 'spool');
    try {
      // A series checkpointed once, then idle through every crash: the incremental checkpoints
      // taken while the others run never rewrite it, and it must come back intact.
      const seed = await openStore({ dataDir });
      let stillRow: { eventTime: number; wallTime: number } | undefined;
      try {
        const engine = await createEngine({ store: seed, spoolDir, checkpointEveryMs: 0 });
        await engine.ingest(stillPoints(0, 300), 'test');
        await engine.close();
        const row = (await seed.checkpoints.getAll()).find(
          (c) => c.key === seriesKey('still', 'v'),
        );
        if (row !== undefined) stillRow = { eventTime: row.eventTime, wallTime: row.wallTime };
      } finally {
        await seed.close();
      }
      assert.equal(stillRow?.eventTime, CRASH_BASE + 299_000);
      const acked: number[] = [];
      // Scoring in 2 worker threads, then on the main thread, then in workers again: each
      // restart also restores checkpoints written under another worker count.
      for (let round = 0; round < 3; round++) {
        const workers = round === 1 ? 0 : 2;
        const ids = await runAndKill(
          dataDir,
          spoolDir,
          round * 100_000,
          workers,
          ...(lazy ? ['lazy'] : []),
        );
        assert.ok(ids.length > 0, `round ${round} acknowledged something`);
        acked.push(...ids);
      }
      // Recover in-process: replay what the last crash left, then close cleanly.
      const store = await openStore({ dataDir });
      try {
        const engine = await createEngine({
          store,
          spoolDir,
          checkpointEveryMs: 0,
          scoreFeedPerSecond: Infinity,
          ...(lazy ? { lazyRestoreAbove: 0 } : {}),
        });
        if (lazy) assert.ok(engine.stats().evictedSeries > 0, 'the restart restored lazily');
        const checkpoints = await store.checkpoints.getAll();
        const still = checkpoints.find((c) => c.key === seriesKey('still', 'v'));
        assert.deepEqual(
          { eventTime: still?.eventTime, wallTime: still?.wallTime },
          stillRow,
          'the idle series was never written again',
        );
        // Restored through three kill -9s, it scores as a series that never stopped.
        const resumed = await stillScores(engine, 300, 400);
        await engine.close();
        const memory = await openStore();
        try {
          const whole = await createEngine({
            store: memory,
            spoolDir: join(dir, 'uninterrupted'),
            checkpointEveryMs: 0,
            scoreFeedPerSecond: Infinity,
          });
          await whole.ingest(stillPoints(0, 300), 'test');
          await whole.flush();
          assert.deepEqual(resumed, await stillScores(whole, 300, 400));
          await whole.close();
        } finally {
          await memory.close();
        }
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
          // The last checkpoint (on close) covers the newest stored point: none went unscored.
          const ck = checkpoints.find((c) => c.key === seriesKey(device, 'v'));
          const newest = Math.max(...raw.times);
          assert.ok(ck !== undefined, `${device} has a checkpoint`);
          const after = (await store.checkpoints.getAll()).find((c) => c.key === ck.key);
          assert.equal(after?.eventTime, newest, `${device}: the newest point was scored`);
        }
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

it(
  'every acknowledged point survives kill -9 and is stored exactly once; incremental checkpoints lose no series state (scoring in workers and in-process)',
  { timeout: 180_000 },
  () => crashRounds(false),
);

it(
  'with lazy restore on every restart, kill -9 loses no acknowledged point and no idle series state',
  { timeout: 180_000 },
  () => crashRounds(true),
);
