/**
 * The Grafana series dashboard over Vigil's own tables (deploy/grafana/vigil-series-postgres.json):
 * its structure, its provisioning in compose, and every SQL query it holds run against the real
 * PostgreSQL after Vigil's migrations, with Grafana's macros expanded as Grafana expands them for
 * plain PostgreSQL, on rows whose answers are known. That proves the SQL, not only the JSON.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { parse as parseYaml } from 'yaml';
import { openPostgresStore } from '../store/postgres-store.js';
import { DEPLOY_DIR } from './deploy-files.js';

const URL = process.env.VIGIL_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const SCHEMA = `apifix_grafana_${process.pid}_${Date.now().toString(36)}`;
const DS_TYPE = 'grafana-postgresql-datasource';
const T0 = Date.UTC(2026, 0, 1, 12);
const iso = (ms: number) => new Date(ms).toISOString();

interface Target {
  readonly refId: string;
  readonly rawSql: string;
  readonly rawQuery: boolean;
  readonly format: string;
  readonly datasource: { type: string; uid: string };
}
interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos: { h: number; w: number; x: number; y: number };
  readonly datasource: { type: string; uid: string };
  readonly targets: Target[];
}
interface Variable {
  readonly name: string;
  readonly type: string;
  readonly query: string;
  readonly multi?: boolean;
  readonly datasource?: { type: string; uid: string };
}
interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly templating: { list: Variable[] };
  readonly annotations: {
    list: { name: string; enable: boolean; datasource: { uid: string }; target: Target }[];
  };
  readonly panels: Panel[];
}

/** A value as Grafana's `:sqlstring` format writes it: quoted, `'` doubled. */
const sqlString = (v: string) => `'${v.replaceAll("'", "''")}'`;

/**
 * The SQL Grafana sends for `sql` with the PostgreSQL data source (TimescaleDB option off), the
 * time range [from, to], the interval and the variables' values.
 */
