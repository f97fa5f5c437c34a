import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { compileStrategy } from '../core/strategy/compile.js';
import { parseStrategy } from '../core/strategy/parse.js';
import { openStore } from '../store/open-store.js';
import { resolveStrategy } from '../strategy-files/load.js';
import { createEngine } from './create-engine.js';
import type { IngestPoint, ScoredPoint } from './engine.js';

const BASE = Date.UTC(2025, 0, 1);
/** One point per 10 s: six per minute. */
const STEP = 10_000;
const POINTS = 240;

const strategy = (name: string, devices: string, detector: string, threshold: string) =>
  parseStrategy(
    [
      `name: ${name}`,
      'version: 1',
      `description: ${name}`,
      'trigger_rules:',
      `  - device: "${devices}"`,
      'detector:',
      `  ${detector}`,
      'threshold:',
      `  ${threshold}`,
      '',
    ].join('\n'),
  );

/** A band at the detector's own boundary (0.5), none (the trees), another alert score. */
const Z = strategy('z', 'z-*', 'kind: ewzscore', 'kind: static');
const TREES = strategy('trees', 'h-*', 'kind: half-space-trees', 'kind: static');
const HIGHER = strategy(
  'higher',
  'a-*',
  'kind: ewzscore',
  '{ kind: static, params: { alert: 0.7 } }',
);

const value = (i: number): number => 20 + Math.sin(i / 7) + (i % 11) / 10 + (i === 200 ? 9 : 0);

function points(device: string): IngestPoint[] {
  return Array.from({ length: POINTS }, (_, i) => ({
    timestamp: BASE + i * STEP,
    device_id: device,
    metrics: { temp: value(i) },
  }));
}

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

for (const workers of [0, 1]) {
  describe(`the alert threshold on scored points (${workers} scoring workers)`, () => {
    it('comes at the first point of each minute once warm, from the detector band; scores unchanged', async () => {
      const store = await openStore();
      const spoolDir = await mkdtemp(join(tmpdir(), 'vigil-thresholds-'));
      dirs.push(spoolDir);
      const engine = await createEngine({
        store,
        spoolDir,
        checkpointEveryMs: 0,
        workers,
        strategies: [Z, TREES, HIGHER],
      });
      const scored: ScoredPoint[] = [];
      engine.subscribe((item) => {
        if (item.type === 'score') scored.push(item.point);
      });
      try {
        for (const device of ['z-1', 'h-1', 'a-1']) {
          await engine.ingest(points(device), 'test');
        }
        await engine.flush();
      } finally {
        await engine.close();
        await store.close();
      }
      const of = (device: string) => scored.filter((p) => p.device_id === device);
      assert.equal(of('z-1').length, POINTS);

      // The same series through a pipeline of its own: the band read before each minute's first
      // point, and scores from a pipeline that never reads one (reading must not change them).
      const reference = compileStrategy(Z)('z-1/temp');
      const untouched = compileStrategy(Z)('z-1/temp');
      const expected: (readonly [number, number] | undefined)[] = [];
      for (let i = 0; i < POINTS; i++) {
        const t = BASE + i * STEP;
        const band = i % 6 === 0 ? reference.alertBand(t, value(i)) : null;
        expected.push(band ?? undefined);
        assert.equal(reference.process(t, value(i)), untouched.process(t, value(i)));
      }
      const carried = of('z-1').map((p) => p.threshold);
      assert.deepEqual(carried, expected);
      const withBand = carried.flatMap((b, i) => (b === undefined ? [] : [i]));
      // ewzscore warms up over 30 points: the first minute boundary after is point 30.
      assert.equal(withBand[0], 30, 'none while warming up');
      assert.deepEqual(
        withBand,
        Array.from({ length: (POINTS - 30) / 6 }, (_, k) => 30 + 6 * k),
        'one per minute, at its first point',
      );
      for (const b of carried) if (b !== undefined) assert.ok(b[0] < b[1]);
      // Every score as a pipeline that never reads a band gives it.
      const plain = compileStrategy(Z)('z-1/temp');
      of('z-1').forEach((p, i) => assert.equal(p.score, plain.process(p.timestamp, value(i))));

      assert.equal(of('h-1').length, POINTS);
      assert.ok(
        of('h-1').every((p) => p.threshold === undefined),
        'a detector without a band',
      );
      assert.equal(of('a-1').length, POINTS);
      assert.ok(
        of('a-1').every((p) => p.threshold === undefined),
        'an alert score other than the detector boundary',
      );
    });
  });
}

describe('reading the alert threshold', () => {
  it('leaves the default strategy scoring exactly as without, and gives bands once warm', async () => {
    const strategy = await resolveStrategy('default');
    const reading = compileStrategy(strategy)('d/m');
    const plain = compileStrategy(strategy)('d/m');
    let bands = 0;
    for (let i = 0; i < 3_000; i++) {
      // One point per minute: a band read before every point, the most it is ever read.
      const t = BASE + i * 60_000;
      const x = value(i) + (i % 500 === 499 ? 15 : 0);
      const band = reading.alertBand(t, x);
      if (band !== null) {
        bands++;
        assert.ok(Number.isFinite(band[0]) && Number.isFinite(band[1]) && band[0] <= band[1]);
      }
      assert.equal(reading.process(t, x), plain.process(t, x), `point ${i}`);
      assert.equal(reading.lastLevel, plain.lastLevel);
    }
    assert.ok(bands > 2_000, `bands once warm (${bands})`);
    assert.equal(reading.alertBand(BASE, Number.NaN), null, 'none for a missing value');
  });
});

describe('the alert threshold of an ensemble', () => {
  it('is its strongest member band under `max`, none under a mean', () => {
    const ensemble = (combine: string) =>
      compileStrategy(
        strategy(
          `ens-${combine}`,
          '*',
          `{ kind: ensemble, params: { combine: ${combine}, members: [{ kind: ewzscore }, { kind: ewzscore, params: { alpha: 0.1 } }] } }`,
          'kind: static',
        ),
      )('d/m');
    const max = ensemble('max');
    const mean = ensemble('mean');
    let bands = 0;
    for (let i = 0; i < 200; i++) {
      const t = BASE + i * 60_000;
      if (max.alertBand(t, value(i)) !== null) bands++;
      assert.equal(mean.alertBand(t, value(i)), null);
      max.process(t, value(i));
      mean.process(t, value(i));
    }
    assert.ok(bands > 150, `${bands}`);
  });
});
