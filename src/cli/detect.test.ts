import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  IOT_METRICS,
  makeIotSeries,
  type IotFault,
  type IotSeries,
} from '../core/detectors/multivariate/synthetic-iot.js';
import { formatTopMetrics, RowSpans } from './detect.js';
import { EventTracker } from '../core/events/event-tracker.js';
import { eventParamsSchema } from '../core/events/params.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('./main.js', import.meta.url));

/** `vigil detect --<flag> <value>…` (then `extra`) in a child process; rejects unless it exits 0. */
function detect(flags: Readonly<Record<string, string>>, extra: readonly string[] = []) {
  const args = Object.entries(flags).flatMap(([flag, value]) => [`--${flag}`, value]);
  return run(process.execPath, [cli, 'detect', ...args, ...extra]);
}

/** A noisy daily cycle at 5-minute steps with one spike on the given row. */
function seriesCsv(rows: number, spikeAt: number): string {
  const lines = ['timestamp,temp,pressure'];
  let noise = 1;
  for (let i = 0; i < rows; i++) {
    noise = (noise * 16807) % 2147483647;
    const wobble = (noise / 2147483647 - 0.5) * 0.4;
    const temp = 20 + 3 * Math.sin((2 * Math.PI * i) / 288) + wobble + (i === spikeAt ? 15 : 0);
    const time = new Date(Date.UTC(2024, 0, 1) + i * 300_000).toISOString();
    lines.push(`${time},${temp.toFixed(3)},${(4 + wobble).toFixed(3)}`);
  }
  return lines.join('\n') + '\n';
}

async function workDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'vigil-detect-'));
}

test('scores every row, keeps the input columns and flags the spike', async () => {
  const dir = await workDir();
  const input = path.join(dir, 'in.csv');
  const output = path.join(dir, 'out.csv');
  await writeFile(input, seriesCsv(2000, 1500));
  await detect({ input, output });
  const lines = (await readFile(output, 'utf8')).trimEnd().split('\n');
  assert.equal(lines[0], 'timestamp,temp,pressure,score,level,is_anomaly,in_event,event_id');
  assert.equal(lines.length, 2001);
  const flagged = lines.slice(1).flatMap((line, i) => (line.split(',')[5] === '1' ? [i] : []));
  assert.ok(flagged.includes(1500), `the spike row is flagged (flagged: ${flagged.join(' ')})`);
  assert.ok(flagged.length < 20, `few flags on a clean series, got ${flagged.length}`);
});

test('--train-rows learns the first rows without flagging them', async () => {
  const dir = await workDir();
  const input = path.join(dir, 'in.csv');
  const output = path.join(dir, 'out.csv');
  await writeFile(input, seriesCsv(1200, 100));
  await detect({ input, output, strategy: 'fast', 'train-rows': '500' });
  const rows = (await readFile(output, 'utf8')).trimEnd().split('\n').slice(1);
  assert.ok(rows.slice(0, 500).every((line) => line.endsWith(',ok,0,0,')));
});

test('bad input: clear error with the line, non-zero exit, no output file left', async () => {
  const dir = await workDir();
  const input = path.join(dir, 'in.csv');
  const output = path.join(dir, 'out.csv');
  const good = seriesCsv(3000, -1).split('\n');
  good[2500] = '2024-01-09T16:15:00.000Z,oops,4';
  await writeFile(input, good.join('\n'));
  const failure = await detect({ input, output })
    .then(() => undefined)
    .catch((err: { code: number; stderr: string }) => err);
  assert.ok(failure, 'the command fails');
  assert.equal(failure.code, 3);
  assert.match(
    failure.stderr,
    /VIGIL_ERR_INPUT: .*in\.csv:2501: column "temp": "oops" is not a number/,
  );
  assert.deepEqual(await readdir(dir), ['in.csv']);
});

test('an unknown strategy is reported by name', async () => {
  const dir = await workDir();
  const input = path.join(dir, 'in.csv');
  await writeFile(input, seriesCsv(10, -1));
  const failure = await detect({ input, strategy: 'no-such' }).catch(
    (err: { code: number; stderr: string }) => err,
  );
  assert.ok('stderr' in failure);
  assert.match(failure.stderr, /VIGIL_ERR_STRATEGY_NOT_FOUND/);
});

/** The synthetic pump as a CSV: a time column and one column per metric. */
function pumpCsv(fault: IotFault, seed: number): { csv: string; series: IotSeries } {
  const series = makeIotSeries({ seed, fault });
  const lines = [['timestamp', ...IOT_METRICS].join(',')];
  series.values.forEach((row, i) => {
    const time = new Date(series.times[i] as number).toISOString();
    lines.push([time, ...Array.from(row, (v) => v.toFixed(4))].join(','));
  });
  return { csv: lines.join('\n') + '\n', series };
}

interface ScoredRow {
  readonly level: string;
  readonly flagged: boolean;
  readonly top: string;
}

