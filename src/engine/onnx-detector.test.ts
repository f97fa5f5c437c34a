import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import type { EventExplanation } from '../core/events/types.js';
import { parseStrategy } from '../core/strategy/parse.js';
import { checkOnnxModels } from '../core/detectors/multivariate/onnx-autoencoder.js';
import { VigilError } from '../errors.js';
import { writeTestVectorModel } from '../models/vector-model-fixture.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import type { EngineFeedItem, IngestPoint } from './engine.js';
import { createEngine } from './create-engine.js';

/**
 * The `onnx` vector detector in the live engine, in process and in scoring workers: the model is
 * found by name in the model directory (VIGIL_MODELS, which the workers inherit) and a broken
 * relation between a device's metrics raises a device event explained by the broken metric.
 */

const BASE = Date.UTC(2025, 0, 1);
const PG_URL = process.env.VIGIL_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const RUN = `vigil_onnx_${process.pid}_${Date.now().toString(36)}`;
const DEVICES = ['rig-1', 'rig-2'];

/** b ≈ 2a, c ≈ a + b (metrics in name order a, b, c); from i = 300 to 319 `c` breaks away. */
function row(i: number, k: number): [number, number, number] {
  const a = 10 + Math.sin(i / 9 + k) * 3 + ((i * 7 + k) % 5) * 0.01;
  const b = 2 * a + ((i * 3 + k) % 7) * 0.01;
  const broken = i >= 300 && i < 320 ? 6 : 0;
  return [a, b, a + b + broken];
}

function points(from: number, n: number): IngestPoint[] {
  const out: IngestPoint[] = [];
  for (let i = from; i < from + n; i++) {
    for (const [k, device] of DEVICES.entries()) {
      const [a, b, c] = row(i, k);
      out.push({ timestamp: BASE + i * 1000, device_id: device, metrics: { c, a, b } });
    }
  }
  return out;
}

// Trained on normal rows of both rigs, before the engine (and its workers) start.
const MODEL_DIR = writeTestVectorModel(
  'rig-ae',
  Array.from({ length: 600 }, (_, j) => row(j % 300, j < 300 ? 0 : 1)),
  3,
);

// Margin 2: the rows are nearly noise-free, so 150 training windows put the boundary close to
// the largest normal error (with 1, one normal stretch of rig-2 crosses it).
const STRATEGY = parseStrategy(
  [
    'name: rigs-ae',
    'version: 1',
    'description: the rigs, scored by an autoencoder',
    'trigger_rules:',
    '  - device: "rig-*"',
    'detector:',
    '  kind: onnx',
    '  params: { model: rig-ae, training_points: 150, calibration_margin: 2 }',
    'threshold:',
    '  kind: static',
    '',
  ].join('\n'),
);

const tempDirs: string[] = [];
const schemas: string[] = [];
after(async () => {
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    for (const schema of schemas) await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end();
  }
});

async function store(): Promise<Store> {
  const schema = `${RUN}_${schemas.length}`;
  schemas.push(schema);
  return openStore({ databaseUrl: PG_URL, schema, timescale: 'off' });
}

describe('the onnx detector in the live engine', () => {
  for (const workers of [0, 2]) {
    it(`finds its model by name and raises an explained device event (${workers} scoring workers)`, async () => {
      const spoolDir = await mkdtemp(join(tmpdir(), 'vigil-onnx-'));
      tempDirs.push(spoolDir);
      const s = await store();
      const engine = await createEngine({
        store: s,
        spoolDir,
        checkpointEveryMs: 0,
        strategies: [STRATEGY],
        scoreFeedPerSecond: 1e9,
        workers,
      });
      const events: EngineFeedItem[] = [];
      let scored = 0;
      engine.subscribe((item) => {
        if (item.type === 'score') scored++;
        else events.push(item);
      });
      for (let i = 0; i < 400; i += 50) await engine.ingest(points(i, 50), 'test');
      await engine.close();
      try {
        assert.equal(scored, 400 * DEVICES.length * 3, 'every metric of every point');
        const stored = await s.querier.events({ strategy: 'rigs-ae' });
        assert.deepEqual([...new Set(stored.map((e) => e.device))].sort(), DEVICES);
        assert.ok(stored.every((e) => e.metric === null && e.start >= BASE + 300_000));
        for (const e of stored) {
          const explanation = e.explanation as unknown as EventExplanation | null;
          assert.equal(explanation?.metrics[0]?.name, 'c', `top metric of ${e.device}'s event`);
          assert.equal(explanation?.detectors[0]?.name, 'onnx');
        }
      } finally {
        await s.close();
      }
    });
  }
});

