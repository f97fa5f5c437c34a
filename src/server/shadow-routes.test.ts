import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { ShadowManager } from '../engine/shadow/shadow-manager.js';
import { StrategySlots } from '../engine/strategy-slots.js';
import { openStore } from '../store/open-store.js';
import { openPostgresStore } from '../store/postgres-store.js';
import type { Store } from '../store/store.js';
import { registerShadowRoutes } from './shadow-routes.js';
import { registerStrategyRoutes } from './strategy-routes.js';
import { startTestService, type TestService } from './testing/running-service.js';

const PG_URL = process.env.VIGIL_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const T0 = Date.UTC(2026, 2, 1);

const candidateYaml = (version: number) => `name: default
version: ${version}
description: shadow candidate ${version}
detector:
  kind: ewzscore
  params:
    alpha: 0.05
threshold:
  kind: static
`;

interface Service extends TestService {
  readonly shadows: ShadowManager;
  close(): Promise<void>;
}

async function start(store: Store): Promise<Service> {
  let shadows: ShadowManager | undefined;
  const s = await startTestService({
    store,
    routes: async ({ app, engine, registry }) => {
      const slots = new StrategySlots({ engine, store });
      registerStrategyRoutes(app, slots);
      shadows = await ShadowManager.open({ engine, store, slots, saveEveryMs: 0, registry });
      registerShadowRoutes(app, shadows);
    },
  });
  const manager = shadows as ShadowManager;
  return {
    ...s,
    shadows: manager,
    async close() {
      await manager.close();
      await s.stop();
    },
  };
}

/** A smooth series per device with one spike at `spikeAt` (an index). */
function points(devices: readonly string[], from: number, n: number, spikeAt = -1) {
  const out = [];
  for (let i = from; i < from + n; i++) {
    for (const device of devices) {
      out.push({
        timestamp: T0 + i * 1000,
        device_id: device,
        metrics: { temp: 20 + Math.sin(i / 6) + (i >= spikeAt && i < spikeAt + 4 ? 50 : 0) },
      });
    }
  }
  return out;
}