async function detectPump(
  fault: IotFault,
  seed: number,
  args: readonly string[],
  strategyYaml?: string,
): Promise<{ header: string; rows: ScoredRow[]; series: IotSeries; stderr: string }> {
  const dir = await workDir();
  const input = path.join(dir, 'pump-7.csv');
  const output = path.join(dir, 'out.csv');
  const { csv, series } = pumpCsv(fault, seed);
  await writeFile(input, csv);
  const strategy = strategyYaml === undefined ? 'multivariate' : path.join(dir, 'vector.yaml');
  if (strategyYaml !== undefined) await writeFile(strategy, strategyYaml);
  const { stderr } = await detect({ input, output, strategy }, args);
  const [header = '', ...lines] = (await readFile(output, 'utf8')).trimEnd().split('\n');
  const rows = lines.map((line) => {
    const cells = line.split(',');
    const [level = '', flagged = '', , , top = ''] = cells.slice(IOT_METRICS.length + 2);
    return { level, flagged: flagged === '1', top };
  });
  return { header, rows, series, stderr };
}

test('top metrics: largest shares first, at most three, none below 5%', () => {
  const names = ['a', 'b', 'c', 'd', 'e'];
  const shares = Float64Array.from([0.04, 0.5, 0.06, 0.3, 0.1]);
  assert.equal(formatTopMetrics(names, shares), 'b:0.50;d:0.30;e:0.10');
  assert.equal(formatTopMetrics(names, new Float64Array(5)), '');
});

test('a vector strategy scores all columns as one device and names the metrics of a correlation break', async () => {
  const { header, rows, series, stderr } = await detectPump('correlation-break', 41, [
    '--train-rows',
    '864',
  ]);
  assert.equal(
    header,
    `timestamp,${IOT_METRICS.join(',')},score,level,is_anomaly,in_event,event_id,top_metrics`,
  );
  assert.equal(rows.length, series.values.length);
  // --train-rows replaces the built-in's own training period (1440 rows).
  assert.ok(rows.slice(0, 864).every((row) => row.level === 'ok' && row.top === ''));
  const inFault = rows.slice(series.start, series.end + 12).filter((row) => row.flagged);
  assert.ok(inFault.length > 0.5 * (series.end - series.start), `${inFault.length} rows flagged`);
  for (const row of inFault) assert.match(row.top, /^(flow|pressure):\d\.\d\d(;|$)/, row.top);
  const outside = rows.filter(
    (row, i) => row.flagged && (i < series.start || i >= series.end + 12),
  );
  assert.ok(outside.length <= 2, `${outside.length} false alarms`);
  assert.match(stderr, /2880 rows scored/);
});

test('--train-rows trains a vector strategy that has no training period of its own', async () => {
  const yaml = [
    'name: pump-hotelling',
    'version: 1',
    'description: Hotelling T² on all metrics.',
    'detector:',
    '  kind: hotelling',
    '  params: { training_points: 300 }',
    'threshold:',
    '  kind: static',
  ].join('\n');
  const { rows, series } = await detectPump('stuck', 42, ['--train-rows', '600'], yaml);
  assert.ok(rows.slice(0, 600).every((row) => !row.flagged));
  const inFault = rows.slice(series.start, series.end + 12).filter((row) => row.flagged);
  assert.ok(inFault.length > 0, 'the stuck pressure sensor is flagged');
  assert.ok(
    inFault.every((row) => row.top.startsWith('pressure:')),
    inFault[0]?.top,
  );
});

test('--events writes one explained event per incident as JSON lines', async () => {
  const dir = await workDir();
  const input = path.join(dir, 'in.csv');
  const events = path.join(dir, 'events.jsonl');
  await writeFile(input, seriesCsv(2000, 1500));
  const { stderr } = await detect({ input, output: path.join(dir, 'out.csv'), events });
  const lines = (await readFile(events, 'utf8')).trimEnd().split('\n');
  const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const spike = parsed.find((e) => e.start === Date.UTC(2024, 0, 1) + 1500 * 300_000);
  assert.ok(spike, `the spike is an event (events: ${lines.length})`);
  assert.equal(spike.series, 'in/temp');
  const explanation = spike.explanation as { metrics: { name: string; observed: number }[] };
  assert.equal(explanation.metrics[0]!.name, 'temp');
  assert.match(stderr, new RegExp(`in ${parsed.length} events`));
});

/**
 * A device at 1 Hz whose flow and pressure follow one load, until flow drops by 1.5 for ten
 * minutes (rows 800–1399) while pressure does not: a broken relation, caught by Hotelling T².
 */
function rigCsv(): string {
  let seed = 9;
  const rand = (): number => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647 - 0.5;
  };
  const lines = ['timestamp,flow,pressure'];
  for (let i = 0; i < 1500; i++) {
    const load = Math.sin(i / 50);
    const flow = 10 * load + 0.2 * rand() - (i >= 800 && i < 1400 ? 1.5 : 0);
    const pressure = 5 * load + 0.1 * rand();
    const time = new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString();
    lines.push(`${time},${flow.toFixed(4)},${pressure.toFixed(4)}`);
  }
  return lines.join('\n') + '\n';
}