describe('an onnx model that is missing', () => {
  it('is refused when a strategy naming it is staged, directly or inside an ensemble', () => {
    const missing = (error: unknown): boolean =>
      error instanceof VigilError && /unknown model "absent-ae"/.test(error.message);
    assert.throws(() => checkOnnxModels('onnx', { model: 'absent-ae' }), missing);
    assert.throws(
      () =>
        checkOnnxModels('vector-ensemble', {
          vector: { kind: 'onnx', params: { model: 'absent-ae' } },
        }),
      missing,
    );
    assert.doesNotThrow(() => checkOnnxModels('onnx', { model: 'rig-ae' }));
    assert.doesNotThrow(() => checkOnnxModels('hotelling', {}));
  });

  for (const workers of [0, 2]) {
    it(`met at a device's first point costs that device its scores, not the process, and is picked up once in place (${workers} scoring workers)`, async () => {
      const spoolDir = await mkdtemp(join(tmpdir(), 'vigil-onnx-late-'));
      tempDirs.push(spoolDir);
      const model = `late-ae-${workers}`;
      const late = parseStrategy(
        [
          'name: rigs-late',
          'version: 1',
          'description: a model put in place after the first points',
          'trigger_rules:',
          '  - device: "rig-*"',
          'detector:',
          '  kind: onnx',
          `  params: { model: ${model}, training_points: 150, calibration_margin: 2 }`,
          'threshold:',
          '  kind: static',
          '',
        ].join('\n'),
      );
      const s = await store();
      // Loaded at start (as from a strategies directory), so staging's check never saw it.
      const engine = await createEngine({
        store: s,
        spoolDir,
        checkpointEveryMs: 0,
        strategies: [late],
        scoreFeedPerSecond: 1e9,
        workers,
      });
      let scored = 0;
      engine.subscribe((item) => {
        if (item.type === 'score') scored++;
      });
      await engine.ingest(points(0, 100), 'test');
      await engine.flush();
      assert.equal(scored, 0, 'nothing scored without the model');
      await copyFile(join(MODEL_DIR, 'rig-ae.onnx'), join(MODEL_DIR, `${model}.onnx`));
      for (let i = 100; i < 1_300; i += 100) await engine.ingest(points(i, 100), 'test');
      await engine.close();
      try {
        // Each rig's build failed at its point 0, its next 1,000 points were skipped, and the
        // try at point 1,001 found the model: points 1,001..1,299 scored (every metric).
        assert.equal(scored, 299 * DEVICES.length * 3);
        for (const device of DEVICES) {
          const raw = await s.querier.points({
            device,
            metric: 'a',
            from: BASE,
            to: BASE + 1_300_000,
            limit: 10_000,
          });
          assert.equal(raw.kind === 'raw' ? raw.times.length : -1, 1_300, `${device}: all stored`);
        }
      } finally {
        await s.close();
      }
    });
  }

  for (const workers of [0, 2]) {
    it(`removed while the service is down: the restart still starts, the device goes unscored (${workers} scoring workers)`, async () => {
      const spoolDir = await mkdtemp(join(tmpdir(), 'vigil-onnx-gone-'));
      tempDirs.push(spoolDir);
      const model = `gone-ae-${workers}`;
      await copyFile(join(MODEL_DIR, 'rig-ae.onnx'), join(MODEL_DIR, `${model}.onnx`));
      const gone = parseStrategy(
        [
          'name: rigs-gone',
          'version: 1',
          'description: a model removed between two runs',
          'trigger_rules:',
          '  - device: "rig-*"',
          'detector:',
          '  kind: onnx',
          `  params: { model: ${model}, training_points: 150, calibration_margin: 2 }`,
          'threshold:',
          '  kind: static',
          '',
        ].join('\n'),
      );
      const s = await store();
      const options = { store: s, checkpointEveryMs: 0, strategies: [gone], workers };
      try {
        const first = await createEngine({ ...options, spoolDir });
        await first.ingest(points(0, 200), 'test');
        await first.close(); // checkpoints both rigs' groups
        await unlink(join(MODEL_DIR, `${model}.onnx`));
        const second = await createEngine({ ...options, spoolDir, scoreFeedPerSecond: 1e9 });
        let scored = 0;
        second.subscribe((item) => {
          if (item.type === 'score') scored++;
        });
        await second.ingest(points(200, 100), 'test');
        await second.close();
        assert.equal(scored, 0, 'nothing scored without the model');
        const raw = await s.querier.points({
          device: 'rig-1',
          metric: 'c',
          from: BASE,
          to: BASE + 300_000,
          limit: 10_000,
        });
        assert.equal(raw.kind === 'raw' ? raw.times.length : -1, 300, 'every point stored');
      } finally {
        await s.close();
      }
    });
  }
});
