import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('./main.js', import.meta.url));

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
  await run(process.execPath, [cli, 'detect', '--input', input, '--output', output]);
  const lines = (await readFile(output, 'utf8')).trimEnd().split('\n');
  assert.equal(lines[0], 'timestamp,temp,pressure,score,level,is_anomaly');
  assert.equal(lines.length, 2001);
  const flagged = lines.slice(1).flatMap((line, i) => (line.endsWith(',1') ? [i] : []));
  assert.ok(flagged.includes(1500), `the spike row is flagged (flagged: ${flagged.join(' ')})`);
  assert.ok(flagged.length < 20, `few flags on a clean series, got ${flagged.length}`);
});

test('--train-rows learns the first rows without flagging them', async () => {
  const dir = await workDir();
  const input = path.join(dir, 'in.csv');
  const output = path.join(dir, 'out.csv');
  await writeFile(input, seriesCsv(1200, 100));
  await run(process.execPath, [
    cli,
    'detect',
    '--input',
    input,
    '--output',
    output,
    '--strategy',
    'fast',
    '--train-rows',
    '500',
  ]);
  const rows = (await readFile(output, 'utf8')).trimEnd().split('\n').slice(1);
  assert.ok(rows.slice(0, 500).every((line) => line.endsWith(',ok,0')));
});

test('bad input: clear error with the line, non-zero exit, no output file left', async () => {
  const dir = await workDir();
  const input = path.join(dir, 'in.csv');
  const output = path.join(dir, 'out.csv');
  const good = seriesCsv(3000, -1).split('\n');
  good[2500] = '2024-01-09T16:15:00.000Z,oops,4';
  await writeFile(input, good.join('\n'));
  const failure = await run(process.execPath, [cli, 'detect', '--input', input, '--output', output])
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
  const failure = await run(process.execPath, [
    cli,
    'detect',
    '--input',
    input,
    '--strategy',
    'no-such',
  ]).catch((err: { code: number; stderr: string }) => err);
  assert.ok('stderr' in failure);
  assert.match(failure.stderr, /VIGIL_ERR_STRATEGY_NOT_FOUND/);
});
