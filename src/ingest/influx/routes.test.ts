import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync, gzipSync } from 'node:zlib';
import { startTestService, type TestService } from '../../server/testing/running-service.js';
import { sampleValue } from '../../metrics/testing.js';
import { openStore } from '../../store/open-store.js';
import type { Store } from '../../store/store.js';
import { registerInfluxRoutes, type InfluxRoutesOptions } from './routes.js';

type Running = TestService;

const RECEIVED = Date.UTC(2026, 0, 2);

/** The real engine on in-memory PGlite, the real HTTP server with the Influx routes, a socket. */
// Opening PGlite is the slow part (seconds on a loaded machine): one store for the file, an
// engine and server per configuration.
let shared: Store | undefined;
after(async () => {
  await shared?.close();
});

async function start(
  options: { queueLimit?: number; routes?: Partial<InfluxRoutesOptions> } = {},
): Promise<Running> {
  shared ??= await openStore();
  return startTestService({
    ...(options.queueLimit === undefined ? {} : { queueLimit: options.queueLimit }),
    store: shared,
    routes: ({ app, engine, registry }) =>
      registerInfluxRoutes(app, { engine, registry, clock: () => RECEIVED, ...options.routes }),
  });
}

async function write(
  url: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'text/plain; charset=utf-8', ...headers },
    body,
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

async function values(s: Running, device: string, metric: string) {
  await s.engine.flush();
  const r = await s.store.querier.points({ device, metric, from: 0, to: Date.UTC(2100, 0, 1) });
  assert.equal(r.kind, 'raw');
  return r.kind === 'raw' ? { times: Array.from(r.times), values: Array.from(r.values) } : null;
}

/** `vigil_ingest_points_total{protocol="influx",result}` (0 when absent). */
const counted = (s: Running, result: string): Promise<number> =>
  sampleValue(s.registry, 'vigil_ingest_points_total', `protocol="influx",result="${result}"`);

