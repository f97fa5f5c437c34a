import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Store, StoredEvent } from '../../store/store.js';
import { openStore } from '../../store/open-store.js';
import type { EngineFeedItem, ScoredPoint } from '../../engine/engine.js';
import type { Engine } from '../../engine/engine.js';
import { startTestService, type TestService } from '../testing/running-service.js';
import { registerDashboard } from './routes.js';

const NOW = Date.UTC(2026, 0, 2, 12);

function event(id: string, device: string, start: number, end: number | null): StoredEvent {
  return {
    id,
    device,
    metric: 'temp',
    strategy: 'default',
    strategyVersion: 1,
    start,
    end,
    peak: { time: start, score: 0.9, values: { temp: 40 } },
    level: 'alert',
    points: 1,
    explanation: { metrics: [{ name: 'temp', share: 1, observed: 40 }], detectors: [] },
  };
}

describe('dashboard routes', () => {
  let service: TestService;
  let store: Store;
  let engine: Engine;
  let app: FastifyInstance;
  /** The scope each request's route declared (what the auth hook would check), by URL. */
  const scopeOf = new Map<string, string | undefined>();

  before(async () => {
    service = await startTestService({
      routes: ({ app, engine, store }) => {
        app.addHook('onRequest', async (request) => {
          scopeOf.set(request.url, request.routeOptions.config.scope);
        });
        return registerDashboard(app, {
          engine,
          store,
          acceptedPoints: () => engine.stats().accepted,
          clock: () => NOW,
        });
      },
    });
    ({ store, engine, app } = service);
    const points = [];
    for (let i = 0; i < 120; i++) {
      for (const device of ['pump-1', 'pump-2']) {
        points.push({
          timestamp: NOW - 120_000 + i * 1000,
          device_id: device,
          metrics: { temp: 20 + (i % 3) },
        });
      }
    }
    await engine.ingest(points, 'test');
    await engine.flush();
    await store.events.upsert([
      event('pump-1/temp|default@1|a', 'pump-1', NOW - 10 * 60_000, NOW - 9 * 60_000),
      event('pump-1/temp|default@1|b', 'pump-1', NOW - 5 * 3_600_000, NOW - 4 * 3_600_000),
      event('pump-2/temp|default@1|c', 'pump-2', NOW - 30 * 3_600_000, null),
      event('pump-2/temp|default@1|d', 'pump-2', NOW - 30 * 3_600_000, NOW - 29 * 3_600_000),
    ]);
  });

  after(() => service.stop());

  test('GET /v1/overview: devices, series with their live level, event counts', async () => {
    const res = await app.inject('/v1/overview');
    assert.equal(res.statusCode, 200);
    const o = res.json();
    assert.equal(o.now, NOW);
    assert.deepEqual(
      o.devices.map((d: { device: string }) => d.device),
      ['pump-1', 'pump-2'],
    );
    const [p1, p2] = o.devices;
    assert.equal(p1.series[0].metric, 'temp');
    assert.equal(p1.series[0].level, 'ok');
    assert.equal(p1.series[0].scored_at, NOW - 1000);
    assert.equal(p1.series[0].strategy, 'default@1');
    assert.deepEqual([p1.events_hour, p1.events_day, p1.open_events], [1, 2, 0]);
    // An open event started 30 h ago still overlaps the last hour; a closed one 29 h ago does not.
    assert.deepEqual([p2.events_hour, p2.events_day, p2.open_events], [1, 1, 1]);
    assert.deepEqual(o.events, { hour: 2, day: 3, open: 1, capped: false });
    assert.equal(o.ingest.points_total, 240);
  });

  test('GET /v1/overview pages devices by cursor, searches them, and counts the fleet', async () => {
    const first = (await app.inject('/v1/overview?limit=1')).json();
    assert.deepEqual(
      first.devices.map((d: { device: string }) => d.device),
      ['pump-1'],
    );
    assert.deepEqual(first.totals, { devices: 2, series: 2 });
    const second = (await app.inject(`/v1/overview?limit=1&cursor=${first.next_cursor}`)).json();
    assert.deepEqual(
      second.devices.map((d: { device: string }) => d.device),
      ['pump-2'],
    );
    assert.equal(second.next_cursor, null);
    assert.equal(second.devices[0].series[0].metric, 'temp');
    const found = (await app.inject('/v1/overview?q=MP-2')).json();
    assert.deepEqual(
      found.devices.map((d: { device: string }) => d.device),
      ['pump-2'],
    );
    assert.deepEqual(found.events, { hour: 2, day: 3, open: 1, capped: false }, 'fleet-wide');
    const bad = await app.inject('/v1/overview?cursor=x!');
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().code, 'VIGIL_ERR_INPUT');
  });

  test('GET /v1/scores: the recent live scores of a series, bucketed', async () => {
    const res = await app.inject(
      `/v1/scores?device=pump-1&metric=temp&from=${NOW - 60_000}&to=${NOW}&bucket=10s`,
    );
    assert.equal(res.statusCode, 200);
    const s = res.json();
    assert.equal(s.times.length, 6);
    assert.equal(s.times[0], NOW - 60_000);
    assert.equal(s.score.length, 6);
    assert.ok(s.level.every((l: string) => l === 'ok'));
    const bad = await app.inject(`/v1/scores?device=pump-1&metric=temp&bucket=fast`);
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().message, /^bucket: /);
  });

  test('GET /v1/events/:id: one event, ids with / and | URL-encoded; 404 names the id', async () => {
    const id = 'pump-1/temp|default@1|a';
    const res = await app.inject(`/v1/events/${encodeURIComponent(id)}`);
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().id, id);
    assert.equal(res.json().strategy_version, 1);
    const missing = await app.inject(`/v1/events/${encodeURIComponent('nope|x')}`);
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().code, 'VIGIL_ERR_NOT_FOUND');
    assert.match(missing.json().message, /nope\|x/);
  });

  test('the page, its modules and the two browser libraries are served', async () => {
    const page = await app.inject('/');
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-type'] as string, /text\/html/);
    assert.match(page.body, /<script type="importmap">/);
    for (const [url, type] of [
      ['/app.css', /text\/css/],
      ['/js/main.js', /javascript/],
      ['/js/views/strategies.js', /javascript/],
      ['/vendor/uplot/uPlot.esm.js', /javascript/],
      ['/vendor/uplot/uPlot.min.css', /text\/css/],
      ['/vendor/diff/index.js', /javascript/],
    ] as const) {
      const res = await app.inject(url);
      assert.equal(res.statusCode, 200, url);
      assert.match(res.headers['content-type'] as string, type, url);
      assert.equal(scopeOf.get(url), 'public', `${url} needs no token`);
    }
    assert.equal(scopeOf.get('/'), 'public', 'the page needs no token, so it can ask for one');
    // The dashboard's API routes keep their default scope (read).
    await app.inject('/v1/overview');
    assert.equal(scopeOf.get('/v1/overview'), undefined);
    // Every module the page imports must exist: follow the import graph from main.js.
    const seen = new Set<string>();
    const queue = ['/js/main.js'];
    while (queue.length > 0) {
      const url = queue.pop() as string;
      if (seen.has(url)) continue;
      seen.add(url);
      const res = await app.inject(url);
      assert.equal(res.statusCode, 200, `${url} (imported)`);
      for (const m of res.body.matchAll(/from '(\.[^']+)'/g)) {
        queue.push(new URL(m[1] as string, `http://x${url}`).pathname);
      }
    }
    assert.ok(seen.size > 10);
    const missing = await app.inject('/js/nope.js');
    assert.equal(missing.statusCode, 404);
    // Unknown API routes still get the API's error answer, not a static-file one.
    const unknown = await app.inject('/v1/nope');
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().code, 'VIGIL_ERR_NOT_FOUND');
  });

  test('the OpenAPI document lists the new routes', async () => {
    const doc = (await app.inject('/docs')).json();
    for (const p of ['/v1/overview', '/v1/scores', '/v1/events/{id}']) assert.ok(doc.paths[p], p);
  });
});

