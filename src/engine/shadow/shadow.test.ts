import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { AnomalyEvent } from '../../core/events/types.js';
import { compileStrategy } from '../../core/strategy/compile.js';
import { parseStrategy } from '../../core/strategy/parse.js';
import { openStore } from '../../store/open-store.js';
import type { EngineFeedItem, IngestPoint } from '../engine.js';
import { createEngine } from '../create-engine.js';

const BASE = Date.UTC(2025, 3, 1);

/** A candidate that replaces the default strategy: every series is shadowed. */
export const CANDIDATE_YAML = `name: default
version: 2
description: candidate under test
detector:
  kind: ewzscore
  params:
    alpha: 0.05
threshold:
  kind: static
`;

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** Two devices, two metrics each; spikes on pump-1/temp and pump-2/rpm. */
function stream(n: number): IngestPoint[] {
  const points: IngestPoint[] = [];
  for (let i = 0; i < n; i++) {
    for (const device of ['pump-1', 'pump-2']) {
      const spike =
        (device === 'pump-1' && i >= 300 && i < 305) || (device === 'pump-2' && i === 420);
      points.push({
        timestamp: BASE + i * 1000,
        device_id: device,
        metrics: {
          temp: 20 + Math.sin(i / 7) + (spike && device === 'pump-1' ? 40 : 0),
          rpm: 1000 + (i % 5) + (spike && device === 'pump-2' ? 900 : 0),
        },
      });
    }
  }
  return points;
}

/** The candidate's events when it scores each series alone, offline: last state per id. */
function offlineEvents(points: readonly IngestPoint[]): Map<string, AnomalyEvent> {
  const make = compileStrategy(parseStrategy(CANDIDATE_YAML));
  const pipelines = new Map<string, ReturnType<typeof make>>();
  const events = new Map<string, AnomalyEvent>();
  for (const p of points) {
    for (const [metric, value] of Object.entries(p.metrics)) {
      const key = `${p.device_id}/${metric}`;
      let pipeline = pipelines.get(key);
      if (pipeline === undefined) {
        pipeline = make(key);
        pipelines.set(key, pipeline);
      }
      pipeline.process(p.timestamp, value);
      const change = pipeline.lastEventChange;
      if (change !== null) events.set(change.event.id, change.event);
    }
  }
  return events;
}

