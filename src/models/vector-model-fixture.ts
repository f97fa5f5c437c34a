import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { trainVectorAutoencoder, vectorAutoencoderToOnnx } from './vector-autoencoder.js';

/**
 * For tests: trains a small vector autoencoder on `rows` (taken as normal) and writes it as
 * `<name>.onnx` into a fresh temporary model directory, which it also makes the process's
 * (VIGIL_MODELS), so the `onnx` detector finds it by name. Synchronous, so test files can build
 * their models at load time. Returns the directory.
 */
export function writeTestVectorModel(
  name: string,
  rows: readonly ArrayLike<number>[],
  window: number,
  options: { dir?: string; epochs?: number; seed?: number } = {},
): string {
  const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), 'vigil-models-'));
  const model = trainVectorAutoencoder(rows, {
    window,
    epochs: options.epochs ?? 40,
    seed: options.seed ?? 1,
  });
  writeFileSync(path.join(dir, `${name}.onnx`), vectorAutoencoderToOnnx(model));
  process.env['VIGIL_MODELS'] = dir;
  return dir;
}
