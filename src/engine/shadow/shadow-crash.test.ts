/**
 * Shadow runs across kill -9 (docs/shadow.md, "Restarts"): the candidate's state and counters
 * come back from the checkpoints, and the spool replay scores again only what they do not cover,
 * so the run counts every point once and raises the events an uninterrupted run raises.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import type { AnomalyEvent } from '../../core/events/types.js';
import { compileStrategy } from '../../core/strategy/compile.js';
import { parseStrategy } from '../../core/strategy/parse.js';
import { openStore } from '../../store/open-store.js';
import { createEngine } from '../create-engine.js';
import {
  CRASH_BASE,
  CRASH_CANDIDATE_YAML,
  CRASH_POINTS_PER_BATCH,
  crashBatch,
} from '../testing/crash-child.js';
import { runAndKill } from '../testing/run-and-kill.js';

it(
  'after kill -9 and restarts a shadow run counts each point once and raises the same events',
  { timeout: 180_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-shadow-crash-'));
    const dataDir = join(dir, 'data');
    const spoolDir = join(dir, 'spool');
    const candidate = parseStrategy(CRASH_CANDIDATE_YAML);
    try {
      const acked: number[] = [];
      // 2 workers, then the main thread, then 2 again: checkpoints restore across counts.
      for (let round = 0; round < 3; round++) {
        const workers = round === 1 ? 0 : 2;
        const ids = await runAndKill(dataDir, spoolDir, round * 100_000, workers, 'shadow');
        assert.ok(ids.length > 0, `round ${round} acknowledged something`);
        acked.push(...ids);
      }
      const store = await openStore({ dataDir });
      try {
        const engine = await createEngine({
          store,
          spoolDir,
          checkpointEveryMs: 0,
          shadows: [{ run: 1, strategy: candidate }],
        });
        await engine.flush();
        const [counters] = await engine.shadows.counters();
        await engine.close();

        // What is stored was scored by the candidate from the run's start, in time order.
        const make = compileStrategy(candidate);
        const expected = new Map<string, AnomalyEvent>();
        let stored = 0;
        const storedTimes = new Map<string, Set<number>>();
        for (const device of ['dev0', 'dev1', 'dev2', 'dev3']) {
          const raw = await store.querier.points({
            device,
            metric: 'v',
            from: CRASH_BASE,
            to: CRASH_BASE + 400_000 * CRASH_POINTS_PER_BATCH,
            limit: 10_000_000,
          });
          assert.equal(raw.kind, 'raw');
          stored += raw.times.length;
          storedTimes.set(device, new Set(raw.times));
          const pipeline = make(`${device}/v`);
          raw.times.forEach((t, i) => {
            pipeline.process(t, raw.values[i] as number);
            const change = pipeline.lastEventChange;
            if (change !== null) expected.set(change.event.id, change.event);
          });
        }
        for (const id of acked) {
          for (const p of crashBatch(id)) {
            assert.ok(storedTimes.get(p.device_id)?.has(p.timestamp), `acked ${id} stored`);
          }
        }
        assert.ok(stored >= acked.length * CRASH_POINTS_PER_BATCH);
        // Each stored point counted once: no double count from the replays.
        assert.equal(counters?.points, stored);
        assert.equal(counters?.series, 4);

        const events = await store.querier.events({ shadowRun: 1, limit: 10_000 });
        assert.ok(expected.size < 10_000, `${expected.size} events: more than one page`);
        assert.deepEqual(
          events.map((e) => e.id).sort(),
          [...expected.keys()].map((id) => `${id}#shadow-1`).sort(),
        );
        for (const e of events) {
          const want = expected.get(e.id.replace(/#shadow-1$/, '')) as AnomalyEvent;
          assert.deepEqual([e.start, e.end, e.points], [want.start, want.end, want.points], e.id);
        }
        assert.equal(counters?.candidateEvents, expected.size);
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);
