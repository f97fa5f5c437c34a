import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readTrainingTable } from './training-table.js';

const source = 'rig.csv';

function table(lines: string[], options: Parameters<typeof readTrainingTable>[1] = { source }) {
  return readTrainingTable(lines.join('\n') + '\n', options);
}

test('every numeric column besides time, in file order; text columns are left out', () => {
  const t = table([
    'datetime,a,status,b',
    '2024-01-01T00:00:00Z,1,ok,10',
    '2024-01-01T00:00:01Z,2,ok,20',
  ]);
  assert.deepEqual(t.metrics, ['a', 'b']);
  assert.deepEqual(t.skipped, ['status']);
  assert.deepEqual(
    t.rows.map((r) => Array.from(r)),
    [
      [1, 10],
      [2, 20],
    ],
  );
});

test('--columns choose and order the metrics; Unicode names are names like any other', () => {
  const t = table(['ts,température,压力,flow', '1,20.5,3,7', '2,21,4,8'], {
    source,
    columns: ['压力', 'température'],
  });
  assert.deepEqual(t.metrics, ['压力', 'température']);
  assert.deepEqual(Array.from(t.rows[1]!), [4, 21]);
});

test('--train-rows reads only the first rows, and refuses more rows than the file has', () => {
  const lines = ['a,b', '1,2', '3,4', '5,6'];
  assert.equal(table(lines, { source, rows: 2 }).rows.length, 2);
  assert.throws(() => table(lines, { source, rows: 5 }), {
    code: 'VIGIL_ERR_INPUT',
    message: 'rig.csv: --train-rows 5, but the file has 3 data rows',
  });
});

test('bad training input is refused with the line and column', () => {
  const cases: [string[], Parameters<typeof readTrainingTable>[1], RegExp][] = [
    [
      ['a,b', '1,2'],
      { source, columns: ['a', 'c'] },
      /^rig\.csv:1: no column named "c" \(columns: a, b\)$/,
    ],
    [['a,b', '1,2'], { source, columns: ['a', 'a'] }, /--columns names "a" twice/],
    [['ts,a', '1,2'], { source, columns: ['ts'] }, /"ts" is the time column, not a metric/],
    [['a,b,a', '1,2,3'], { source }, /the column name "a" appears more than once/],
    [['a,b,a', '1,2,3'], { source, columns: ['a'] }, /the column name "a" appears more than once/],
    [['a,b', '1,2', '3,x'], { source }, /^rig\.csv:3: column "b": "x" is not a number$/],
    [['a,b', '1,2', '3,'], { source }, /^rig\.csv:3: column "b" is empty: every training row/],
    [['a,b', '1,2', 'NaN,2'], { source }, /^rig\.csv:3: column "a" is NaN/],
    [
      ['a,b', '1,2', '1e400,2'],
      { source },
      /^rig\.csv:3: column "a": "1e400" is not a finite number$/,
    ],
    [['a,b', '1,2', '1e35,2'], { source }, /^rig\.csv:3: column "a": 1e35 is too large .*float32/],
    [['a,b', '1,2', '3'], { source }, /^rig\.csv:3: 1 cells, the header has 2 columns$/],
    [['a,b', '1e9,2', '1000000000.001,3'], { source }, /column "a" varies by .* around 1000000000/],
    [['ts,note', '1,x'], { source }, /no numeric value column besides the time column/],
    [[], { source }, /the file is empty/],
  ];
  for (const [lines, options, message] of cases) {
    assert.throws(
      () => table(lines, options),
      { code: 'VIGIL_ERR_INPUT', message },
      lines.join('|'),
    );
  }
});
