import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { HttpLimits } from './http.js';
import {
  postPoints as post,
  samplePoints as points,
  startTestService,
  type TestService,
} from './testing/running-service.js';

type Running = TestService;

/** The real engine on an in-memory PGlite store, behind a real socket. */
function start(options: { limits?: Partial<HttpLimits> } = {}): Promise<Running> {
  return startTestService({
    heartbeatMs: 200,
    ...(options.limits ? { limits: options.limits } : {}),
  });
}

const T0 = Date.UTC(2026, 0, 1);

async function get(url: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('HTTP server', () => {
  let s: Running;
  before(async () => {
    s = await start({ limits: { bodyBytes: 64 * 1024 } });
  });
  after(async () => {
    await s.stop();
  });

  test('devices and series page by cursor and search by name; a bad cursor is 400', async () => {
    const batch = [];
    for (let i = 0; i < 7; i++) batch.push(...points(`Page-Dev-${i}`, 1));
    assert.equal((await post(s.url, JSON.stringify(batch))).status, 200);
    await s.engine.flush();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const c: string = cursor === null ? '' : `&cursor=${cursor}`;
      const page = await get(`${s.url}/v1/devices?limit=3&q=page-dev${c}`);
      assert.equal(page.status, 200);
      seen.push(...(page.json.devices as string[]));
      cursor = page.json.next_cursor as string | null;
    } while (cursor !== null);
    assert.deepEqual(
      seen,
      Array.from({ length: 7 }, (_, i) => `Page-Dev-${i}`),
    );
    // Without paging parameters: today's whole list, and no next page.
    const whole = await get(`${s.url}/v1/devices`);
    assert.equal(whole.json.next_cursor, null);
    assert.ok((whole.json.devices as string[]).includes('Page-Dev-6'));

    const first = await get(`${s.url}/v1/series?q=page-dev-1&limit=1`);
    assert.deepEqual(
      (first.json.series as { metric: string }[]).map((x) => x.metric),
      ['load'],
    );
    const next = await get(
      `${s.url}/v1/series?q=page-dev-1&limit=1&cursor=${String(first.json.next_cursor)}`,
    );
    assert.deepEqual(next.json.series, [
      { device: 'Page-Dev-1', metric: 'temp', first: T0, last: T0, unit: null },
    ]);
    assert.equal(next.json.next_cursor, null);
    const ofDevice = await get(`${s.url}/v1/series?device=Page-Dev-2&q=TEMP`);
    assert.deepEqual(
      (ofDevice.json.series as { metric: string }[]).map((x) => x.metric),
      ['temp'],
    );

    for (const bad of [
      '/v1/devices?cursor=not-a-cursor',
      `/v1/devices?cursor=${String(first.json.next_cursor)}`, // a series cursor
      '/v1/series?cursor=%24%24',
      '/v1/devices?limit=0',
      '/v1/series?limit=10001',
    ]) {
      const r = await get(`${s.url}${bad}`);
      assert.equal(r.status, 400, bad);
      assert.equal(r.json.code, 'VIGIL_ERR_INPUT', bad);
    }
  });

  test('devices and series filter by tag=key:value; a tag without a colon is 400', async () => {
    const tagged = (device: string, site: string) =>
      points(device, 1).map((p) => ({ ...p, tags: { site, rack: 'r:1' } }));
    const batch = [...tagged('Tag-Dev-1', 'north'), ...tagged('Tag-Dev-2', 'south')];
    assert.equal((await post(s.url, JSON.stringify(batch))).status, 200);
    await s.engine.flush();
    const north = await get(`${s.url}/v1/devices?tag=site:north`);
    assert.equal(north.status, 200);
    assert.deepEqual(north.json.devices, ['Tag-Dev-1']);
    const south = await get(`${s.url}/v1/series?q=tag-dev&tag=site:south`);
    assert.deepEqual(
      (south.json.series as { device: string; metric: string }[]).map((x) => x.metric),
      ['load', 'temp'],
    );
    // Split at the first colon: the value may hold colons.
    const rack = await get(`${s.url}/v1/devices?q=tag-dev&tag=${encodeURIComponent('rack:r:1')}`);
    assert.deepEqual(rack.json.devices, ['Tag-Dev-1', 'Tag-Dev-2']);
    const none = await get(`${s.url}/v1/devices?tag=site:east`);
    assert.deepEqual(none.json.devices, []);
    const bad = await get(`${s.url}/v1/devices?tag=site`);
    assert.equal(bad.status, 400);
    assert.equal(bad.json.code, 'VIGIL_ERR_INPUT');
  });

  test('an unknown route is 404 with VIGIL_ERR_NOT_FOUND', async () => {
    const missing = await get(`${s.url}/v1/nothing`);
    assert.equal(missing.status, 404);
    assert.equal(missing.json.code, 'VIGIL_ERR_NOT_FOUND');
  });

  test('queries return what was ingested', async () => {
    const r = await post(s.url, JSON.stringify(points('pump-q', 120)));
    assert.equal((r.json as { accepted: number }).accepted, 120);
    await s.engine.flush();

    const devices = await get(`${s.url}/v1/devices`);
    assert.ok((devices.json.devices as string[]).includes('pump-q'));

    const series = await get(`${s.url}/v1/series?device=pump-q`);
    assert.deepEqual(series.json.series, [
      { device: 'pump-q', metric: 'load', first: T0, last: T0 + 119_000, unit: null },
      { device: 'pump-q', metric: 'temp', first: T0, last: T0 + 119_000, unit: null },
    ]);

    const from = new Date(T0).toISOString();
    const raw = await get(
      `${s.url}/v1/points?device=pump-q&metric=load&from=${from}&to=${T0 + 10_000}`,
    );
    assert.equal(raw.status, 200);
    assert.equal(raw.json.kind, 'raw');
    assert.deepEqual(raw.json.values, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(raw.json.truncated, false);

    const buckets = await get(
      `${s.url}/v1/points?device=pump-q&metric=load&from=${T0}&to=${T0 + 120_000}&bucket=1m`,
    );
    assert.equal(buckets.json.kind, 'buckets');
    assert.equal(buckets.json.bucket_ms, 60_000);
    assert.deepEqual(buckets.json.times, [T0, T0 + 60_000]);
    assert.deepEqual(buckets.json.count, [60, 60]);
    assert.deepEqual(buckets.json.min, [0, 60]);
    assert.deepEqual(buckets.json.max, [59, 119]);
    assert.deepEqual(buckets.json.avg, [29.5, 89.5]);

    const limited = await get(
      `${s.url}/v1/points?device=pump-q&metric=load&from=${T0}&to=${T0 + 120_000}&limit=5`,
    );
    assert.equal(limited.json.truncated, true);
    assert.equal((limited.json.times as number[]).length, 5);

    const events = await get(`${s.url}/v1/events?device=pump-q&level=alert&limit=10`);
    assert.equal(events.status, 200);
    assert.ok(Array.isArray(events.json.events));
  });

  test('query parameters are checked, naming the parameter', async () => {
    const missing = await get(`${s.url}/v1/points?device=x`);
    assert.equal(missing.status, 400);
    assert.equal(missing.json.code, 'VIGIL_ERR_INPUT');
    assert.match(String(missing.json.message), /metric/);
    const badTime = await get(`${s.url}/v1/points?device=x&metric=y&from=yesterday`);
    assert.equal(badTime.status, 400);
    assert.match(String(badTime.json.message), /^from: /);
    const badBucket = await get(`${s.url}/v1/points?device=x&metric=y&bucket=5 weeks`);
    assert.match(String(badBucket.json.message), /^bucket: /);
    const badLevel = await get(`${s.url}/v1/events?level=panic`);
    assert.equal(badLevel.status, 400);
  });

  test('strategies and their versions', async () => {
    await s.store.strategies.save({ name: 'pumps', version: 1, yaml: 'name: pumps\nversion: 1\n' });
    await s.store.strategies.save({ name: 'pumps', version: 2, yaml: 'name: pumps\nversion: 2\n' });
    const list = await get(`${s.url}/v1/strategies`);
    const pumps = (list.json.strategies as { name: string; latest: number }[]).find(
      (x) => x.name === 'pumps',
    );
    assert.equal(pumps?.latest, 2);
    const versions = await get(`${s.url}/v1/strategies/pumps/versions`);
    assert.deepEqual(
      (versions.json.versions as { version: number; yaml: string }[]).map((v) => [
        v.version,
        v.yaml,
      ]),
      [
        [1, 'name: pumps\nversion: 1\n'],
        [2, 'name: pumps\nversion: 2\n'],
      ],
    );
    const none = await get(`${s.url}/v1/strategies/nope/versions`);
    assert.equal(none.status, 404);
    assert.equal(none.json.code, 'VIGIL_ERR_STRATEGY_NOT_FOUND');
  });

  test('GET /v1/stream sends scores of the device asked for, and heartbeats', async () => {
    const controller = new AbortController();
    const res = await fetch(`${s.url}/v1/stream?device=pump-sse`, { signal: controller.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const sender = setInterval(() => {
      void post(s.url, JSON.stringify(points('pump-sse', 1, Date.now())));
      void post(s.url, JSON.stringify(points('other', 1, Date.now())));
    }, 50);
    try {
      while (!(text.includes('event: score') && text.includes(': heartbeat'))) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
    } finally {
      clearInterval(sender);
      controller.abort();
    }
    const scores = text
      .split('\n\n')
      .filter((m) => m.startsWith('event: score'))
      .map((m) => JSON.parse(m.split('data: ')[1] ?? '{}') as { device_id: string; score: number });
    assert.ok(scores.length > 0);
    for (const score of scores) {
      assert.equal(score.device_id, 'pump-sse');
      assert.equal(typeof score.score, 'number');
    }
  });

  test('/metrics exposes the registry, with ingest and request counters', async () => {
    assert.equal((await post(s.url, JSON.stringify(points('pump-m', 3)))).status, 200);
    const res = await fetch(`${s.url}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    const accepted = /^vigil_ingest_points_total\{protocol="http",result="accepted"\} (\d+)$/m.exec(
      text,
    );
    assert.ok(accepted, text);
    assert.ok(Number(accepted[1]) >= 3);
    assert.match(
      text,
      /^vigil_http_requests_total\{method="POST",route="\/v1\/points",status="200"\} \d+$/m,
    );
    assert.match(text, /^vigil_http_request_duration_seconds_bucket\{.*le="0.005".*\} \d+$/m);
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      assert.match(line, /^[a-zA-Z_:][\w:]*(\{.*\})? ([-+\d.eE]+|NaN|[+-]Inf)$/, line);
    }
  });

  test('/docs is the OpenAPI document, with every route', async () => {
    const doc = await get(`${s.url}/docs`);
    assert.equal(doc.status, 200);
    assert.match(String(doc.json.openapi), /^3\./);
    const paths = Object.keys(doc.json.paths as object);
    for (const p of [
      '/v1/points',
      '/v1/devices',
      '/v1/series',
      '/v1/events',
      '/v1/strategies',
      '/v1/strategies/{name}/versions',
      '/v1/stream',
      '/metrics',
      '/healthz',
      '/readyz',
    ]) {
      assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`);
    }
    const html = await fetch(`${s.url}/docs/ui/`);
    assert.equal(html.status, 200);
  });

  test('/healthz and /readyz', async () => {
    assert.equal((await get(`${s.url}/healthz`)).status, 200);
    const ready = await get(`${s.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(ready.json.status, 'ready');
  });
});
