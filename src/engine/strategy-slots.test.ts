import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { parseStrategy } from '../core/strategy/parse.js';
import { VigilError } from '../errors.js';
import { buildHttpServer } from '../server/http.js';
import type { Store } from '../store/store.js';
import type { EngineFeedItem, IngestPoint, ScoredPoint, Engine } from './engine.js';
import { createEngine } from './create-engine.js';
import { StrategySlots } from './strategy-slots.js';
import { watchStrategyDir } from './strategy-watch.js';
import { storesInThrowawaySchemas } from './testing/pg-schemas.js';

const BASE = Date.UTC(2025, 0, 1);
const DEVICES = ['pump-1', 'pump-2'];

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-slots-'));
  tempDirs.push(dir);
  return dir;
}
after(async () => {
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
});

function yamlOf(version: number, extra = ''): string {
  return [
    'name: pumps',
    `version: ${version}`,
    'description: pumps, for the hot-reload tests',
    'trigger_rules:',
    '  - device: "pump-*"',
    'detector:',
    '  kind: ewzscore',
    '  params:',
    `    alpha: ${version === 1 ? 0.01 : 0.05}`,
    extra === '' ? 'threshold:\n  kind: dynamic' : extra,
    '',
  ].join('\n');
}

const ALARM_ALL = 'threshold:\n  kind: static\n  params:\n    alert: 0\n    severe: 0';

function batch(from: number, n: number, tempShift = 0): IngestPoint[] {
  const out: IngestPoint[] = [];
  for (let i = from; i < from + n; i++) {
    for (const device of DEVICES) {
      out.push({
        timestamp: BASE + i * 1000,
        device_id: device,
        metrics: { temp: 20 + Math.sin(i / 7) + (i % 3) * 0.1 + tempShift, rpm: 1000 + (i % 5) },
      });
    }
  }
  return out;
}

interface Rig {
  readonly store: Store;
  readonly engine: Engine;
  readonly slots: StrategySlots;
  readonly scores: ScoredPoint[];
  readonly events: Extract<EngineFeedItem, { type: 'event' }>[];
  readonly failures: string[];
  readonly logs: string[];
  /** Close the engine; the store too unless `keepStore`. */
  close(keepStore?: boolean): Promise<void>;
}

/** PostgreSQL in a schema of its own (dropped at the end): much quicker to open than PGlite. */
const openTestStore = storesInThrowawaySchemas('vigil_slots');

async function rig(workers = 0, existing?: Store): Promise<Rig> {
  const store = existing ?? (await openTestStore());
  const logs: string[] = [];
  const engine = await createEngine({
    store,
    spoolDir: await tempDir(),
    checkpointEveryMs: 0,
    strategies: [parseStrategy(yamlOf(1))],
    scoreFeedPerSecond: 1e9,
    workers,
    resumeStrategies: true,
    log: (message) => logs.push(message),
  });
  const scores: ScoredPoint[] = [];
  const events: Extract<EngineFeedItem, { type: 'event' }>[] = [];
  engine.subscribe((item) => {
    if (item.type === 'score') scores.push(item.point);
    else events.push(item);
  });
  const failures: string[] = [];
  const slots = new StrategySlots({
    engine,
    store,
    onFailure: (name) => failures.push(name),
  });
  return {
    store,
    engine,
    slots,
    scores,
    events,
    failures,
    logs,
    async close(keepStore = false) {
      await engine.close();
      if (!keepStore) await store.close();
    },
  };
}