/** A live feed to publish into by hand (the dashboard only subscribes). */
function handFeed() {
  const listeners = new Set<(item: EngineFeedItem) => void>();
  return {
    subscribe(l: (item: EngineFeedItem) => void) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    score(p: ScoredPoint) {
      for (const l of listeners) l({ type: 'score', point: p });
    },
  };
}

describe('score history beyond the in-memory rings and across a restart', () => {
  const SERIES = 1_200;
  /** Whole minutes inside the store's retention. */
  const T = Math.floor(Date.now() / 60_000) * 60_000 - 30 * 60_000;
  const name = (i: number) => `fleet-${String(i).padStart(4, '0')}`;
  let store: Store;

  before(async () => {
    store = await openStore();
  });
  after(() => store.close());

  function start(feed: ReturnType<typeof handFeed>) {
    return startTestService({
      store,
      routes: ({ app, engine }) =>
        registerDashboard(app, {
          engine: feed,
          store,
          acceptedPoints: () => engine.stats().accepted,
        }),
    });
  }

  async function scoresOf(service: TestService, device: string) {
    const res = await service.app.inject(
      `/v1/scores?device=${device}&metric=temp&from=${T}&to=${T + 10 * 60_000}&bucket=1m`,
    );
    assert.equal(res.statusCode, 200);
    const { times, score, level, stored_before } = res.json() as Record<string, unknown>;
    return { times, score, level, stored_before };
  }

  test('the alert threshold per minute: from memory, then from storage after a restart', async () => {
    // Whole two minutes, so the 2-minute buckets below start where the minutes do.
    const T2 = Math.floor(T / 120_000) * 120_000;
    const feed = handFeed();
    const first = await start(feed);
    let running: TestService | undefined = first;
    after(() => running?.stop());
    const point = (minute: number, second: number, threshold?: readonly [number, number]) =>
      feed.score({
        device_id: 'th-dev',
        metric: 'temp',
        timestamp: T2 + minute * 60_000 + second * 1_000,
        value: 20,
        score: 0.1,
        level: 'ok',
        strategy: 'default@1',
        ...(threshold === undefined ? {} : { threshold }),
      });
    point(0, 5); // warming up: none
    point(0, 35);
    point(1, 5, [18.5, 21.25]);
    point(1, 35);
    point(2, 5, [Number.NaN, 21]); // not finite: none
    point(3, 5, [19, 22]);
    const thresholds = async (service: TestService, bucket: string) => {
      const res = await service.app.inject(
        `/v1/scores?device=th-dev&metric=temp&from=${T2}&to=${T2 + 10 * 60_000}&bucket=${bucket}`,
      );
      assert.equal(res.statusCode, 200);
      const body = res.json() as Record<string, unknown[]>;
      return body.times!.map((t, i) => [
        ((t as number) - T2) / 1000,
        body.threshold_lower![i],
        body.threshold_upper![i],
      ]);
    };
    const perMinute = [
      [0, null, null],
      [60, 18.5, 21.25],
      [120, null, null],
      [180, 19, 22],
    ];
    assert.deepEqual(await thresholds(first, '1m'), perMinute, 'from the ring');
    assert.deepEqual(
      await thresholds(first, '2m'),
      [
        [0, 18.5, 21.25],
        [120, 19, 22],
      ],
      'the first of each bucket',
    );
    running = undefined;
    await first.stop();
    const second = await start(handFeed());
    running = second;
    assert.deepEqual(await thresholds(second, '1m'), perMinute, 'from storage');
  });

  test('every series shows its scores, the first of 1,200 too, and after a restart', async () => {
    const feed = handFeed();
    const first = await start(feed);
    let running: TestService | undefined = first;
    after(() => running?.stop());
    // Three minutes of scores for 1,200 series: more than the 1,000 rings in memory.
    for (let minute = 0; minute < 3; minute++) {
      for (let i = 0; i < SERIES; i++) {
        feed.score({
          device_id: name(i),
          metric: 'temp',
          timestamp: T + minute * 60_000 + 5_000,
          value: i,
          score: minute === 1 ? 9 : 0.5,
          level: minute === 1 ? 'severe' : 'ok',
          strategy: 'default@1',
        });
      }
    }
    const scored = {
      times: [T, T + 60_000, T + 120_000],
      score: [0.5, 9, 0.5],
      level: ['ok', 'severe', 'ok'],
    };
    /** Everything in the asked range came from storage. */
    const expected = { ...scored, stored_before: T + 10 * 60_000 };
    // 1,200 series scored in turn through 1,000 rings: each lost its ring before its next score,
    // so the last series' ring holds its last minute and storage the minutes before.
    assert.deepEqual(await scoresOf(first, name(SERIES - 1)), {
      ...scored,
      stored_before: T + 125_000,
    });
    assert.deepEqual(await scoresOf(first, name(0)), expected);
    running = undefined;
    await first.stop();

    // A new process on the same storage: nothing published since it started.
    const second = await start(handFeed());
    running = second;
    assert.deepEqual(await scoresOf(second, name(0)), expected);
    assert.deepEqual(await scoresOf(second, name(700)), expected);
  });
});