describe('Influx write endpoints', () => {
  let s: Running;
  before(async () => {
    s = await start({ routes: { bodyBytes: 64 * 1024 } });
  });
  after(async () => {
    await s.stop();
  });

  test('a Telegraf-shaped gzip body to /api/v2/write is stored and scored (204)', async () => {
    // What Telegraf's outputs.influxdb_v2 sends: gzip, ns timestamps, host tag, string fields.
    const t0 = 1767268800000000000n;
    const lines: string[] = [];
    for (let i = 0; i < 60; i++) {
      const t = t0 + BigInt(i) * 10_000_000_000n;
      lines.push(
        `cpu,cpu=cpu-total,host=tele-1 usage_user=${(10 + (i % 7)).toFixed(1)},usage_system=${i % 3}.5 ${t}`,
        `mem,host=tele-1 used_percent=${40 + (i % 5)},available=${1000 + i}i ${t}`,
        `system,host=tele-1 uptime=${i}u,uptime_format="0 days,  ${i}:00" ${t}`,
      );
    }
    const before = s.engine.stats().scored;
    const r = await write(
      `${s.url}/api/v2/write?org=acme&bucket=telegraf&precision=ns`,
      gzipSync(lines.join('\n') + '\n'),
      { 'content-encoding': 'gzip', authorization: 'Token anything' },
    );
    assert.equal(r.status, 204, r.text);
    const user = await values(s, 'tele-1', 'cpu.usage_user');
    assert.equal(user?.times.length, 60);
    assert.equal(user?.times[1], 1767268810000);
    assert.equal(user?.values[0], 10);
    assert.deepEqual(
      (await values(s, 'tele-1', 'mem.available'))?.values.slice(0, 2),
      [1000, 1001],
    );
    assert.equal((await values(s, 'tele-1', 'system.uptime'))?.times.length, 60);
    assert.ok(s.engine.stats().scored >= before + 60 * 5, 'the points were scored');
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(metrics, /vigil_ingest_points_total\{protocol="influx",result="accepted"\} 180/);
    assert.match(metrics, /vigil_influx_string_fields_skipped_total 60/);
  });

  test('tags other than the device tag are kept; measurement is the device without host', async () => {
    const r = await write(
      `${s.url}/api/v2/write?precision=s`,
      'weather,location=us\\ midwest,season=summer temperature=82,raining=true 1767268800\n',
    );
    assert.equal(r.status, 204, r.text);
    const series = await s.store.querier.series('weather');
    assert.deepEqual(
      series.map((x) => x.metric),
      ['weather.raining', 'weather.temperature'],
    );
    assert.deepEqual(await values(s, 'weather', 'weather.raining'), {
      times: [1767268800000],
      values: [1],
    });
  });

  test('precision of v1 /write: n u ms s m h; a missing timestamp is the receive time', async () => {
    const cases: [string, string, number][] = [
      ['n', '1767268800123456789', 1767268800123],
      ['u', '1767268800123456', 1767268800123],
      ['ms', '1767268800123', 1767268800123],
      ['s', '1767268800', 1767268800000],
      ['m', '29454480', 1767268800000],
      ['h', '490908', 1767268800000],
    ];
    for (const [precision, ts, ms] of cases) {
      const device = `prec-${precision}`;
      const r = await write(
        `${s.url}/write?db=telegraf&precision=${precision}`,
        `m,host=${device} v=1 ${ts}`,
      );
      assert.equal(r.status, 204, `${precision}: ${r.text}`);
      assert.deepEqual((await values(s, device, 'm.v'))?.times, [ms], precision);
    }
    const r = await write(`${s.url}/write`, 'm,host=no-time v=1,w=2');
    assert.equal(r.status, 204, r.text);
    assert.deepEqual((await values(s, 'no-time', 'm.v'))?.times, [RECEIVED]);
    const bad = await write(`${s.url}/api/v2/write?precision=h`, 'm v=1 1');
    assert.equal(bad.status, 400);
    assert.equal(
      (JSON.parse(bad.text) as { message: string }).message,
      'precision: "h" is not one of ns, us, ms, s',
    );
  });

  test('a partial failure is 400 naming each failing line; the good lines are stored', async () => {
    const body = [
      '# telegraf batch',
      'pf,host=pf-1 v=1 1767268800000',
      'pf,host=pf-1 v= 1767268801000',
      'pf,host=pf-1 v=3 1767268802000',
      'pf,host=pf-1 status="ok" 1767268803000',
      'pf,host=pf-1 v=5 4102444800001',
      'pf,host=pf-1 v=6 1767268804000',
    ].join('\n');
    const [accepted, rejected] = [await counted(s, 'accepted'), await counted(s, 'rejected')];
    const r = await write(`${s.url}/api/v2/write?precision=ms`, body);
    assert.equal(r.status, 400);
    // Lines 3 and 5 refused by the route, line 6 by the engine: every line counted once.
    assert.equal((await counted(s, 'accepted')) - accepted, 3);
    assert.equal((await counted(s, 'rejected')) - rejected, 3);
    const json = JSON.parse(r.text) as {
      code: string;
      message: string;
      accepted: number;
      errors: { line: number; code: string; what: string; message: string }[];
    };
    assert.equal(json.code, 'VIGIL_ERR_INPUT');
    assert.equal(json.accepted, 3);
    assert.match(json.message, /^partial write: 3 of 6 lines rejected, 3 accepted; first: line 3/);
    assert.deepEqual(
      json.errors.map((e) => [e.line, e.what]),
      [
        [3, 'field "v"'],
        [5, 'fields'],
        [6, 'point'],
      ],
    );
    assert.match(json.errors[0]!.message, /line 3: field "v": missing value/);
    assert.match(json.errors[1]!.message, /no numeric field/);
    assert.match(json.errors[2]!.message, /line 6: timestamp: 4102444800001 is outside/);
    assert.deepEqual((await values(s, 'pf-1', 'pf.v'))?.values, [1, 3, 6]);
  });

  test('every line rejected is 400 "no lines written", not a partial write (v2 and v1)', async () => {
    for (const path of ['/api/v2/write?precision=ms', '/write?precision=ms']) {
      const one = await write(`${s.url}${path}`, 'nl,host=nl-1 v= 1767268800000');
      assert.equal(one.status, 400, path);
      const json = JSON.parse(one.text) as { code: string; message: string; accepted: number };
      assert.equal(json.code, 'VIGIL_ERR_INPUT');
      assert.equal(json.accepted, 0);
      assert.equal(
        json.message,
        'no lines written: 1 of 1 lines rejected; first: line 1: field "v": missing value',
      );
      assert.doesNotMatch(json.message, /partial/);
      // Refused by the engine, not the parser: still nothing written.
      const late = await write(`${s.url}${path}`, 'nl,host=nl-1 v=1 4102444800001\nnl v=');
      assert.match(
        (JSON.parse(late.text) as { message: string }).message,
        /^no lines written: 2 of 2 lines rejected; first: line 1: timestamp: 4102444800001 is outside/,
      );
    }
    assert.equal(await values(s, 'nl-1', 'nl.v').then((v) => v?.values.length), 0);
  });

  test('a deflate body is inflated as gzip is; another encoding is 415', async () => {
    const ok = await write(
      `${s.url}/api/v2/write?precision=ms`,
      deflateSync('df,host=df-1 v=7 1767268800000\n'),
      { 'content-encoding': 'deflate' },
    );
    assert.equal(ok.status, 204, ok.text);
    assert.deepEqual((await values(s, 'df-1', 'df.v'))?.values, [7]);
    const br = await write(`${s.url}/api/v2/write`, 'm v=1', { 'content-encoding': 'br' });
    assert.equal(br.status, 415);
    assert.match(br.text, /Content-Encoding \\"br\\": send gzip, deflate or no encoding/);
  });

  test('too large: 413 for the body, for the decompressed body and for the line count', async () => {
    const big = 'm,host=big v=1\n'.repeat(6000);
    const plain = await write(`${s.url}/api/v2/write`, big);
    assert.equal(plain.status, 413);
    assert.match(plain.text, /VIGIL_ERR_PAYLOAD_TOO_LARGE/);
    const bomb = await write(`${s.url}/api/v2/write`, gzipSync('#'.repeat(1_000_000)), {
      'content-encoding': 'gzip',
    });
    assert.equal(bomb.status, 413);
    assert.match(bomb.text, /decompressed body larger than the limit of 65536 bytes/);
    const notGzip = await write(`${s.url}/api/v2/write`, 'm v=1', { 'content-encoding': 'gzip' });
    assert.equal(notGzip.status, 400);
    assert.match(notGzip.text, /not gzip/);
  });

  for (const [name, bad] of [
    ['a broken pair C3 28', [0xc3, 0x28]],
    ['an overlong C0 AF', [0xc0, 0xaf]],
  ] as const) {
    test(`${name} in the device tag is refused whole (plain and gzip), naming the byte`, async () => {
      const device = `u8-${bad[0]}`;
      const body = Buffer.concat([
        Buffer.from(`u8,host=${device}-ok v=1 1767268800000\nu8,host=${device}`),
        Buffer.from(bad),
        Buffer.from(' v=2 1767268801000\n'),
      ]);
      const at = body.indexOf(Buffer.from(bad));
      const plain = await write(`${s.url}/api/v2/write?precision=ms`, body);
      assert.equal(plain.status, 400);
      assert.match(plain.text, /VIGIL_ERR_INPUT/);
      assert.match(plain.text, new RegExp(`body is not valid UTF-8 at byte ${at}`));
      const gz = await write(`${s.url}/api/v2/write?precision=ms`, gzipSync(body), {
        'content-encoding': 'gzip',
      });
      assert.equal(gz.status, 400);
      assert.match(gz.text, new RegExp(`decompressed body is not valid UTF-8 at byte ${at}`));
      await s.engine.flush();
      const stored = await s.store.querier.devices();
      assert.deepEqual(
        stored.filter((d) => d.startsWith(device)),
        [],
      );
    });
  }

  test('valid multi-byte UTF-8 (CJK, emoji) in tags is accepted and stored as sent', async () => {
    const body = 'u8,host=泵-七 v=1 1767268800000\nu8,host=pump-🚰 v=2 1767268800000';
    const r = await write(`${s.url}/api/v2/write?precision=ms`, Buffer.from(body));
    assert.equal(r.status, 204, r.text);
    assert.deepEqual((await values(s, '泵-七', 'u8.v'))?.values, [1]);
    assert.deepEqual((await values(s, 'pump-🚰', 'u8.v'))?.values, [2]);
  });

  test('any content type, or none, is read as line protocol', async () => {
    for (const type of ['application/octet-stream', 'application/json', '']) {
      const res = await fetch(`${s.url}/api/v2/write?precision=s`, {
        method: 'POST',
        headers: type === '' ? {} : { 'content-type': type },
        body: Buffer.from(`ct,host=ct v=1 ${1767268800 + type.length}`),
      });
      assert.equal(res.status, 204, `${type}: ${await res.text()}`);
    }
  });
});

