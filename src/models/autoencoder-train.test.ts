import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VigilError } from '../errors.js';
import {
  completeWindowStarts,
  quantileSorted,
  reconstructionError,
  trainAutoencoder,
} from './autoencoder-train.js';
import { autoencoderToOnnx } from './onnx-writer.js';
import { normalSeries } from './synthetic.js';

const normal = normalSeries(2000, 11);

test('the same seed gives a byte-identical ONNX file; another seed does not', () => {
  const params = { window: 16, epochs: 5, seed: 42 };
  const a = autoencoderToOnnx(trainAutoencoder(normal, params));
  const b = autoencoderToOnnx(trainAutoencoder(Float64Array.from(normal), params));
  const c = autoencoderToOnnx(trainAutoencoder(normal, { ...params, seed: 43 }));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('training learns the shape of normal windows', () => {
  const model = trainAutoencoder(normal, { window: 16, epochs: 30 });
  assert.equal(model.hidden, 4, 'default bottleneck: a quarter of the window');
  // Predicting the mean would give a standardised loss of about 1.
  assert.ok(model.training.finalLoss < 0.05, `final loss ${model.training.finalLoss}`);
  const { typical, boundary } = model.training.calibration;
  assert.ok(typical > 0 && boundary > typical, `typical ${typical}, boundary ${boundary}`);
  const scratch = new Float64Array(16);
  const spiked = Float64Array.from(normal.subarray(100, 116));
  spiked[8]! += 5;
  assert.ok(reconstructionError(model, spiked, 0, scratch) > 10 * boundary);
});

test('windows with a missing value are left out of training and calibration', () => {
  const gappy = Float64Array.from(normal);
  for (let i = 0; i < gappy.length; i += 50) gappy[i] = Number.NaN;
  const starts = completeWindowStarts(gappy, 16);
  assert.ok(starts.every((s) => s % 50 > 0 && s % 50 <= 34));
  const model = trainAutoencoder(gappy, { window: 16, epochs: 3 });
  assert.equal(model.training.windows, starts.length);
  assert.ok(Number.isFinite(model.training.calibration.boundary));
});

test('training refuses bad parameters and too little data with VigilErrors', () => {
  const code = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof VigilError, String(err));
      return err.code;
    }
    return 'no error';
  };
  assert.equal(
    code(() => trainAutoencoder(normal, { window: 8, hidden: 8 })),
    'VIGIL_ERR_USAGE',
  );
  assert.equal(
    code(() => trainAutoencoder(normal, { window: 2 })),
    'VIGIL_ERR_USAGE',
  );
  assert.equal(
    code(() => trainAutoencoder(normal.subarray(0, 20), { window: 16 })),
    'VIGIL_ERR_INPUT',
  );
});

test('a flat training series still gives a finite model that flags any change', () => {
  const flat = new Float64Array(300).fill(5);
  const model = trainAutoencoder(flat, { window: 8, epochs: 5 });
  assert.equal(model.std, 1);
  const scratch = new Float64Array(8);
  const bumped = new Float64Array(8).fill(5);
  bumped[7] = 6;
  assert.ok(reconstructionError(model, bumped, 0, scratch) > model.training.calibration.boundary);
});

test('quantiles interpolate between order statistics', () => {
  const sorted = Float64Array.from([1, 2, 3, 4, 5]);
  assert.equal(quantileSorted(sorted, 0.5), 3);
  assert.equal(quantileSorted(sorted, 0.125), 1.5);
  assert.equal(quantileSorted(sorted, 1), 5);
  assert.ok(Number.isNaN(quantileSorted(new Float64Array(0), 0.5)));
});