const RIG_STRATEGY = [
  'name: rig',
  'version: 1',
  'description: Hotelling T² on flow and pressure.',
  'detector:',
  '  kind: hotelling',
  '  params: { training_points: 400 }',
  'threshold:',
  '  kind: static',
  // An old file's cool-down still loads: it is reported and no longer merges events.
  'events:',
  '  cooldown_ms: 3600000',
].join('\n');

async function detectRig(dir: string, name: string): Promise<{ csv: string; events: string }> {
  const input = path.join(dir, 'rig.csv');
  const output = path.join(dir, `${name}.csv`);
  const events = path.join(dir, `${name}.jsonl`);
  const { stderr } = await detect({
    input,
    output,
    events,
    strategy: path.join(dir, 'rig.yaml'),
    'train-rows': '400',
  });
  assert.match(stderr, /warning: events\.cooldown_ms is deprecated/);
  return { csv: await readFile(output, 'utf8'), events: await readFile(events, 'utf8') };
}

test('in_event and event_id mark every row of a ten-minute fault, and a rerun repeats them', async () => {
  const dir = await workDir();
  await writeFile(path.join(dir, 'rig.csv'), rigCsv());
  await writeFile(path.join(dir, 'rig.yaml'), RIG_STRATEGY);
  const first = await detectRig(dir, 'first');
  const [header = '', ...lines] = first.csv.trimEnd().split('\n');
  assert.equal(
    header,
    'timestamp,flow,pressure,score,level,is_anomaly,in_event,event_id,top_metrics',
  );
  const rows = lines.map((line) => {
    const c = line.split(',');
    return { flagged: c[5] === '1', inEvent: c[6] === '1', id: c[7] ?? '' };
  });
  assert.equal(rows.length, 1500);
  const fault = rows.slice(800, 1400);
  const outside = [...rows.slice(0, 800), ...rows.slice(1400)];
  const inEvent = fault.filter((r) => r.inEvent).length;
  assert.ok(inEvent >= 0.95 * fault.length, `${inEvent} of ${fault.length} fault rows in_event`);
  assert.ok(outside.filter((r) => r.inEvent).length <= 10, 'few rows in events outside it');
  // Not every fault row is flagged (the score dips under the threshold): in_event fills them.
  assert.ok(fault.filter((r) => r.flagged).length < inEvent);
  // One event holds the fault: its id on every in_event row of it, empty outside events.
  const ids = new Set(fault.filter((r) => r.inEvent).map((r) => r.id));
  assert.equal(ids.size, 1);
  const [id = ''] = ids;
  assert.match(id, /^rig\|rig@1\|\d+$/);
  assert.ok(rows.every((r) => r.inEvent === (r.id !== '')));
  // The event is the fault's span, as in the events file, with what incidents group by.
  const event = first.events
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .find((e) => e.id === id);
  assert.ok(event, 'the fault event is in the events file');
  assert.equal(event.device, 'rig');
  // A broken relation involves both metrics of it.
  assert.deepEqual([...(event.metrics as string[])].sort(), ['flow', 'pressure']);
  const t = (row: number): number => Date.UTC(2024, 0, 1) + row * 1000;
  const start = event.start as number;
  const end = event.end as number;
  assert.ok(start >= t(800) && start <= t(810), `starts at the fault: ${start - t(0)}`);
  assert.ok(end >= t(1395) && end <= t(1410), `ends where it is over: ${end - t(0)}`);
  // Deterministic: the same input gives the same rows, events and ids.
  const second = await detectRig(dir, 'second');
  assert.equal(second.csv, first.csv);
  assert.equal(second.events, first.events);
});

test('rows in events: a dropped blip and the normal run after an event stay out', () => {
  const tracker = new EventTracker({
    series: 'd/m',
    strategy: 's@1',
    params: eventParamsSchema.parse({ min_points: 2, close_after_points: 2 }),
  });
  const spans = new RowSpans();
  // a: flagged; h: not flagged but still abnormal (score 0.5); .: normal.
  const levels = 'a..aha.a...ah';
  const marks: string[] = [];
  let decided = 0;
  const settle = (before: number): void => {
    for (; decided < Math.min(before, levels.length); decided++) {
      marks.push(spans.eventOf(decided) === null ? '0' : '1');
    }
  };
  for (let i = 0; i < levels.length; i++) {
    const c = levels[i];
    const change = tracker.update(
      i,
      c === 'a' ? 0.8 : c === 'h' ? 0.5 : 0.1,
      c === 'a' ? 'alert' : 'ok',
    );
    spans.observe(i, change, tracker.span);
    settle(Math.min(spans.settledBefore(), i + 1));
  }
  spans.observe(levels.length - 1, tracker.flush(levels.length - 1), null);
  settle(Number.POSITIVE_INFINITY);
  // The first blip (one flagged point) is dropped; the event runs 3–7 (the normal point at 6
  // between abnormal ones included), not into the normal run after it; the last one is open at
  // the end of the stream but has one flagged point only, so it is dropped as well.
  assert.equal(marks.join(''), '0001111100000');
});
