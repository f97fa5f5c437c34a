import { reconstruct, reconstructionError, trainAutoencoder } from './autoencoder-train.js';
import { autoencoderToOnnx } from './onnx-writer.js';
import { normalSeries } from './synthetic.js';

/**
 * The committed test vectors (src/models/fixtures/): a tiny autoencoder written by our writer,
 * input windows, and the reconstructions and errors of the reference forward pass. The tests
 * check onnxruntime against them and that rebuilding them gives the same bytes; after an
 * intended change, `node dist/models/make-reference-vectors.js` rewrites them.
 */
export const TEST_MODEL_FILE = 'tiny-autoencoder.onnx';
export const TEST_VECTORS_FILE = 'tiny-autoencoder.vectors.json';

export interface TestVectors {
  readonly model: string;
  readonly window: number;
  readonly cases: readonly TestCase[];
}

export interface TestCase {
  readonly name: string;
  readonly input: readonly number[];
  readonly reconstruction: readonly number[];
  readonly error: number;
}

export function buildTestVectors(): { model: Uint8Array; vectors: TestVectors } {
  const window = 8;
  const trained = trainAutoencoder(normalSeries(600, 7), {
    window,
    hidden: 3,
    epochs: 20,
    seed: 7,
  });
  const fresh = normalSeries(200, 8);
  const inputs: [string, number[]][] = [
    ['normal-a', Array.from(fresh.subarray(10, 10 + window))],
    ['normal-b', Array.from(fresh.subarray(50, 50 + window))],
    ['normal-c', Array.from(fresh.subarray(123, 123 + window))],
    ['spike', Array.from(fresh.subarray(80, 80 + window), (v, i) => (i === 5 ? v + 6 : v))],
    ['flat', new Array<number>(window).fill(10)],
    ['far-out', new Array<number>(window).fill(-1000)],
  ];
  const out = new Float64Array(window);
  const cases = inputs.map(([name, raw]) => {
    // The runtime sees float32 inputs, so the reference does too.
    const input = raw.map((v) => Math.fround(v));
    reconstruct(trained, input, 0, out);
    const reconstruction = Array.from(out);
    return { name, input, reconstruction, error: reconstructionError(trained, input, 0, out) };
  });
  return {
    model: autoencoderToOnnx(trained, 'value'),
    vectors: { model: TEST_MODEL_FILE, window, cases },
  };
}
