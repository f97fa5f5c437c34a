import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { normalSeries } from '../models/synthetic.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('./main.js', import.meta.url));

function csv(values: Float64Array, extraColumn = false): string {
  const lines = [extraColumn ? 'timestamp,flow,valve' : 'timestamp,flow'];
  values.forEach((v, i) => {
    const time = new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString();
    lines.push(`${time},${v.toFixed(4)}${extraColumn ? ',1' : ''}`);
  });
  return lines.join('\n') + '\n';
}

async function failure(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await run(process.execPath, [cli, ...args]);
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
  assert.fail(`vigil ${args.join(' ')} succeeded`);
}

test('vigil model train then vigil model score flags the injected anomaly', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-model-cli-'));
  const normal = path.join(dir, 'normal.csv');
  const data = path.join(dir, 'data.csv');
  const model = path.join(dir, 'm.onnx');
  const again = path.join(dir, 'again.onnx');
  const output = path.join(dir, 'out.csv');
  await writeFile(normal, csv(normalSeries(3000, 1)));
  const series = normalSeries(1500, 2);
  series[1000]! += 3;
  await writeFile(data, csv(series, true));

  const trainArgs = ['model', 'train', '--input', normal, '--window', '24', '--epochs', '20'];
  const trained = await run(process.execPath, [cli, ...trainArgs, '--out', model]);
  assert.match(trained.stderr, /trained 24-6-24 on 2977 windows of "flow"/);
  await run(process.execPath, [cli, ...trainArgs, '--out', again]);
  assert.deepEqual(await readFile(again), await readFile(model), 'same seed, same bytes');

  // The model remembers its column, so the extra column needs no --column.
  const scored = await run(process.execPath, [
    cli,
    'model',
    'score',
    '--model',
    model,
    '--input',
    data,
    '--output',
    output,
  ]);
  assert.match(scored.stderr, /1500 rows of "flow" scored in .* points\/s/);
  const lines = (await readFile(output, 'utf8')).trimEnd().split('\n');
  assert.equal(lines[0], 'timestamp,flow,valve,score,level,is_anomaly');
  assert.equal(lines.length, 1501);
  assert.match(lines[1]!, /,1,0\.000000,ok,0$/, 'warm-up rows score 0');
  const flagged = lines.slice(1).flatMap((line, i) => (line.endsWith(',1') ? [i] : []));
  assert.ok(flagged.includes(1000), `the anomaly is flagged (flagged: ${flagged.join(' ')})`);
  const elsewhere = flagged.filter((i) => i < 1000 || i >= 1000 + 24);
  assert.ok(elsewhere.length <= 5, `few flags on normal rows: ${elsewhere.join(' ')}`);
});

test('bad models and bad usage end with a coded message and exit status, not a stack trace', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-model-cli-'));
  const data = path.join(dir, 'data.csv');
  const corrupt = path.join(dir, 'corrupt.onnx');
  await writeFile(data, csv(normalSeries(200, 3), true));
  await writeFile(
    corrupt,
    Uint8Array.from({ length: 512 }, (_, i) => (i * 7919) % 251),
  );

  const bad = await failure(['model', 'score', '--model', corrupt, '--input', data]);
  assert.equal(bad.code, 6);
  assert.match(
    bad.stderr,
    /^vigil: VIGIL_ERR_MODEL_INVALID: .*corrupt\.onnx: not a loadable ONNX model/,
  );

  const missing = await failure([
    'model',
    'score',
    '--model',
    path.join(dir, 'x.onnx'),
    '--input',
    data,
  ]);
  assert.equal(missing.code, 6);
  assert.match(missing.stderr, /VIGIL_ERR_MODEL_NOT_FOUND: .*x\.onnx: cannot read the model/);

  // A file of several value columns trains a vector autoencoder unless --column picks one;
  // asking for both kinds at once is a usage error.
  const both = await failure([
    'model',
    'train',
    '--input',
    data,
    '--window',
    '8',
    '--column',
    'flow',
    '--columns',
    'flow,valve',
    '--out',
    corrupt,
  ]);
  assert.equal(both.code, 2);
  assert.match(
    both.stderr,
    /--column trains a window autoencoder of one column, --columns a vector/,
  );
});
