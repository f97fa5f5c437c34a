import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { makeRig, runToCsv } from '../eval/multivariate/machines.js';
import { decodeOnnxGraph } from '../models/onnx-graph.js';
import { loadVectorModel } from '../models/vector-model.js';

/**
 * `vigil model train` on several columns, end to end through spawned processes: the rig
 * (a pump, 8 sensors at 1 Hz, a blockage on rows 580–975), a vector autoencoder trained on its
 * first 400 rows, then `vigil detect` with a `kind: onnx` strategy naming that model.
 */

const run = promisify(execFile);
const cli = fileURLToPath(new URL('./main.js', import.meta.url));
const TRAIN_ROWS = 400;

async function vigil(args: string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [cli, ...args], { cwd, env: { ...process.env, VIGIL_MODELS: '' } });
}

async function failure(args: string[], cwd: string): Promise<{ code: number; stderr: string }> {
  try {
    await vigil(args, cwd);
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
  assert.fail(`vigil ${args.join(' ')} succeeded`);
}

const STRATEGY = [
  'name: rig-ae',
  'version: 1',
  'description: the rig, scored by its own autoencoder',
  'detector:',
  '  kind: onnx',
  '  params: { model: rig }',
  'threshold: { kind: static }',
  '',
].join('\n');

function trainArgs(input: string, out: string): string[] {
  return [
    'model',
    'train',
    '--input',
    input,
    '--time-column',
    'datetime',
    '--train-rows',
    String(TRAIN_ROWS),
    '--window',
    '4',
    '--out',
    out,
  ];
}

test('a vector autoencoder trained by the CLI scores the rig with kind: onnx', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-model-vector-'));
  await mkdir(path.join(dir, 'models'));
  const rig = makeRig(16);
  await writeFile(path.join(dir, 'rig.csv'), runToCsv(rig));
  await writeFile(path.join(dir, 'rig-ae.yaml'), STRATEGY);

  const trained = await vigil(trainArgs('rig.csv', 'models/rig.onnx'), dir);
  assert.match(
    trained.stderr,
    /^trained 32-24-32 over windows of 4 vectors of 8 metrics \(speed, current, voltage, pressure, flow, vibration, bearing_temp, motor_temp\) on 397 windows of 400 rows \(linear, 40 epochs/,
  );
  await vigil(trainArgs('rig.csv', 'again.onnx'), dir);
  const bytes = await readFile(path.join(dir, 'models/rig.onnx'));
  assert.deepEqual(await readFile(path.join(dir, 'again.onnx')), bytes, 'same seed, same bytes');
  const metadata = decodeOnnxGraph(bytes, 'rig.onnx').metadata;
  assert.deepEqual(JSON.parse(metadata.get('vigil.metrics')!), rig.metrics);
  assert.equal(metadata.get('vigil.window'), '4');
  assert.equal(JSON.parse(metadata.get('vigil.mean')!).length, 8);

  await vigil(
    [
      'detect',
      '--input',
      'rig.csv',
      '--time-column',
      'datetime',
      '--strategy',
      'rig-ae.yaml',
      '--train-rows',
      String(TRAIN_ROWS),
      '--output',
      'out.csv',
    ],
    dir,
  );
  const [header = '', ...lines] = (await readFile(path.join(dir, 'out.csv'), 'utf8'))
    .trimEnd()
    .split('\n');
  const columns = header.split(',');
  const inEvent = lines.map((line) => line.split(',')[columns.indexOf('in_event')] === '1');
  const fault = inEvent.slice(rig.start, rig.end).filter(Boolean).length;
  const normal = lines.length - TRAIN_ROWS - (rig.end - rig.start);
  const falseAlarms = inEvent.filter(
    (e, i) => e && i >= TRAIN_ROWS && (i < rig.start || i >= rig.end),
  );
  assert.ok(fault >= 0.9 * (rig.end - rig.start), `fault rows in events: ${fault}`);
  assert.ok(falseAlarms.length <= 0.05 * normal, `normal rows in events: ${falseAlarms.length}`);
});

test('our interpreter and onnxruntime reconstruct the rig alike through the CLI-trained file', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-model-vector-'));
  const rig = makeRig(17);
  await writeFile(path.join(dir, 'rig.csv'), runToCsv(rig));
  await vigil(trainArgs('rig.csv', 'rig.onnx'), dir);
  const model = loadVectorModel('rig', dir);
  const session = await InferenceSession.create(await readFile(path.join(dir, 'rig.onnx')), {
    logSeverityLevel: 3,
  });
  try {
    const width = model.width;
    const ours = new Float64Array(width);
    let worst = 0;
    // Normal and faulty windows: the rows in 4-row windows, every 7th end.
    for (let end = 3; end < rig.values.length; end += 7) {
      const x = Float32Array.from(rig.values.slice(end - 3, end + 1).flatMap((v) => Array.from(v)));
      const result = await session.run({
        [session.inputNames[0]!]: new Tensor('float32', x, [1, width]),
      });
      const theirs = result[session.outputNames[0]!]!.data as Float32Array;
      model.reconstruct(Float64Array.from(x), ours);
      for (let i = 0; i < width; i++) {
        const scale = Math.max(1e-6, Math.abs(theirs[i]!));
        worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!) / scale);
      }
    }
    assert.ok(worst < 1e-5, `largest relative difference ${worst}`);
  } finally {
    await session.release();
  }
});

test('a device whose metrics are not the model’s, or in another order, is refused by name', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-model-vector-'));
  await mkdir(path.join(dir, 'models'));
  const lines = runToCsv(makeRig(18)).trimEnd().split('\n');
  const cells = lines.map((line) => line.split(','));
  await writeFile(path.join(dir, 'rig.csv'), lines.join('\n') + '\n');
  // The same data with flow and pressure swapped.
  const swapped = cells.map((c) => [c[0], c[1], c[2], c[3], c[5], c[4], ...c.slice(6)].join(','));
  await writeFile(path.join(dir, 'swapped.csv'), swapped.join('\n') + '\n');
  await writeFile(path.join(dir, 'rig-ae.yaml'), STRATEGY);
  await vigil(trainArgs('rig.csv', 'models/rig.onnx'), dir);
  const refused = await failure(
    ['detect', '--input', 'swapped.csv', '--strategy', 'rig-ae.yaml', '--train-rows', '400'],
    dir,
  );
  assert.match(
    refused.stderr,
    /VIGIL_ERR_STRATEGY_INVALID: model "rig" was trained on the metrics \["speed", "current", "voltage", "pressure", "flow", .*\], in this order, but the device has \["speed", "current", "voltage", "flow", "pressure", .*\]: the same metrics in another order/,
  );

  const bad = await failure(
    [
      'model',
      'train',
      '--input',
      'rig.csv',
      '--columns',
      'flow,debit',
      '--window',
      '4',
      '--out',
      'x.onnx',
    ],
    dir,
  );
  assert.equal(bad.code, 3);
  assert.match(bad.stderr, /^vigil: VIGIL_ERR_INPUT: rig\.csv:1: no column named "debit"/);
  const short = await failure(
    [
      'model',
      'train',
      '--input',
      'rig.csv',
      '--train-rows',
      '30',
      '--window',
      '4',
      '--out',
      'x.onnx',
    ],
    dir,
  );
  assert.equal(short.code, 3);
  assert.match(
    short.stderr,
    /training a window of 4 vectors of 8 metrics needs at least 32 complete windows \(35 rows in a row without a missing value\), found 27/,
  );
});