for (const workers of [0, 2]) {
  describe(`shadow runs with ${workers} scoring workers`, () => {
    it('score every point once beside the active strategy; events stored flagged, never on the feed', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'vigil-shadow-'));
      dirs.push(dir);
      const store = await openStore();
      const candidate = parseStrategy(CANDIDATE_YAML);
      const engine = await createEngine({
        store,
        spoolDir: join(dir, 'spool'),
        checkpointEveryMs: 0,
        workers,
      });
      try {
        const feed: EngineFeedItem[] = [];
        engine.subscribe((item) => feed.push(item));
        const points = stream(600);
        // Half before the run starts: the candidate sees only what comes after.
        await engine.ingest(points.slice(0, 200), 'test');
        await engine.flush();
        const scoredBefore = engine.stats().scored;
        await engine.shadows.set([{ run: 7, strategy: candidate }]);
        for (let i = 200; i < points.length; i += 50) {
          await engine.ingest(points.slice(i, i + 50), 'test');
        }
        // Points repeated (not after the series' last time) are scored by neither side.
        await engine.ingest(points.slice(500, 510), 'test');
        await engine.flush();

        const [counters] = await engine.shadows.counters();
        assert.ok(counters !== undefined);
        assert.equal(counters.run, 7);
        assert.equal(counters.points, (points.length - 200) * 2);
        assert.equal(counters.points, engine.stats().scored - scoredBefore);
        assert.equal(counters.series, 4);
        assert.equal(counters.firstTime, points[200]?.timestamp);
        assert.equal(counters.lastTime, points.at(-1)?.timestamp);
        assert.ok(counters.activeNs > 0 && counters.candidateNs > 0);
        assert.deepEqual(counters.shadowed.map(([d, m]) => `${d}/${m}`).sort(), [
          'pump-1/rpm',
          'pump-1/temp',
          'pump-2/rpm',
          'pump-2/temp',
        ]);

        // The same events as the candidate scoring the same points alone.
        const expected = offlineEvents(points.slice(200));
        assert.ok(expected.size >= 2, `the candidate should flag the spikes (${expected.size})`);
        const stored = await store.querier.events({ shadowRun: 7, limit: 1000 });
        assert.deepEqual(
          stored.map((e) => e.id).sort(),
          [...expected.keys()].map((id) => `${id}#shadow-7`).sort(),
        );
        for (const e of stored) {
          const want = expected.get(e.id.replace(/#shadow-7$/, '')) as AnomalyEvent;
          assert.equal(e.shadowRun, 7);
          assert.equal(e.strategy, 'default');
          assert.equal(e.strategyVersion, 2);
          assert.equal(e.start, want.start);
          assert.equal(e.end, want.end);
          assert.equal(e.points, want.points);
        }
        // Default listings leave them out; the feed never carried them.
        const live = await store.querier.events({ limit: 1000 });
        assert.ok(live.length > 0, 'the active strategy flags the spikes too');
        assert.ok(live.every((e) => e.shadowRun === undefined && e.strategyVersion === 1));
        const fed = feed.flatMap((f) => (f.type === 'event' ? [f.event.strategy] : []));
        assert.ok(fed.length > 0);
        assert.ok(
          fed.every((s) => s === 'default@1'),
          `feed strategies: ${[...new Set(fed)].join()}`,
        );
        const fedScores = feed.flatMap((f) => (f.type === 'score' ? [f.point.strategy] : []));
        assert.ok(fedScores.every((s) => s === 'default@1'));

        // Stopping the run closes its open events and stops its scoring.
        await engine.shadows.set([]);
        await engine.flush();
        assert.deepEqual(await engine.shadows.counters(), []);
        const closed = await store.querier.events({ shadowRun: 7, limit: 1000 });
        assert.ok(closed.every((e) => e.end !== null));
      } finally {
        await engine.close();
        await store.close();
      }
    });
  });
}

describe('shadow runs: which series a candidate shadows', () => {
  it('a new name shadows only the series its rules match and no earlier strategy takes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-shadow-'));
    dirs.push(dir);
    const store = await openStore();
    const active = parseStrategy(`name: a-temps
version: 1
description: active on pump-1 temp
trigger_rules:
  - metric: temp
    device: pump-1
detector:
  kind: ewzscore
threshold:
  kind: static
`);
    const candidate = parseStrategy(`name: b-temps
version: 1
description: candidate on temps
trigger_rules:
  - metric: temp
detector:
  kind: ewzscore
threshold:
  kind: static
`);
    const engine = await createEngine({
      store,
      spoolDir: join(dir, 'spool'),
      checkpointEveryMs: 0,
      strategies: [active],
      shadows: [{ run: 3, strategy: candidate }],
    });
    try {
      await engine.ingest(stream(50), 'test');
      await engine.flush();
      const [counters] = await engine.shadows.counters();
      // pump-1/temp stays with a-temps (earlier by name); rpm series match no rule.
      assert.deepEqual(counters?.shadowed, [['pump-2', 'temp']]);
      assert.equal(counters?.points, 50);
    } finally {
      await engine.close();
      await store.close();
    }
  });
});