async function call(
  url: string,
  method: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function ingest(s: TestService, body: unknown[]): Promise<void> {
  const r = await call(`${s.url}/v1/points`, 'POST', body);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  await s.engine.flush();
}

interface Side {
  points: number;
  events: number;
  alarms_per_10k: number | null;
  ns_per_point: number | null;
  overlapping: number;
}

function shadowApiSuite(
  name: string,
  open: () => Promise<{ store: Store; drop(): Promise<void> }>,
) {
  describe(`shadow runs API on ${name}`, () => {
    let store: Store;
    let drop: () => Promise<void>;
    let s: Service;
    before(async () => {
      ({ store, drop } = await open());
      s = await start(store);
    });
    after(async () => {
      await s.close();
      await drop();
    });

    test('bad input is refused with a message naming what was wrong', async () => {
      const post = (body: unknown) => call(`${s.url}/v1/shadows`, 'POST', body);
      let r = await post({});
      assert.equal(r.status, 400);
      assert.equal(r.json.code, 'VIGIL_ERR_INPUT');
      r = await post({ strategy: 'nope' });
      assert.equal(r.status, 404);
      assert.equal(r.json.code, 'VIGIL_ERR_STRATEGY_NOT_FOUND');
      assert.match(String(r.json.message), /"nope"/);
      await store.strategies.save({ name: 'default', version: 2, yaml: candidateYaml(2) });
      r = await post({ strategy: 'default', version: 9 });
      assert.equal(r.status, 404);
      assert.match(String(r.json.message), /default@9/);
      r = await post({ strategy: 'default', version: 'two' });
      assert.equal(r.status, 400);
      r = await post({ strategy: 'default', yaml: candidateYaml(2) });
      assert.equal(r.status, 400);
      r = await post({ yaml: 'name: [' });
      assert.equal(r.status, 422);
      assert.equal(r.json.code, 'VIGIL_ERR_STRATEGY_INVALID');
      r = await post({ strategy: 'default', version: 1 });
      assert.equal(r.status, 404, 'default@1 is built in and not stored in this test');
      await store.strategies.save({
        name: 'default',
        version: 1,
        yaml: candidateYaml(1).replace('candidate 1', 'the active one'),
      });
      r = await post({ strategy: 'default', version: 1 });
      assert.equal(r.status, 409);
      assert.equal(r.json.code, 'VIGIL_ERR_SHADOW_CONFLICT');
      assert.match(String(r.json.message), /default@1 is the active version/);
      for (const path of ['/v1/shadows/abc', '/v1/shadows/0']) {
        r = await call(`${s.url}${path}`, 'GET');
        assert.equal(r.status, 400, path);
      }
      r = await call(`${s.url}/v1/shadows/4242`, 'GET');
      assert.equal(r.status, 404);
      assert.match(String(r.json.message), /4242/);
      r = await call(`${s.url}/v1/shadows/4242/promote`, 'POST');
      assert.equal(r.status, 404);
      r = await call(`${s.url}/v1/events?shadow=maybe`, 'GET');
      assert.equal(r.status, 400);
    });

    test('start, compare, discard; start again and promote', async () => {
      await ingest(s, points(['api-1', 'api-2'], 0, 200));
      let r = await call(`${s.url}/v1/shadows`, 'POST', { strategy: 'default', version: 2 });
      assert.equal(r.status, 201, JSON.stringify(r.json));
      const id = r.json.id as number;
      assert.equal(r.json.status, 'running');
      assert.equal(r.json.version, 2);
      r = await call(`${s.url}/v1/shadows`, 'POST', { strategy: 'default' });
      assert.equal(r.status, 409, 'the latest version (2) is already in shadow');
      assert.match(String(r.json.message), new RegExp(`run ${id}`));

      await ingest(s, points(['api-1', 'api-2'], 200, 400, 450));
      r = await call(`${s.url}/v1/shadows/${id}`, 'GET');
      assert.equal(r.status, 200);
      const cmp = r.json.comparison as {
        points: number;
        series: number;
        active: Side;
        candidate: Side;
        mean_delay_ms: number | null;
      };
      assert.equal(cmp.points, 800);
      assert.equal(cmp.series, 2);
      assert.equal(cmp.active.points, 800);
      assert.ok(cmp.active.events >= 1 && cmp.candidate.events >= 1, JSON.stringify(cmp));
      assert.ok(cmp.candidate.overlapping >= 1 && cmp.active.overlapping >= 1);
      assert.equal(typeof cmp.mean_delay_ms, 'number');
      assert.ok((cmp.active.ns_per_point ?? 0) > 0 && (cmp.candidate.ns_per_point ?? 0) > 0);
      assert.equal(cmp.candidate.alarms_per_10k, (cmp.candidate.events * 10_000) / 800);

      // The same numbers on /metrics, labelled with the run and its candidate.
      const metrics = await s.registry.metrics();
      const labels = `run="${id}",strategy="default@2"`;
      assert.match(metrics, new RegExp(`^vigil_shadow_points_total\\{${labels}\\} 800$`, 'm'));
      for (const side of ['active', 'candidate'] as const) {
        const line = new RegExp(
          `^vigil_shadow_events_total\\{${labels},side="${side}"\\} (\\d+)$`,
          'm',
        ).exec(metrics);
        assert.equal(Number(line?.[1]), cmp[side].events, `${side} events on /metrics`);
        assert.match(
          metrics,
          new RegExp(
            `^vigil_shadow_scoring_seconds_per_point\\{${labels},side="${side}"\\} \\S+$`,
            'm',
          ),
        );
      }

      const events = async (q: string) =>
        (await call(`${s.url}/v1/events${q}`, 'GET')).json.events as {
          shadow_run: number | null;
        }[];
      assert.ok((await events('?device=api-1')).every((e) => e.shadow_run === null));
      const only = await events(`?shadow_run=${id}`);
      assert.equal(only.length, cmp.candidate.events);
      assert.ok(only.every((e) => e.shadow_run === id));
      const all = await events('?shadow=true&limit=1000');
      assert.ok(all.some((e) => e.shadow_run === id) && all.some((e) => e.shadow_run === null));

      const candidateCheckpoints = async () =>
        (await store.checkpoints.getAll()).filter((c) => c.key.startsWith(`x:${id}:`));
      await s.engine.checkpoint();
      assert.equal((await candidateCheckpoints()).length, 2, 'one per shadowed series');
      r = await call(`${s.url}/v1/shadows/${id}/discard`, 'POST');
      assert.equal(r.status, 200);
      assert.equal(r.json.status, 'discarded');
      r = await call(`${s.url}/v1/shadows/${id}/discard`, 'POST');
      assert.equal(r.status, 409);
      assert.match(String(r.json.message), /already discarded/);
      r = await call(`${s.url}/v1/shadows/${id}/promote`, 'POST');
      assert.equal(r.status, 409);
      // Its comparison is kept; /metrics drops it, and its candidate checkpoints are deleted.
      r = await call(`${s.url}/v1/shadows/${id}`, 'GET');
      assert.equal((r.json.comparison as { points: number }).points, 800);
      assert.doesNotMatch(await s.registry.metrics(), new RegExp(`run="${id}"`));
      await s.engine.checkpoint();
      assert.deepEqual(await candidateCheckpoints(), []);

      r = await call(`${s.url}/v1/shadows`, 'POST', { yaml: candidateYaml(3) });
      assert.equal(r.status, 201, JSON.stringify(r.json));
      const second = r.json.id as number;
      await ingest(s, points(['api-1', 'api-2'], 600, 50));
      r = await call(`${s.url}/v1/shadows/${second}/promote`, 'POST');
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal((r.json.run as { status: string }).status, 'promoted');
      assert.equal((r.json.reload as { status: string }).status, 'active');
      r = await call(`${s.url}/v1/strategies/active`, 'GET');
      assert.deepEqual(r.json.default, { name: 'default', version: 3 });
      const list = (await call(`${s.url}/v1/shadows`, 'GET')).json.runs as {
        id: number;
        status: string;
        counters: { points: number };
      }[];
      assert.deepEqual(
        list.filter((x) => x.id === id || x.id === second).map((x) => [x.id, x.status]),
        [
          [second, 'promoted'],
          [id, 'discarded'],
        ],
      );
      assert.equal(list.find((x) => x.id === second)?.counters.points, 100);
    });

    test('a restart resumes a running shadow run and its counters', async () => {
      let r = await call(`${s.url}/v1/shadows`, 'POST', { yaml: candidateYaml(4) });
      assert.equal(r.status, 201, JSON.stringify(r.json));
      const id = r.json.id as number;
      await ingest(s, points(['rs-1'], 0, 100));
      await s.close();
      s = await start(store);
      await ingest(s, points(['rs-1'], 100, 60));
      r = await call(`${s.url}/v1/shadows/${id}`, 'GET');
      assert.equal(r.json.status, 'running');
      assert.equal((r.json.comparison as { points: number }).points, 160);
    });
  });
}

shadowApiSuite('PGlite', async () => ({
  store: await openStore(),
  drop: () => Promise.resolve(),
}));

const schema = `vigil_shadow_${process.pid}_${Date.now().toString(36)}`;
shadowApiSuite('PostgreSQL', async () => {
  const store = await openPostgresStore({ databaseUrl: PG_URL, schema });
  return {
    store,
    async drop() {
      await store.close();
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      try {
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
});