function expand(
  sql: string,
  range: { from: number; to: number; intervalS: number },
  vars: { device: string; metric: readonly string[] },
): string {
  const s = range.intervalS;
  const out = sql
    .replace(
      /\$__timeGroupAlias\(([\w"]+),\s*\$__interval\)/g,
      (_m, col: string) => `floor(extract(epoch from ${col})/${s})*${s} AS "time"`,
    )
    .replace(
      /\$__timeFilter\(([\w"]+)\)/g,
      (_m, col: string) => `${col} BETWEEN '${iso(range.from)}' AND '${iso(range.to)}'`,
    )
    .replaceAll('$__timeFrom()', `'${iso(range.from)}'`)
    .replaceAll('$__timeTo()', `'${iso(range.to)}'`)
    .replaceAll('${device:sqlstring}', sqlString(vars.device))
    .replaceAll('${metric:sqlstring}', vars.metric.map(sqlString).join(','));
  assert.doesNotMatch(out, /\$/, `a macro or variable left unexpanded in:\n${out}`);
  return out;
}

describe('the Grafana series dashboard (PostgreSQL / TimescaleDB data source)', () => {
  let dashboard: Dashboard;
  let db: pg.Client;

  before(async () => {
    dashboard = JSON.parse(
      await readFile(path.join(DEPLOY_DIR, 'grafana', 'vigil-series-postgres.json'), 'utf8'),
    ) as Dashboard;
    // Vigil's migrations, as `vigil serve` runs them, in a schema of this run's own.
    const store = await openPostgresStore({ databaseUrl: URL, schema: SCHEMA });
    await store.close();
    db = new pg.Client({ connectionString: URL, options: `-c search_path=${SCHEMA},public` });
    await db.connect();
    const m = 60_000;
    await db.query(
      `INSERT INTO points (device_id, metric, time, value) VALUES
        ('pump ''7''', 'temp', $1, 1), ('pump ''7''', 'temp', $2, 3), ('pump ''7''', 'temp', $3, 10),
        ('pump ''7''', 'load', $1, 50), ('pump-2', 'temp', $1, 99)`,
      [iso(T0), iso(T0 + 30_000), iso(T0 + 90_000)],
    );
    await db.query(
      `INSERT INTO series (device_id, metric, first_time, last_time) VALUES
        ('pump ''7''', 'temp', $1, $2), ('pump ''7''', 'load', $1, $1), ('pump-2', 'temp', $1, $1)`,
      [iso(T0), iso(T0 + 90_000)],
    );
    await db.query(
      `INSERT INTO score_history (device_id, metric, time, score, level) VALUES
        ('pump ''7''', 'temp', $1, 0.25, 0), ('pump ''7''', 'temp', $2, 0.5, 1),
        ('pump ''7''', 'temp', $3, 0.875, 2), ('pump-2', 'temp', $1, 1, 2)`,
      [iso(T0), iso(T0 + 20_000), iso(T0 + m)],
    );
    const event = (id: string, device: string, metric: string | null, start: number) => [
      id,
      device,
      metric,
      iso(start),
    ];
    const rows = [
      // closed, on temp: shown
      [...event('e-closed', "pump '7'", 'temp', T0 + m), iso(T0 + 2 * m), 'severe', 0.875, null],
      // open, device-level (metric null): shown
      [...event('e-open', "pump '7'", null, T0 + 3 * m), null, 'alert', 0.6, null],
      // a shadow run's: left out
      [...event('e-shadow', "pump '7'", 'temp', T0 + m), iso(T0 + 2 * m), 'alert', 0.7, 1],
      // another device's: left out
      [...event('e-other', 'pump-2', 'temp', T0 + m), iso(T0 + 2 * m), 'alert', 0.7, null],
      // ended before the range: left out
      [...event('e-old', "pump '7'", 'temp', T0 - 180 * m), iso(T0 - 120 * m), 'alert', 0.7, null],
    ];
    for (const r of rows) {
      await db.query(
        `INSERT INTO events (id, device_id, metric, start_time, end_time, level, peak_score,
           shadow_run, strategy, strategy_version, peak_time, peak_values, points)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'default', 3, $4, '{}', 12)`,
        r,
      );
    }
  });

  before(async () => {
    const m = 60_000;
    // closed (acknowledged, then its events ended), open (firing), another device's, one long past
    const rows = [
      ['i-closed', "pump '7'", 'severe', 'resolved', T0 + m, T0 + 2 * m, 'ops', 'ana'],
      ['i-open', "pump '7'", 'alert', 'firing', T0 + 3 * m, null, null, null],
      ['i-other', 'pump-2', 'alert', 'firing', T0 + m, null, null, null],
      ['i-old', "pump '7'", 'alert', 'resolved', T0 - 180 * m, T0 - 120 * m, null, null],
    ] as const;
    for (const [id, device, level, state, first, end, ackBy, assignee] of rows) {
      await db.query(
        `INSERT INTO incidents (id, device_id, metrics, level, state, first_time, last_time,
           end_time, event_ids, acknowledged_by, assignee)
         VALUES ($1, $2, '["temp"]', $3, $4, $5, $5, $6, '[]', $7, $8)`,
        [id, device, level, state, iso(first), end === null ? null : iso(end), ackBy, assignee],
      );
    }
  });

  after(async () => {
    await db?.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await db?.end();
  });

  const range = { from: T0 - 3_600_000, to: T0 + 3_600_000, intervalS: 60 };
  const vars = { device: "pump '7'", metric: ['temp'] };
  const run = async (sql: string) => (await db.query(expand(sql, range, vars))).rows;
  const panel = (type: string, title: RegExp): Panel => {
    const found = dashboard.panels.find((p) => p.type === type && title.test(p.title));
    assert.ok(found, `no ${type} panel titled ${String(title)}`);
    return found;
  };
  const sqlOf = (p: Panel) => p.targets[0]!.rawSql;

  test('structure: templated data source, device and metric; panels with SQL targets', () => {
    assert.equal(dashboard.uid, 'vigil-series-postgres');
    const byName = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    assert.deepEqual([...byName.keys()], ['datasource', 'device', 'metric']);
    assert.equal(byName.get('datasource')?.type, 'datasource');
    assert.equal(byName.get('datasource')?.query, DS_TYPE);
    assert.equal(byName.get('metric')?.multi, true);
    for (const v of [byName.get('device')!, byName.get('metric')!]) {
      assert.equal(v.type, 'query');
      assert.deepEqual(v.datasource, { type: DS_TYPE, uid: '${datasource}' });
    }
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    for (const p of dashboard.panels) {
      assert.deepEqual(p.datasource, { type: DS_TYPE, uid: '${datasource}' }, p.title);
      assert.ok(p.targets.length > 0, p.title);
      assert.ok(p.gridPos.w > 0 && p.gridPos.h > 0 && p.gridPos.x + p.gridPos.w <= 24, p.title);
      for (const t of p.targets) {
        assert.equal(t.rawQuery, true, p.title);
        assert.ok(['time_series', 'table'].includes(t.format), p.title);
        assert.match(t.rawSql, /\bFROM (points|score_history|events|series)\b/, p.title);
      }
    }
    const [events] = dashboard.annotations.list;
    assert.equal(events?.name, 'Events');
    assert.equal(events?.enable, true);
    assert.equal(events?.datasource.uid, '${datasource}');
  });

  test('compose provisions the data source on TimescaleDB and mounts the dashboard', async () => {
    const compose = parseYaml(
      await readFile(path.join(DEPLOY_DIR, 'compose', 'compose.yaml'), 'utf8'),
    ) as {
      services: Record<string, { volumes?: string[]; environment?: Record<string, string> }>;
    };
    const volumes = compose.services['grafana']?.volumes ?? [];
    assert.ok(
      volumes.includes(
        '../grafana/vigil-series-postgres.json:/var/lib/grafana/dashboards/vigil-series-postgres.json:ro',
      ),
      volumes.join('\n'),
    );
    const ds = parseYaml(
      await readFile(
        path.join(
          DEPLOY_DIR,
          'compose',
          'grafana',
          'provisioning',
          'datasources',
          'vigil-postgres.yaml',
        ),
        'utf8',
      ),
    ) as {
      datasources: { type: string; uid: string; url: string; jsonData: { database: string } }[];
    };
    const [source] = ds.datasources;
    assert.equal(source?.type, DS_TYPE);
    assert.equal(source?.url, 'timescaledb:5432');
    assert.equal(
      source?.jsonData.database,
      compose.services['timescaledb']?.environment?.['POSTGRES_DB'],
    );
  });

  test('the variables list devices, then the metrics of the device chosen', async () => {
    const byName = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    const devices = await run(byName.get('device')!.query);
    assert.deepEqual(
      devices.map((r: Record<string, string>) => Object.values(r)[0]),
      ["pump '7'", 'pump-2'],
    );
    const metrics = await run(byName.get('metric')!.query);
    assert.deepEqual(
      metrics.map((r: Record<string, string>) => Object.values(r)[0]),
      ['load', 'temp'],
    );
  });

  test('values: the average per interval of the series chosen, as time/metric/value', async () => {
    const rows = await run(sqlOf(panel('timeseries', /^Values/)));
    assert.deepEqual(
      rows.map((r: { time: string; metric: string; value: number }) => [
        Number(r.time),
        r.metric,
        r.value,
      ]),
      [
        [T0 / 1000, 'temp', 2],
        [T0 / 1000 + 60, 'temp', 10],
      ],
    );
  });

  test('score and level: the highest per interval, from score_history', async () => {
    const score = await run(sqlOf(panel('timeseries', /^Anomaly score/)));
    assert.deepEqual(
      score.map((r: { time: string; metric: string; score: number }) => [
        Number(r.time),
        r.metric,
        r.score,
      ]),
      [
        [T0 / 1000, 'temp', 0.5],
        [T0 / 1000 + 60, 'temp', 0.875],
      ],
    );
    const level = await run(sqlOf(panel('state-timeline', /^Level/)));
    assert.deepEqual(
      level.map((r: { level: number }) => r.level),
      [1, 2],
    );
  });

  test('last point per series, for staleness', async () => {
    const rows = await run(sqlOf(panel('stat', /^Last point/)));
    assert.deepEqual(
      rows.map((r: Record<string, unknown>) => [r['metric'], (r['last point'] as Date).getTime()]),
      [['temp', T0 + 90_000]],
    );
  });

  test('events: the live ones of the device overlapping the range, as table and annotations', async () => {
    const table = await run(sqlOf(panel('table', /^Events/)));
    assert.deepEqual(
      table.map((r: { id: string }) => r.id),
      ['e-open', 'e-closed'],
    );
    const annotations = await run(dashboard.annotations.list[0]!.target.rawSql);
    assert.deepEqual(
      annotations.map((r: { time: Date; timeend: Date; tags: string }) => [
        r.time.getTime(),
        r.tags,
      ]),
      [
        [T0 + 60_000, 'severe,temp'],
        [T0 + 180_000, 'alert,device'],
      ],
    );
    const [closed, open] = annotations as { text: string; timeend: Date }[];
    assert.equal(closed?.timeend.getTime(), T0 + 120_000);
    assert.equal(closed?.text, 'severe event on temp: peak score 0.875, 12 points, default@3');
    assert.match(open?.text ?? '', /^alert event on the device \(all metrics\): .* \(open\)$/);
  });

  test('incidents: those of the device overlapping the range, as annotations with who acknowledged them', async () => {
    const incidents = dashboard.annotations.list.find((a) => a.name === 'Incidents');
    assert.ok(incidents, 'an Incidents annotation');
    const rows = (await run(incidents.target.rawSql)) as {
      time: Date;
      timeend: Date;
      text: string;
      tags: string;
    }[];
    assert.deepEqual(
      rows.map((r) => [r.time.getTime(), r.tags]),
      [
        [T0 + 60_000, 'incident,severe,resolved'],
        [T0 + 180_000, 'incident,alert,firing'],
      ],
    );
    assert.equal(rows[0]?.timeend.getTime(), T0 + 120_000);
    assert.equal(
      rows[0]?.text,
      'incident i-closed (severe, resolved), acknowledged by ops, assigned to ana',
    );
    assert.equal(rows[1]?.text, 'incident i-open (alert, firing)');
  });
});
