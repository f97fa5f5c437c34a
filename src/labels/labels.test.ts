import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { runAb } from '../cli/ab.js';
import { Rng } from '../core/stats/rng.js';
import { startTestService, type TestService } from '../server/testing/running-service.js';
import { openStore } from '../store/open-store.js';
import type { Store, StoredEvent } from '../store/store.js';
import { formatTimestamp, nabLabelsFromEvents, writeNabCorpus } from './nab-export.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 1);
const ROWS = 2000;
const at = (row: number) => T0 + row * MINUTE;

function event(id: string, from: number, to: number | null, extra: Partial<StoredEvent> = {}) {
  return {
    id,
    device: 'pump',
    metric: 'temp',
    strategy: 'default',
    strategyVersion: 1,
    start: at(from),
    end: to === null ? null : at(to),
    peak: { time: at(from), score: 0.9, values: { temp: 100 } },
    level: 'alert',
    points: 1,
    explanation: null,
    ...extra,
  } satisfies StoredEvent;
}

/** A noisy daily wave with one big spike at row 1500; stored, with three events. */
async function seed(store: Store): Promise<void> {
  const rng = Rng.fromSeed(7);
  const times: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < ROWS; i++) {
    times.push(at(i));
    values.push(
      i === 1500 ? 100 : 20 + 3 * Math.sin((2 * Math.PI * i) / 1440) + rng.uniform(-1, 1),
    );
  }
  const appender = store.appender();
  appender.append({
    devices: times.map(() => 'pump'),
    metrics: times.map(() => 'temp'),
    times,
    values,
  });
  await appender.commit();
  await store.events.upsert([
    event('ev-spike', 1500, 1502),
    event('ev-blip', 1000, 1000),
    event('ev-other', 1200, 1201, { strategy: 'fast' }),
  ]);
}

describe('NAB windows from labels', () => {
  const labelled = (e: StoredEvent, label: 'anomaly' | 'false_alarm'): StoredEvent => ({
    ...e,
    label: { label, note: null, at: 0, by: null },
  });

  it('one window per anomaly event, padded and merged; other labels add the series only', () => {
    const { windows } = nabLabelsFromEvents(
      [
        labelled(event('a', 100, 110), 'anomaly'),
        labelled(event('b', 112, 115), 'anomaly'), // within the pad of a: merged
        labelled(
          event('c', 500, null, { peak: { time: at(503), score: 1, values: {} } }),
          'anomaly',
        ),
        labelled(event('d', 800, 800, { device: 'fan', metric: 'rpm' }), 'false_alarm'),
        labelled(
          event('e', 50, 51, {
            device: 'press',
            metric: null,
            peak: { time: at(50), score: 1, values: { p: 1, q: 2 } },
          }),
          'anomaly',
        ),
        event('f', 900, 901), // unlabelled: ignored
      ],
      MINUTE,
    );
    assert.deepEqual(windows, {
      'fan/rpm.csv': [],
      'press/p.csv': [[formatTimestamp(at(49)), formatTimestamp(at(52))]],
      'press/q.csv': [[formatTimestamp(at(49)), formatTimestamp(at(52))]],
      'pump/temp.csv': [
        [formatTimestamp(at(99)), formatTimestamp(at(116))],
        [formatTimestamp(at(499)), formatTimestamp(at(504))],
      ],
    });
    assert.equal(formatTimestamp(T0 + 1500), '2026-01-01 00:00:01.500');
    assert.equal(formatTimestamp(T0), '2026-01-01 00:00:00');
  });
});

