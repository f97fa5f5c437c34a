/**
 * CSV tables for `vigil detect`: a header (time column found by name or absent) and rows of
 * numbers and times in every accepted form, with quoting edge cases (quotes inside quotes,
 * newlines inside quoted cells, a BOM, CRLF, ragged rows). Rows become points the way a CSV
 * would be ingested: device `csv`, a metric per value column, missing cells left out.
 * Invariant: a row the table yields has a finite time and values that are finite or missing (NaN).
 */
import { Readable } from 'node:stream';
import { setOwn } from '../../data/set-own.js';
import type { IngestPoint } from '../../engine/engine.js';
import { openCsvTable } from '../../ingest/csv/csv-table.js';
import { finish } from '../mutate.js';
import {
  asciiName,
  chance,
  count,
  numberText,
  oddString,
  pick,
  timestampMs,
  type Rng,
} from '../random.js';
import type { Outcome, Target } from '../target.js';

/** Quote a cell as CSV writers do, or in one of the odd ways a hand-made file does. */
function cell(rng: Rng, text: string): string {
  const r = rng.next();
  if (r < 0.7 && !/[",\r\n]/.test(text)) return text;
  if (r < 0.95) return `"${text.replace(/"/g, '""')}"`;
  return pick(rng, [
    `"${text}`,
    `${text}"`,
    `"${text}"x`,
    ` "${text}" `,
    `"${text.replace(/"/g, '\\"')}"`,
  ]);
}

function timeCell(rng: Rng, ms: number): string {
  const safe = Math.min(Math.max(ms, -8.64e15), 8.64e15);
  const iso = new Date(safe).toISOString();
  switch (rng.int(9)) {
    case 0:
      return iso;
    case 1:
      return iso.replace('T', ' ').replace('Z', '');
    case 2:
      return iso.slice(0, 10);
    case 3:
      return String(Math.floor(ms / 1000));
    case 4:
      return String(ms);
    case 5:
      return iso.replace('Z', pick(rng, ['+02:00', '-0530', '+14:00', '+99:99']));
    case 6:
      return pick(rng, [
        '2014-02-30 00:00:00',
        '2014-13-01',
        '0000-01-01',
        '9999-12-31T23:59:59.999999Z',
        '1e400',
        '-1',
        '1.5',
        '99999999999999999999999',
        'NaN',
        '',
      ]);
    case 7:
      return `${iso.slice(0, 19)}.${'9'.repeat(1 + rng.int(20))}`;
    default:
      return oddString(rng);
  }
}

function table(rng: Rng): string {
  const values = 1 + count(rng, 3);
  const hasTime = chance(rng, 0.8);
  const timeName = pick(rng, ['timestamp', 'time', 'Date', 'ts', 'datetime']);
  const names = Array.from({ length: values }, () =>
    chance(rng, 0.7) ? asciiName(rng) : oddString(rng),
  );
  const header = hasTime ? [timeName, ...names] : names;
  if (chance(rng, 0.1)) header.splice(rng.int(header.length), 0, header[rng.int(header.length)]!);
  const rows = [header.map((h) => cell(rng, h)).join(',')];
  let t = timestampMs(rng);
  const n = count(rng, 6, 500);
  for (let i = 0; i < n; i++) {
    t += chance(rng, 0.95) ? rng.int(60_000) : -rng.int(60_000);
    const cells = names.map(() => cell(rng, chance(rng, 0.1) ? '' : numberText(rng)));
    if (hasTime) cells.unshift(cell(rng, timeCell(rng, t)));
    if (chance(rng, 0.03)) cells.push('extra');
    if (chance(rng, 0.03)) cells.pop();
    rows.push(cells.join(','));
  }
  const text = rows.join(pick(rng, ['\n', '\n', '\r\n', '\r']));
  return (chance(rng, 0.05) ? '\ufeff' : '') + text + (chance(rng, 0.5) ? '\n' : '');
}

export const csv: Target = {
  name: 'csv',
  parser: 'src/ingest/csv/csv-table.ts + parse-time.ts',
  generate: (rng) => finish(rng, () => Buffer.from(table(rng))),
  async run(input: Buffer): Promise<Outcome> {
    const opened = await openCsvTable(Readable.from([input]), { source: 'fuzz.csv' });
    const { valueNames } = opened.header;
    const points: IngestPoint[] = [];
    let broken: string | undefined;
    for await (const row of opened.rows) {
      if (!Number.isFinite(row.timeMs)) broken ??= `line ${row.line}: time ${row.timeMs}`;
      const metrics: Record<string, number> = {};
      row.values.forEach((value, j) => {
        if (Number.isNaN(value)) return;
        if (!Number.isFinite(value))
          broken ??= `line ${row.line}: value ${value} in "${valueNames[j]}"`;
        setOwn(metrics, valueNames[j]!, value);
      });
      if (Object.keys(metrics).length > 0) {
        points.push({ timestamp: row.timeMs, device_id: 'csv', metrics });
      }
    }
    return { points, refused: 0, ...(broken === undefined ? {} : { broken }) };
  },
};