describe('shadow runs: candidate state survives a restart', () => {
  const candidate = parseStrategy(CANDIDATE_YAML);
  const points = stream(600);

  /** Shadow events of run 7, and its counters, after these engine lives on one store. */
  async function run(
    lives: readonly { workers: number; from: number; to: number }[],
  ): Promise<{ events: unknown[]; counters: unknown; checkpointKeys: string[] }> {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-shadow-'));
    dirs.push(dir);
    const store = await openStore();
    try {
      let counters: unknown;
      for (const [i, life] of lives.entries()) {
        const engine = await createEngine({
          store,
          spoolDir: join(dir, 'spool'),
          checkpointEveryMs: 0,
          workers: life.workers,
          // After the first life the run is running: the engine resumes it from the start.
          ...(i === 0 ? {} : { shadows: [{ run: 7, strategy: candidate }] }),
        });
        try {
          for (let at = life.from; at < life.to; at += 50) {
            // The run starts a third of the way in, while the engine runs.
            if (i === 0 && at === 200) {
              await engine.flush();
              await engine.shadows.set([{ run: 7, strategy: candidate }]);
            }
            await engine.ingest(points.slice(at, Math.min(at + 50, life.to)), 'test');
          }
          await engine.flush();
          [counters] = await engine.shadows.counters();
        } finally {
          await engine.close();
        }
      }
      const events = await store.querier.events({ shadowRun: 7, limit: 1000 });
      const keys = (await store.checkpoints.getAll()).map((c) => c.key);
      return {
        events: events.map((e) => ({ ...e })).sort((a, b) => (a.id < b.id ? -1 : 1)),
        counters,
        checkpointKeys: keys.filter((k) => k.startsWith('x:7:')),
      };
    } finally {
      await store.close();
    }
  }

  const strip = (c: unknown) => {
    const { activeNs, candidateNs, shadowed, ...rest } = c as Record<string, unknown>;
    void activeNs;
    void candidateNs;
    return { ...rest, shadowed: [...(shadowed as string[][])].map((s) => s.join('/')).sort() };
  };

  let reference: Awaited<ReturnType<typeof run>>;
  it('an uninterrupted run: the reference', async () => {
    reference = await run([{ workers: 0, from: 0, to: points.length }]);
    assert.ok(reference.events.length >= 2, 'the candidate flags the spikes');
    assert.equal(reference.checkpointKeys.length, 4, 'one candidate checkpoint per series');
    assert.equal((reference.counters as { points: number }).points, (points.length - 200) * 2);
  });

  for (const [before, afterwards] of [
    [0, 0],
    [2, 2],
    [0, 2],
    [2, 0],
  ] as const) {
    it(`a restart (${before} → ${afterwards} workers) gives the same candidate events and counters`, async () => {
      // Restarts just before the spike at 420 (points.length covers 600 per device).
      const got = await run([
        { workers: before, from: 0, to: 800 },
        { workers: afterwards, from: 800, to: 1000 },
        { workers: before, from: 1000, to: points.length },
      ]);
      assert.deepEqual(got.events, reference.events);
      assert.deepEqual(strip(got.counters), strip(reference.counters));
    });
  }

  it('checkpoints of a run that is not running are ignored', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-shadow-'));
    dirs.push(dir);
    const store = await openStore();
    const logs: string[] = [];
    try {
      const first = await createEngine({
        store,
        spoolDir: join(dir, 'spool'),
        checkpointEveryMs: 0,
        shadows: [{ run: 7, strategy: candidate }],
      });
      await first.ingest(points.slice(0, 100), 'test');
      await first.close();
      const second = await createEngine({
        store,
        spoolDir: join(dir, 'spool'),
        checkpointEveryMs: 0,
        shadows: [{ run: 8, strategy: candidate }],
        log: (m) => logs.push(m),
      });
      await second.ingest(points.slice(100, 120), 'test');
      await second.flush();
      const [counters] = await second.shadows.counters();
      // Run 8 starts afresh: only the points after the restart.
      assert.equal(counters?.run, 8);
      assert.equal(counters?.points, 40);
      await second.close();
      assert.ok(
        logs.some((m) => /4 candidate checkpoints of shadow runs not running/.test(m)),
        logs.join('\n'),
      );
    } finally {
      await store.close();
    }
  });
});