test('mapping options, line limit, backpressure: 413 on too many lines, 429 with Retry-After', async () => {
  const s = await start({
    queueLimit: 4,
    routes: { linesPerRequest: 5, mapping: { deviceTag: 'sensor', metricName: 'field' } },
  });
  try {
    const r = await write(
      `${s.url}/api/v2/write?precision=s`,
      'env,sensor=s-9,host=gw temp=21.5 1767268800',
    );
    assert.equal(r.status, 204, r.text);
    await s.engine.flush();
    const series = await s.store.querier.series('s-9');
    assert.deepEqual(
      series.map((x) => x.metric),
      ['temp'],
    );
    const many = await write(`${s.url}/api/v2/write`, 'm v=1\n'.repeat(6));
    assert.equal(many.status, 413);
    assert.match(many.text, /6 lines in one request, the limit is 5/);
    const full = await write(
      `${s.url}/api/v2/write`,
      'm v=1 1\nm v=1 2\nm v=1 3\nm v=1 4\nm v=1 5',
    );
    assert.equal(full.status, 429);
    assert.match(full.text, /VIGIL_ERR_BACKPRESSURE/);
    assert.ok(Number(full.headers.get('retry-after')) >= 1);
    assert.equal(await counted(s, 'backpressure'), 5);
  } finally {
    await s.stop();
  }
});

test('a 100k-character measurement gets an answer under 1 KB naming the limit', async () => {
  const s = await start({ routes: { bodyBytes: 1024 * 1024 } });
  try {
    const r = await write(`${s.url}/api/v2/write`, `${'m'.repeat(100_000)},host=h v=1`);
    assert.equal(r.status, 400);
    assert.ok(r.text.length < 1024, `${r.text.length} bytes`);
    assert.match(r.text, /influx\.max_name_length/);
  } finally {
    await s.stop();
  }
});