describe('labels round trip: API → NAB labels → vigil ab', () => {
  let service: TestService;
  let dir: string;
  let store: Store;
  let url: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-labels-'));
    service = await startTestService();
    ({ store, url } = service);
    await seed(store);
  });
  after(async () => {
    await service.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const call = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${url}${route}`, {
      method,
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  it('labels events, filters and summarises them, and answers bad requests clearly', async () => {
    const put = await call('PUT', '/v1/events/ev-spike/label', {
      label: 'anomaly',
      note: 'seal failed',
    });
    assert.equal(put.status, 200);
    assert.equal(put.json.id, 'ev-spike');
    assert.equal(put.json.label, 'anomaly');
    assert.equal(put.json.label_note, 'seal failed');
    assert.equal(typeof put.json.labelled_at, 'number');
    assert.equal((await call('PUT', '/v1/events/ev-blip/label', { label: 'unsure' })).status, 200);
    assert.equal(
      (await call('PUT', '/v1/events/ev-blip/label', { label: 'false_alarm', by: 'ann' })).json
        .labelled_by,
      'ann',
    );
    assert.equal(
      (await call('PUT', '/v1/events/ev-other/label', { label: 'anomaly' })).status,
      200,
    );
    const cleared = await call('DELETE', '/v1/events/ev-other/label');
    assert.equal(cleared.status, 200);
    assert.equal(cleared.json.label, null);

    const bad = await call('PUT', '/v1/events/ev-spike/label', { label: 'maybe' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.code, 'VIGIL_ERR_INPUT');
    assert.match(
      String(bad.json.message),
      /^label: expected one of "anomaly", "false_alarm", "unsure", found "maybe"/,
    );
    const extra = await call('PUT', '/v1/events/ev-spike/label', {
      label: 'anomaly',
      colour: 'red',
    });
    assert.match(String(extra.json.message), /unknown field\(s\) colour/);
    const missing = await call('PUT', '/v1/events/nope/label', { label: 'anomaly' });
    assert.equal(missing.status, 404);
    assert.equal(missing.json.code, 'VIGIL_ERR_NOT_FOUND');
    assert.equal((await call('DELETE', '/v1/events/nope/label')).status, 404);

    const ids = async (filter: string) =>
      ((await call('GET', `/v1/events?label=${filter}`)).json.events as { id: string }[]).map(
        (e) => e.id,
      );
    assert.deepEqual(await ids('anomaly'), ['ev-spike']);
    assert.deepEqual(await ids('false_alarm'), ['ev-blip']);
    assert.deepEqual(await ids('none'), ['ev-other']);
    assert.deepEqual(await ids('any'), ['ev-spike', 'ev-blip']);
    assert.equal((await call('GET', '/v1/events?label=maybe')).status, 400);
    const all = (await call('GET', '/v1/events')).json.events as {
      id: string;
      label: string | null;
    }[];
    assert.deepEqual(
      all.map((e) => [e.id, e.label]),
      [
        ['ev-spike', 'anomaly'],
        ['ev-other', null],
        ['ev-blip', 'false_alarm'],
      ],
    );

    const summary = await call('GET', '/v1/labels/summary');
    assert.deepEqual(summary.json.strategies, [
      {
        strategy: 'default',
        events: 2,
        labelled: 2,
        anomaly: 1,
        false_alarm: 1,
        unsure: 0,
        precision: 0.5,
      },
      {
        strategy: 'fast',
        events: 1,
        labelled: 0,
        anomaly: 0,
        false_alarm: 0,
        unsure: 0,
        precision: null,
      },
    ]);
  });

  it('exports NAB windows that vigil ab scores the stored points against', async () => {
    const exported = await call('GET', '/v1/labels/export?format=nab');
    assert.deepEqual(exported.json, {
      'pump/temp.csv': [[formatTimestamp(at(1500)), formatTimestamp(at(1502))]],
    });
    const padded = await call('GET', '/v1/labels/export?format=nab&pad=5m');
    assert.deepEqual(padded.json, {
      'pump/temp.csv': [[formatTimestamp(at(1495)), formatTimestamp(at(1507))]],
    });
    assert.equal((await call('GET', '/v1/labels/export?pad=soon')).status, 400);

    const labelsFile = path.join(dir, 'labels.json');
    await writeFile(labelsFile, JSON.stringify(exported.json));
    // The stored points, exported as a NAB-layout folder.
    const data = path.join(dir, 'corpus');
    const labels = nabLabelsFromEvents(await store.querier.events({ label: 'any' }));
    assert.deepEqual(await writeNabCorpus(store, labels, data), { files: 1, points: ROWS });
    assert.deepEqual(
      JSON.parse(await readFile(path.join(data, 'labels', 'combined_windows.json'), 'utf8')),
      exported.json,
    );
    const outcome = await runAb({ a: 'fast', b: 'default', data, labels: labelsFile });
    assert.equal(outcome.meta.points, ROWS);
    const { a, b } = outcome.comparison;
    assert.equal(a.counts.windows, 1);
    assert.equal(b.counts.windows, 1);
    // The spike is unmissable: both detect the labelled window, and the NAB score exists.
    assert.equal(a.counts.detectedWindows, 1);
    assert.equal(b.counts.detectedWindows, 1);
    assert.ok(a.nab.standard !== null && b.nab.standard !== null);
  });
});

describe('vigil labels export on PostgreSQL, then vigil nab run and nab score', () => {
  const DB = process.env.VIGIL_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
  const schema = `vigil_labels_${process.pid}_${Date.now().toString(36)}`;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-labels-pg-'));
    const store = await openStore({ databaseUrl: DB, schema });
    try {
      await seed(store);
      await store.events.setLabel('ev-spike', { label: 'anomaly', by: 'test' });
      await store.events.setLabel('ev-blip', { label: 'false_alarm' });
    } finally {
      await store.close();
    }
  });
  after(async () => {
    const c = new pg.Client({ connectionString: DB });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the windows and a NAB corpus that the NAB commands score', async () => {
    const out = path.join(dir, 'windows.json');
    const data = path.join(dir, 'corpus');
    const { stdout } = await run(process.execPath, [
      cli,
      'labels',
      'export',
      '--database-url',
      DB,
      '--schema',
      schema,
      '--out',
      out,
      '--data',
      data,
    ]);
    assert.match(stdout, /2 labelled events → 1 anomaly windows in 1 series/);
    assert.match(stdout, /corpus: 1 series, 2000 points/);
    assert.deepEqual(JSON.parse(await readFile(out, 'utf8')), {
      'pump/temp.csv': [[formatTimestamp(at(1500)), formatTimestamp(at(1502))]],
    });
    const results = path.join(dir, 'results');
    const ran = await run(process.execPath, [
      cli,
      'nab',
      'run',
      '--strategy',
      'fast',
      '--data',
      data,
      '--out',
      results,
      '--workers',
      '1',
    ]);
    const last = (s: string) =>
      JSON.parse(s.trimEnd().split('\n').pop()!) as Record<string, number>;
    const scored = await run(process.execPath, [
      cli,
      'nab',
      'score',
      '--results',
      results,
      '--data',
      data,
    ]);
    assert.deepEqual(last(scored.stdout), last(ran.stdout));
    assert.ok(last(ran.stdout).standard! > 0);
  });
});
