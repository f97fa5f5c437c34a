import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { openCsvTable, type CsvRow } from './csv-table.js';
import { parseTimeCell } from './parse-time.js';

async function readAll(text: string, timeColumn?: string): Promise<CsvRow[]> {
  const table = await openCsvTable(Readable.from([text]), {
    source: 'in.csv',
    ...(timeColumn === undefined ? {} : { timeColumn }),
  });
  const rows: CsvRow[] = [];
  for await (const row of table.rows) rows.push({ ...row, values: row.values.slice() });
  return rows;
}

test('time cells: ISO, NAB style, offsets and epoch numbers', () => {
  const t = Date.UTC(2014, 3, 1, 12, 30, 5);
  assert.equal(parseTimeCell('2014-04-01 12:30:05'), t);
  assert.equal(parseTimeCell('2014-04-01T12:30:05Z'), t);
  assert.equal(parseTimeCell('2014-04-01T14:30:05+02:00'), t);
  assert.equal(parseTimeCell('2014-04-01 12:30:05.250'), t + 250);
  assert.equal(parseTimeCell(String(t / 1000)), t);
  assert.equal(parseTimeCell(String(t)), t);
  assert.ok(Number.isNaN(parseTimeCell('2014-02-30 00:00:00')));
  assert.ok(Number.isNaN(parseTimeCell('yesterday')));
});

test('reads rows with event time, value columns and missing cells', async () => {
  const rows = await readAll('timestamp,a,b\n2020-01-01 00:00:00,1,2\n2020-01-01 00:01:00,,3.5\n');
  assert.equal(rows.length, 2);
  assert.equal(rows[1]!.timeMs - rows[0]!.timeMs, 60_000);
  assert.deepEqual([...rows[0]!.values], [1, 2]);
  assert.ok(Number.isNaN(rows[1]!.values[0]!));
  assert.equal(rows[1]!.line, 3);
});

test('without a time column rows are one second apart', async () => {
  const rows = await readAll('x\n5\n6\n');
  assert.deepEqual(
    rows.map((r) => r.timeMs),
    [0, 1000],
  );
});

test('errors name the source, line and column', async () => {
  await assert.rejects(readAll('time,a\n2020-01-01,1\n2020-01-02,abc\n'), {
    code: 'VIGIL_ERR_INPUT',
    message: 'in.csv:3: column "a": "abc" is not a number',
  });
  await assert.rejects(readAll('time,a\n2020-01-02,1\n2020-01-01,2\n'), {
    message: 'in.csv:3: time goes backwards ("2020-01-01" is before the row above)',
  });
  await assert.rejects(readAll('time,a\nnever,1\n'), {
    message: 'in.csv:2: column "time": cannot read "never" as a time',
  });
  await assert.rejects(readAll('a,b\n1,2\n', 'when'), {
    message: 'in.csv:1: no column named "when" (columns: a, b)',
  });
  await assert.rejects(readAll('time,a\n2020-01-01,1,9\n'), (err: Error) => {
    assert.match(err.message, /^in\.csv:2: /);
    return true;
  });
});

test('a value that overflows a double is refused, not read as Infinity', async () => {
  // Found by the fuzzer (src/fuzz, csv target): "1e400" and "-Infinity" were accepted as ±Infinity.
  await assert.rejects(readAll('time,a\n2020-01-01,1e400\n'), {
    code: 'VIGIL_ERR_INPUT',
    message: 'in.csv:2: column "a": "1e400" is not a finite number',
  });
  await assert.rejects(readAll('a\n-Infinity\n'), {
    message: 'in.csv:2: column "a": "-Infinity" is not a finite number',
  });
  const rows = await readAll('a\n1.7976931348623157e308\nNaN\n');
  assert.equal(rows[0]!.values[0], Number.MAX_VALUE);
  assert.ok(Number.isNaN(rows[1]!.values[0]!));
});