function countsByPoint(scores: readonly ScoredPoint[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of scores) {
    const key = `${s.device_id}|${s.metric}|${s.timestamp}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

describe('strategy hot reload', () => {
  for (const workers of [0, 2]) {
    it(`swaps under a continuous stream: every point scored exactly once, the new version after (${workers} scoring workers)`, async () => {
      const r = await rig(workers);
      try {
        let next = 0;
        // Streams share the clock: take the times before awaiting, so no two batches overlap.
        const send = async (n: number) => {
          const from = next;
          next += n;
          await r.engine.ingest(batch(from, n), 'test');
        };
        await send(300);
        await r.engine.flush(); // the store holds recent points for the health check
        let streaming = true;
        const stream = (async () => {
          while (streaming) {
            await send(5);
            await new Promise((resolve) => setImmediate(resolve));
          }
        })();
        const result = await r.slots.propose(parseStrategy(yamlOf(2)), yamlOf(2), 'test');
        const swappedBefore = next;
        streaming = false;
        await stream;
        await send(20);
        await send(50);
        await r.engine.flush();

        assert.equal(result.status, 'active');
        assert.equal(result.moved, DEVICES.length * 2);
        assert.ok(result.check.points > 0, 'the check replayed stored points');
        const counts = countsByPoint(r.scores);
        assert.equal(counts.size, next * DEVICES.length * 2, 'every point scored');
        for (const [key, n] of counts) assert.equal(n, 1, `${key} scored ${n} times`);
        // Per series: @1 up to the swap, @2 from then on (never back).
        for (const device of DEVICES) {
          for (const metric of ['temp', 'rpm']) {
            const labels = r.scores
              .filter((s) => s.device_id === device && s.metric === metric)
              .sort((a, b) => a.timestamp - b.timestamp)
              .map((s) => s.strategy);
            const first2 = labels.indexOf('pumps@2');
            assert.ok(
              first2 > 0 && first2 <= swappedBefore,
              `${device}/${metric} swapped mid-stream`,
            );
            assert.ok(labels.slice(0, first2).every((l) => l === 'pumps@1'));
            assert.ok(labels.slice(first2).every((l) => l === 'pumps@2'));
          }
        }
        assert.deepEqual(
          (await r.store.strategies.list()).map((s) => `${s.name}@${s.version}`),
          ['pumps@2'],
          'the proposed version is stored (v1 came from options, not the slots)',
        );
      } finally {
        await r.close();
      }
    });
  }

  it('rejects a candidate that alarms on everything and keeps the active version scoring', async () => {
    const r = await rig();
    try {
      await r.engine.ingest(batch(0, 200), 'test');
      await r.engine.flush();
      const bad = yamlOf(2, ALARM_ALL);
      await assert.rejects(
        r.slots.propose(parseStrategy(bad), bad, 'test'),
        (e: unknown) =>
          e instanceof VigilError &&
          e.code === 'VIGIL_ERR_STRATEGY_REJECTED' &&
          /flagged \d+ of \d+ recent points/.test(e.message),
      );
      assert.deepEqual(r.failures, ['pumps']);
      assert.ok(await r.store.strategies.get('pumps', 2), 'kept even though rejected');
      r.scores.length = 0;
      await r.engine.ingest(batch(200, 10), 'test');
      await r.engine.flush();
      assert.equal(r.scores.length, 10 * DEVICES.length * 2);
      assert.ok(r.scores.every((s) => s.strategy === 'pumps@1'));
      // The active version again: nothing to do.
      const same = await r.slots.propose(parseStrategy(yamlOf(1)), yamlOf(1), 'test');
      assert.equal(same.status, 'unchanged');
    } finally {
      await r.close();
    }
  });

  it('picks up a file dropped into the watched directory', async () => {
    const r = await rig();
    const dir = await tempDir();
    const failures: string[] = [];
    const watcher = watchStrategyDir({
      dir,
      slots: r.slots,
      debounceMs: 20,
      rescanMs: 100,
      onFailure: (name) => failures.push(name),
    });
    try {
      await r.engine.ingest(batch(0, 100), 'test');
      await r.engine.flush();
      await writeFile(join(dir, 'pumps.yaml'), yamlOf(3));
      await writeFile(join(dir, 'broken.yaml'), 'name: broken\nversion: zero\n');
      const deadline = Date.now() + 10_000;
      while (r.slots.active().strategies[0]?.version !== 3 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      assert.equal(r.slots.active().strategies[0]?.version, 3);
      await watcher.scan();
      assert.deepEqual(failures, ['broken']);
      r.scores.length = 0;
      await r.engine.ingest(batch(100, 5), 'test');
      await r.engine.flush();
      assert.ok(r.scores.length > 0 && r.scores.every((s) => s.strategy === 'pumps@3'));
    } finally {
      watcher.close();
      await r.close();
    }
  });

  it('uploads by API (YAML and JSON, 422 with paths) and rolls back', async () => {
    const r = await rig();
    const app = await buildHttpServer({
      engine: r.engine,
      store: r.store,
      registry: new Registry(),
      logger: { level: 'silent' },
      strategies: r.slots,
    });
    try {
      await r.engine.ingest(batch(0, 100), 'test');
      await r.engine.flush();
      const put = (body: string, type: string) =>
        app.inject({
          method: 'PUT',
          url: '/v1/strategies/pumps',
          headers: { 'content-type': type },
          payload: body,
        });
      const v2 = await put(yamlOf(2), 'application/yaml');
      assert.equal(v2.statusCode, 200, v2.body);
      assert.equal(v2.json<{ status: string }>().status, 'active');

      const v4 = parseStrategy(yamlOf(2).replace('version: 2', 'version: 4'));
      const json = await put(JSON.stringify(v4), 'application/json');
      assert.equal(json.statusCode, 200, json.body);

      const invalid = await put(yamlOf(5).replace('alpha: 0.05', 'alpha: -1'), 'text/yaml');
      assert.equal(invalid.statusCode, 422);
      const problem = invalid.json<{ code: string; message: string }>();
      assert.equal(problem.code, 'VIGIL_ERR_STRATEGY_INVALID');
      assert.match(problem.message, /detector\.params\.alpha/);

      const wrongName = await put(yamlOf(6), 'application/yaml');
      assert.equal(wrongName.statusCode, 200);
      const mismatch = await app.inject({
        method: 'PUT',
        url: '/v1/strategies/other',
        headers: { 'content-type': 'application/yaml' },
        payload: yamlOf(7),
      });
      assert.equal(mismatch.statusCode, 422);

      const rollback = await app.inject({
        method: 'POST',
        url: '/v1/strategies/pumps/rollback',
        payload: { version: 2 },
      });
      assert.equal(rollback.statusCode, 200, rollback.body);
      const active = await app.inject({ method: 'GET', url: '/v1/strategies/active' });
      assert.deepEqual(active.json<{ strategies: unknown }>().strategies, [
        { name: 'pumps', version: 2 },
      ]);
      const missing = await app.inject({
        method: 'POST',
        url: '/v1/strategies/pumps/rollback',
        payload: { version: 99 },
      });
      assert.equal(missing.statusCode, 404);

      r.scores.length = 0;
      await r.engine.ingest(batch(100, 5), 'test');
      await r.engine.flush();
      assert.ok(r.scores.length > 0 && r.scores.every((s) => s.strategy === 'pumps@2'));
    } finally {
      await app.close();
      await r.close();
    }
  });

  it('closes the open event of a series when its strategy is swapped (reason strategy-swap)', async () => {
    const r = await rig();
    try {
      await r.engine.ingest(batch(0, 300), 'test');
      // A step up in temperature that lasts: its events are still open at the swap.
      await r.engine.ingest(batch(300, 10, 15), 'test');
      await r.engine.flush();
      const open = r.events.filter((e) => e.change === 'open' && e.event.strategy === 'pumps@1');
      assert.ok(open.length > 0, 'the step opened an event');
      const result = await r.slots.propose(parseStrategy(yamlOf(2)), yamlOf(2), 'test');
      assert.equal(result.status, 'active');
      // Event changes reach the feed once stored: wait for the write.
      await r.engine.flush();
      const closed = r.events.filter((e) => e.reason === 'strategy-swap');
      assert.deepEqual(
        closed.map((e) => e.event.id).sort(),
        [...new Set(open.map((e) => e.event.id))].sort(),
        'every event open under pumps@1 was closed by the swap',
      );
      assert.ok(closed.every((e) => e.change === 'close' && e.event.end !== null));
      await r.engine.flush();
      for (const e of closed) {
        const stored = await r.store.events.get(e.event.id);
        assert.equal(stored?.end, e.event.end, 'the closed event is stored closed');
      }
    } finally {
      await r.close();
    }
  });

  it('resumes the strategies made active by API after a restart', async () => {
    const first = await rig();
    await first.engine.ingest(batch(0, 100), 'test');
    await first.engine.flush();
    const v2 = await first.slots.propose(parseStrategy(yamlOf(2)), yamlOf(2), 'api');
    assert.equal(v2.status, 'active');
    await first.close(true);
    // The restart is given v1 again (e.g. from its --strategies file): v2 is resumed.
    const second = await rig(0, first.store);
    try {
      assert.equal(second.slots.active().strategies[0]?.version, 2);
      assert.ok(second.logs.some((l) => /pumps@2 resumed/.test(l)));
      await second.engine.ingest(batch(100, 5), 'test');
      await second.engine.flush();
      assert.ok(second.scores.length > 0 && second.scores.every((s) => s.strategy === 'pumps@2'));
    } finally {
      await second.close();
    }
  });

  it('keeps a strategy active when its file is removed, and logs it', async () => {
    const r = await rig();
    const dir = await tempDir();
    const logs: string[] = [];
    const watcher = watchStrategyDir({
      dir,
      slots: r.slots,
      rescanMs: 0,
      log: (m) => logs.push(m),
    });
    try {
      await r.engine.ingest(batch(0, 100), 'test');
      await r.engine.flush();
      const file = join(dir, 'pumps.yaml');
      await writeFile(file, yamlOf(3));
      await watcher.scan();
      assert.equal(r.slots.active().strategies[0]?.version, 3);
      await rm(file);
      await watcher.scan();
      assert.ok(logs.some((l) => l.includes(`${file} was removed; strategy pumps stays active`)));
      assert.equal(r.slots.active().strategies[0]?.version, 3);
      r.scores.length = 0;
      await r.engine.ingest(batch(100, 5), 'test');
      await r.engine.flush();
      assert.ok(r.scores.length > 0 && r.scores.every((s) => s.strategy === 'pumps@3'));
    } finally {
      watcher.close();
      await r.close();
    }
  });
});
