import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { VigilError } from '../errors.js';
import { reconstructionError, trainAutoencoder } from './autoencoder-train.js';
import { openWindowModel, type WindowModel } from './onnx-session.js';
import { ONNX_FLOAT, autoencoderToOnnx, encodeOnnxModel } from './onnx-writer.js';
import { normalSeries } from './synthetic.js';
import { reconstructionErrors, scoreSeries } from './window-scorer.js';

const W = 24;
const training = normalSeries(4000, 1);
const trained = trainAutoencoder(training, { window: W, epochs: 30, seed: 3 });
let model: WindowModel;

before(async () => {
  model = await openWindowModel(autoencoderToOnnx(trained), 'trained.onnx');
});
after(async () => {
  await model.release();
});

const timesFor = (n: number): Float64Array => Float64Array.from({ length: n }, (_, i) => i * 1000);

test('onnxruntime reproduces the reference errors on every training window', async () => {
  const errors = await reconstructionErrors(training, model);
  const scratch = new Float64Array(W);
  for (let t = 0; t < training.length; t++) {
    if (t < W - 1) {
      assert.ok(Number.isNaN(errors[t]!));
      continue;
    }
    const expected = reconstructionError(trained, training, t - W + 1, scratch);
    const got = errors[t]!;
    assert.ok(Math.abs(got - expected) <= 1e-4 * expected + 1e-9, `t=${t}: ${got} vs ${expected}`);
  }
});

test('a window with an injected anomaly scores at least 0.5, normal windows below', async () => {
  const series = normalSeries(3000, 2);
  const spikeAt = 2000;
  series[spikeAt]! += 2;
  const shiftFrom = 2500;
  for (let t = shiftFrom; t < shiftFrom + 6; t++) series[t]! -= 1.5;
  const scores = await scoreSeries(timesFor(series.length), series, model);
  assert.ok(scores[spikeAt]! >= 0.5, `spike scored ${scores[spikeAt]}`);
  assert.ok(scores[shiftFrom + 5]! >= 0.5, `dip scored ${scores[shiftFrom + 5]}`);
  let flagged = 0;
  let normal = 0;
  for (let t = W - 1; t < series.length; t++) {
    const touched = (t >= spikeAt && t < spikeAt + W) || (t >= shiftFrom && t < shiftFrom + 6 + W);
    if (touched) continue;
    normal++;
    if (scores[t]! >= 0.5) flagged++;
  }
  // The boundary is the training q99.9: about one normal window in a thousand crosses it.
  assert.ok(flagged / normal <= 0.003, `${flagged} of ${normal} normal windows scored ≥ 0.5`);
  const sorted = Float64Array.from(scores.subarray(W - 1, spikeAt)).sort();
  assert.ok(sorted[Math.floor(sorted.length / 2)]! < 0.05, 'a typical normal window scores ≈ 0');
});

test('the first window - 1 points and windows with a missing value score 0', async () => {
  const series = normalSeries(200, 5);
  series[100] = Number.NaN;
  const scores = await scoreSeries(timesFor(series.length), series, model, {
    calibration: { typical: 0, boundary: 1e-12 }, // every complete window would score ≈ 1
  });
  for (let t = 0; t < series.length; t++) {
    const complete = t >= W - 1 && (t < 100 || t >= 100 + W);
    assert.equal(scores[t]! > 0.99, complete, `t=${t}: ${scores[t]}`);
  }
});

test('results do not depend on how windows are batched', async () => {
  const series = normalSeries(1000, 6);
  const one = await scoreSeries(timesFor(series.length), series, model);
  const small = await scoreSeries(timesFor(series.length), series, model, { batchWindows: 7 });
  assert.deepEqual(small, one);
});

test('a declared window that differs from the model is refused', async () => {
  await assert.rejects(
    scoreSeries(timesFor(100), normalSeries(100, 1), model, { window: 12 }),
    (err: unknown) => err instanceof VigilError && err.code === 'VIGIL_ERR_MODEL_INVALID',
  );
});

/**
 * A user-supplied model in the contract's loosest form: fixed batch of 1, window dimension
 * symbolic, no Vigil metadata. It "reconstructs" a window as its own mean, so the error is the
 * window's variance.
 */
function meanModel(): Uint8Array {
  const n = 6;
  return encodeOnnxModel({
    graphName: 'window_mean',
    nodes: [{ opType: 'MatMul', inputs: ['x', 'avg'], outputs: ['y'], name: 'avg' }],
    initializers: [{ name: 'avg', dims: [n, n], data: new Float32Array(n * n).fill(1 / n) }],
    inputs: [{ name: 'x', elemType: ONNX_FLOAT, dims: [1, 'width'] }],
    outputs: [{ name: 'y', elemType: ONNX_FLOAT, dims: [1, 'width'] }],
    metadata: [],
  });
}

test('a fixed-batch user model without metadata scores once calibrated on leading rows', async () => {
  const user = await openWindowModel(meanModel(), 'mean.onnx', { window: 6 });
  try {
    assert.equal(user.fixedBatch, 1);
    assert.equal(user.calibration, undefined);
    const series = new Float64Array(600).map((_, t) => Math.sin(t / 40));
    series[500]! += 1;
    await assert.rejects(
      scoreSeries(timesFor(series.length), series, user),
      (err: unknown) =>
        err instanceof VigilError &&
        err.code === 'VIGIL_ERR_USAGE' &&
        /carries no vigil.error_boundary/.test(err.message),
    );
    const scores = await scoreSeries(timesFor(series.length), series, user, {
      calibrationPoints: 400,
    });
    assert.ok(scores[500]! > 0.9, `bump scored ${scores[500]}`);
    // The reference's own q99.9: at most its single largest window crosses it.
    assert.ok(scores.subarray(0, 400).filter((s) => s >= 0.5).length <= 1);
    const errors = await reconstructionErrors(series, user);
    const window = series.subarray(495, 501);
    const mean = window.reduce((a, b) => a + b, 0) / 6;
    const variance = window.reduce((a, v) => a + (v - mean) ** 2, 0) / 6;
    assert.ok(Math.abs(errors[500]! - variance) < 1e-5, `${errors[500]} vs ${variance}`);
  } finally {
    await user.release();
  }
});
