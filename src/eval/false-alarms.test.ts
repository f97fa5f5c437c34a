import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_EVENT_PARAMS } from '../core/events/params.js';
import { replayEvents } from '../core/events/event-tracker.js';
import type { AnomalyEvent } from '../core/events/types.js';
import { falseAlarms, type FileAlarms } from './false-alarms.js';
import { makeCorpus } from './nab/fixtures.js';
import type { NabFile } from './nab/index.js';

/** Levels with the given rows flagged (1 = alert, or 2 at `severe` rows). */
function levels(
  rows: number,
  flagged: readonly number[],
  severe: readonly number[] = [],
): Uint8Array {
  const out = new Uint8Array(rows);
  for (const i of flagged) out[i] = 1;
  for (const i of severe) out[i] = 2;
  return out;
}

/** What the event tracker makes of the levels (default params, cool-down off: rows are minutes). */
function output(file: NabFile, lv: Uint8Array): FileAlarms {
  const scores = Float64Array.from(lv, (l) => [0, 0.6, 0.9][l] as number);
  const events = replayEvents(
    {
      series: file.relPath,
      strategy: 'test@1',
      params: { ...DEFAULT_EVENT_PARAMS, cooldown_ms: 0 },
    },
    file.times,
    scores,
    lv,
  );
  return { levels: lv, events };
}

const CORPUS = makeCorpus([
  // Probation: 150 rows.
  { rows: 1000, category: 'artificialNoAnomaly' },
  // Probation: 300 rows; one window of 101 rows.
  { rows: 2000, category: 'realKnownCause', windows: [[1000, 1100]] },
  // Neither part: its alarms are not counted at all.
  { rows: 1000, category: 'artificialWithAnomaly', windows: [[500, 510]] },
]);

const [NO_ANOMALY, REAL, ARTIFICIAL] = CORPUS.files as [NabFile, NabFile, NabFile];

test('alarms per 10,000 points, events and flagged points, outside probation and windows', () => {
  const report = falseAlarms(CORPUS, [
    // 100 is in the probation; 200–202 is one incident (one event, three points); 500 severe.
    output(NO_ANOMALY, levels(1000, [100, 200, 201, 202, 500], [500])),
    // 200: probation. 600: counted. 1050: inside the window. 995–1005: opens before the window
    // and runs into it — a false alarm where it opened, its rows inside are not counted.
    // 1500, 1510 (ten rows apart, beyond the hysteresis): two events.
    output(REAL, levels(2000, [200, 600, 995, 998, 1002, 1005, 1050, 1500, 1510])),
    output(ARTIFICIAL, levels(1000, [300, 505, 700])),
  ]);
  assert.deepEqual(report.noAnomaly, {
    files: 1,
    points: 850,
    flaggedPoints: 4,
    severePoints: 1,
    events: 2,
    severeEvents: 1,
    eventsPer10k: (2 * 10_000) / 850,
    flaggedPer10k: (4 * 10_000) / 850,
  });
  const realPoints = 2000 - 300 - 101;
  assert.deepEqual(report.realOutsideWindows, {
    files: 1,
    points: realPoints,
    flaggedPoints: 5,
    severePoints: 0,
    events: 4,
    severeEvents: 0,
    eventsPer10k: (4 * 10_000) / realPoints,
    flaggedPer10k: (5 * 10_000) / realPoints,
  });
  assert.deepEqual(
    report.files.map((f) => [f.relPath, f.part, f.events]),
    [
      ['artificialNoAnomaly/f0.csv', 'no-anomaly', 2],
      ['realKnownCause/f1.csv', 'real-outside-windows', 4],
    ],
  );
});

test('every change of one event counts once; the final level decides severe', () => {
  const lv = levels(1000, [300, 301], [301]);
  const open: AnomalyEvent = {
    id: 'x',
    series: 's',
    strategy: 'test@1',
    start: NO_ANOMALY.times[300] as number,
    end: null,
    peak: { time: NO_ANOMALY.times[300] as number, score: 0.6, values: {} },
    level: 'alert',
    points: 1,
    explanation: null,
  };
  const closed: AnomalyEvent = { ...open, end: NO_ANOMALY.times[301] as number, level: 'severe' };
  const empty = { levels: new Uint8Array(2000), events: [] };
  const blank = { levels: new Uint8Array(1000), events: [] };
  const report = falseAlarms(CORPUS, [{ levels: lv, events: [open, closed] }, empty, blank]);
  assert.equal(report.noAnomaly.events, 1);
  assert.equal(report.noAnomaly.severeEvents, 1);
  assert.equal(report.realOutsideWindows.eventsPer10k, 0);
});

test('inputs that do not match the corpus are rejected', () => {
  const blank = (n: number): FileAlarms => ({ levels: new Uint8Array(n), events: [] });
  assert.throws(() => falseAlarms(CORPUS, [blank(1000)]), /3 files/);
  assert.throws(() => falseAlarms(CORPUS, [blank(999), blank(2000), blank(1000)]), /999 levels/);
  const stray: AnomalyEvent = {
    id: 'stray',
    series: 's',
    strategy: 'test@1',
    start: 12345,
    end: null,
    peak: { time: 12345, score: 1, values: {} },
    level: 'alert',
    points: 1,
    explanation: null,
  };
  assert.throws(
    () => falseAlarms(CORPUS, [{ ...blank(1000), events: [stray] }, blank(2000), blank(1000)]),
    /no row of artificialNoAnomaly\/f0.csv/,
  );
});
