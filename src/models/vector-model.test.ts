import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Rng } from '../core/stats/rng.js';
import { readTrainingTable } from './training-table.js';
import { trainVectorAutoencoder, vectorAutoencoderToOnnx } from './vector-autoencoder.js';
import { loadVectorModel } from './vector-model.js';
import { decodeOnnxGraph } from './onnx-graph.js';
import { encodeOnnxModel, ONNX_FLOAT } from './onnx-writer.js';

test('Unicode metric names survive training, the file and loading, in their order', () => {
  const rng = Rng.fromSeed(2);
  const lines = ['時刻,température,压力,ダクト流量'];
  for (let t = 0; t < 200; t++) {
    const load = Math.sin(t / 15) + 0.05 * rng.uniform(-1, 1);
    lines.push(`${t},${20 + load},${3 - load},${7 + 2 * load}`);
  }
  const table = readTrainingTable(lines.join('\n'), { source: 'u.csv', timeColumn: '時刻' });
  const model = trainVectorAutoencoder(table.rows, { window: 2, epochs: 3 });
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-vector-model-'));
  const bytes = vectorAutoencoderToOnnx(model, table.metrics);
  writeFileSync(path.join(dir, 'u.onnx'), bytes);
  const loaded = loadVectorModel('u', dir);
  assert.deepEqual(loaded.metrics, ['température', '压力', 'ダクト流量']);
  assert.equal(loaded.dimensions, 3);
  assert.equal(loaded.window, 2);
  const metadata = decodeOnnxGraph(bytes, 'u.onnx').metadata;
  assert.equal(metadata.get('vigil.model'), 'vector-autoencoder/1');
  assert.equal(JSON.parse(metadata.get('vigil.std')!).length, 3);
});

test('malformed vigil.metrics is refused when the model is loaded', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-vector-model-'));
  const file = (metadata: [string, string][]): Uint8Array =>
    encodeOnnxModel({
      graphName: 'id',
      nodes: [{ opType: 'Identity', inputs: ['window'], outputs: ['reconstruction'], name: 'i' }],
      initializers: [],
      inputs: [{ name: 'window', elemType: ONNX_FLOAT, dims: ['N', 4] }],
      outputs: [{ name: 'reconstruction', elemType: ONNX_FLOAT, dims: ['N', 4] }],
      metadata,
    });
  const cases: [string, [string, string][], RegExp][] = [
    [
      'not-json',
      [['vigil.metrics', 'a,b']],
      /vigil\.metrics must be a JSON array of distinct metric names, found a,b/,
    ],
    ['twice', [['vigil.metrics', '["a","a"]']], /must be a JSON array of distinct/],
    [
      'counts',
      [
        ['vigil.metrics', '["a","b"]'],
        ['vigil.dimensions', '4'],
      ],
      /vigil\.metrics names 2 metrics, vigil\.dimensions says 4/,
    ],
  ];
  for (const [name, metadata, message] of cases) {
    writeFileSync(path.join(dir, `${name}.onnx`), file(metadata));
    assert.throws(
      () => loadVectorModel(name, dir),
      { code: 'VIGIL_ERR_MODEL_INVALID', message },
      name,
    );
  }
  writeFileSync(path.join(dir, 'named.onnx'), file([['vigil.metrics', '["a","b","c","d"]']]));
  assert.equal(loadVectorModel('named', dir).dimensions, 4, 'the names give the metric count');
});
