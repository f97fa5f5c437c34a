import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AnomalyEvent } from '../../core/events/types.js';
import { makeCorpus } from '../nab/fixtures.js';
import { verdictItem, verdictSentence } from './compare.js';
import { fileCounts, rates } from './metrics.js';

const MINUTE = 60_000;

/** An event over rows [from, to] of a makeCorpus file. */
function event(times: Float64Array, from: number, to: number | null): AnomalyEvent {
  const start = times[from] as number;
  return {
    id: `e|${start}`,
    series: 'ab',
    strategy: 's@1',
    start,
    end: to === null ? null : (times[to] as number),
    peak: { time: start, score: 1, values: {} },
    level: 'alert',
    points: 1,
    explanation: null,
  };
}

function levelsAt(n: number, rows: readonly number[]): Uint8Array {
  const l = new Uint8Array(n);
  for (const r of rows) l[r] = 1;
  return l;
}

describe('A/B window metrics on a hand-made file', () => {
  // 100 rows, one a minute: rows 0..14 are probation (floor(0.15 * 100)); windows on rows
  // 40..49 and 70..79.
  const file = makeCorpus([
    {
      rows: 100,
      windows: [
        [40, 49],
        [70, 79],
      ],
    },
  ]).files[0]!;
  const { times } = file;

  it('counts detected windows, false alarms, outside flags and the delay', () => {
    const levels = levelsAt(100, [5, 20, 21, 43, 45, 90]);
    const events = [
      event(times, 5, 5), // in the probation: not counted
      event(times, 20, 21), // false
      event(times, 43, 45), // true: inside window 1
      { ...event(times, 43, 43), end: null }, // an earlier state of the same id: counted once
      event(times, 90, 90), // false
    ];
    const c = fileCounts(file, levels, events);
    assert.deepEqual(c, {
      points: 85,
      windows: 2,
      detectedWindows: 1,
      alarms: 3,
      falseAlarms: 2,
      pointsOutside: 65,
      flaggedOutside: 3,
      delayPointsSum: 3,
      delayMsSum: 3 * MINUTE,
    });
    const r = rates(c);
    assert.equal(r.precision, 1 / 3);
    assert.equal(r.recall, 0.5);
    assert.ok(Math.abs(r.f1! - 0.4) < 1e-12);
    assert.equal(r.falsePositiveRate, 3 / 65);
    assert.equal(r.alarmsPer10k, 30_000 / 85);
    assert.equal(r.meanDelayPoints, 3);
    assert.equal(r.meanDelayMs, 3 * MINUTE);
  });

  it('an alarm that opens before a window and runs into it is not false', () => {
    const levels = levelsAt(100, [68, 69, 70, 71]);
    const c = fileCounts(file, levels, [event(times, 68, 71)]);
    assert.equal(c.alarms, 1);
    assert.equal(c.falseAlarms, 0);
    assert.equal(c.detectedWindows, 1);
    assert.equal(c.delayPointsSum, 0);
    assert.equal(c.flaggedOutside, 2);
    assert.equal(rates(c).precision, 1);
  });

  it('a silent detector has recall 0, F1 0 and no precision', () => {
    const r = rates(fileCounts(file, new Uint8Array(100), []));
    assert.equal(r.recall, 0);
    assert.equal(r.precision, null);
    assert.equal(r.f1, null);
    assert.equal(r.falsePositiveRate, 0);
    assert.equal(r.meanDelayPoints, null);
  });

  it('a perfect detector: every window at its first row, nothing else', () => {
    const r = rates(
      fileCounts(file, levelsAt(100, [40, 70]), [event(times, 40, 40), event(times, 70, 70)]),
    );
    assert.deepEqual(
      [r.precision, r.recall, r.f1, r.falsePositiveRate, r.meanDelayPoints],
      [1, 1, 1, 0, 0],
    );
  });

  it('rejects levels that do not match the rows', () => {
    assert.throws(() => fileCounts(file, new Uint8Array(3), []), /3 levels for 100 rows/);
  });
});

describe('A/B verdict', () => {
  it('knows which direction is better, and ties exact equals and close latencies', () => {
    assert.equal(verdictItem('F1', 0.5, 0.4).winner, 'A');
    assert.equal(verdictItem('false-positive rate', 0.05, 0.01).winner, 'B');
    assert.equal(verdictItem('mean delay (points)', 3, 9).winner, 'A');
    assert.equal(verdictItem('recall', 0.5, 0.5).winner, 'tie');
    assert.equal(verdictItem('ns per point', 1000, 1050).winner, 'tie');
    assert.equal(verdictItem('ns per point', 1000, 2000).winner, 'A');
    assert.equal(verdictItem('precision', null, 0.5).winner, 'n/a');
    const line = verdictSentence(
      [
        verdictItem('F1', 0.5, 0.4),
        verdictItem('NAB standard', 60, 50),
        verdictItem('recall', 1, 1),
      ],
      'x@1',
      'y@1',
    );
    assert.equal(
      line,
      'verdict: A (x@1) wins on F1, NAB standard; tie on recall; overall A (x@1) is better on F1 and the NAB standard score',
    );
  });
});
