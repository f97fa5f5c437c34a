import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdaptiveWindowDetector, adaptiveWindowFactory } from './adaptive-window.js';
import { Rng } from '../stats/rng.js';
import { StepScale } from '../stats/robust.js';
import { gaussian } from './synthetic.js';

const defaults = adaptiveWindowFactory.paramsSchema.parse({});

test('state machine: spike halves, calm grows ×1.5, back to STABLE at the initial length', () => {
  const d = new AdaptiveWindowDetector(defaults);
  const rng = Rng.fromSeed(1);
  let t = 0;
  const feed = (x: number): void => {
    d.update(t, x);
    t += 1000;
  };
  for (let i = 0; i < 120; i++) feed(10 + 0.5 * gaussian(rng));
  assert.deepEqual(
    { ...d.windowState, points: 0 },
    { phase: 'STABLE', windowMs: 60_000, points: 0 },
  );
  assert.equal(d.windowState.points, 60);

  feed(100); // > 3 × p95 (about 10.8)
  assert.equal(d.windowState.phase, 'SPIKE');
  assert.equal(d.windowState.windowMs, 30_000);
  feed(100); // a second spike while in SPIKE does not halve again
  assert.equal(d.windowState.windowMs, 30_000);

  // The last 20 values' std stays above 5 until both spikes have left them.
  for (let i = 0; i < 19; i++) feed(10 + 0.5 * gaussian(rng));
  assert.equal(d.windowState.phase, 'SPIKE');
  feed(10);
  assert.equal(d.windowState.phase, 'RECOVERING');
  assert.equal(d.windowState.windowMs, 45_000);
  assert.equal(d.windowState.points, 45);

  // One full 45 s window later without a spike: ×1.5 = 67.5 s >= 60 s, hence STABLE.
  for (let i = 0; i < 44; i++) feed(10 + 0.5 * gaussian(rng));
  assert.equal(d.windowState.phase, 'RECOVERING');
  feed(10);
  assert.deepEqual(d.windowState, { phase: 'STABLE', windowMs: 67_500, points: 68 });
});

test('repeated spikes shrink the window down to its floor, never below', () => {
  const d = new AdaptiveWindowDetector(defaults);
  let t = 0;
  const windows: number[] = [];
  for (let round = 0; round < 6; round++) {
    for (let i = 0; i < 25; i++) d.update((t += 1000), 10 + (i % 3));
    d.update((t += 1000), 1000);
    windows.push(d.windowState.windowMs);
  }
  // 60 → 30, then each episode recovers ×1.5 once and halves again: ×0.75 per round, floored.
  assert.deepEqual(windows, [30_000, 22_500, 16_875, 15_000, 15_000, 15_000]);
});

test('a time going backwards counts as zero elapsed; after a gap the window keeps min_points', () => {
  const d = new AdaptiveWindowDetector(defaults);
  for (let i = 0; i < 100; i++) d.update(i * 1000, 5 + (i % 4));
  const before = d.windowState.points;
  d.update(10_000, 6); // far in the past: treated as "now", so it joins the window
  assert.equal(d.windowState.points, before + 1);
  d.update(10_000_000, 6);
  // The 60 s span now holds one reading: the window reaches back to the last 10.
  assert.equal(d.windowState.points, defaults.min_points);
  assert.ok(d.update(10_001_000, 6) < 0.5, 'an ordinary reading after the gap');
  assert.equal(new AdaptiveWindowDetector(defaults).update(0, 6), 0, 'nothing to compare with');
});

test('slow streams: the window holds at least min_points readings, so scoring works', () => {
  // 5-minute data: a 60 s window alone would never hold more than one reading.
  const d = new AdaptiveWindowDetector(defaults);
  const rng = Rng.fromSeed(3);
  const scores: number[] = [];
  for (let i = 0; i < 400; i++) scores.push(d.update(i * 300_000, 20 + gaussian(rng)));
  assert.equal(d.windowState.points, defaults.min_points);
  assert.ok(scores.slice(defaults.min_points).some((s) => s > 0));
  assert.ok(Math.max(...scores) < 0.5, `clean noise peaked at ${Math.max(...scores)}`);
  assert.ok(d.update(400 * 300_000, 40) > 0.7, 'a 20σ reading');
});

test('flat or integer data: the score is bounded by the series resolution and typical step', () => {
  // Counts that sit at 0 for long stretches: a window of zeros has σ = 0, and a reading of 1 used
  // to be a million-sigma event. A one-count change is now ordinary, a large burst still stands out.
  const d = new AdaptiveWindowDetector(defaults);
  const scores: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const x = i % 97 === 0 ? 2 : i % 41 === 0 ? 1 : 0;
    scores.push(d.update(i * 300_000, x));
  }
  assert.ok(Math.max(...scores.slice(200)) < 0.5, `max ${Math.max(...scores.slice(200))}`);
  const burst = d.update(2000 * 300_000, 30);
  assert.ok(burst > 0.8 && burst < 0.999, `burst ${burst}`);
});

/**
 * The score recomputed from scratch over the window, as the seed writes it, with σ and σ_dx
 * floored by the series' own resolution and typical step (`floor`).
 */
function batchScore(
  hist: { t: number; x: number; dx: number | null; above: boolean }[],
  now: number,
  x: number,
  windowMs: number,
  floor: number,
): number {
  const inSpan = hist.filter((p) => p.t > now - windowMs && p.t <= now);
  // Fewer than 10 readings in the span: the window reaches back to the last 10.
  const w = inSpan.length >= 10 ? inSpan : hist.slice(-10);
  if (w.length < 10) return 0;
  const mean = w.reduce((a, p) => a + p.x, 0) / w.length;
  const sigma = Math.sqrt(w.reduce((a, p) => a + (p.x - mean) ** 2, 0) / w.length);
  const dxs = w.flatMap((p) => (p.dx === null ? [] : [p.dx]));
  const dm = dxs.reduce((a, b) => a + b, 0) / dxs.length;
  const sdx = Math.sqrt(dxs.reduce((a, b) => a + (b - dm) ** 2, 0) / dxs.length);
  const last = hist[hist.length - 1] as { x: number; dx: number | null };
  const f = Math.max(floor, 1e-6);
  const trend = last.dx === null ? 0 : Math.abs(x - last.x - last.dx) / Math.max(sdx, f);
  const share = w.filter((p) => p.above).length / w.length;
  const raw = 0.4 * (Math.abs(x - mean) / Math.max(sigma, f)) + 0.35 * trend + 0.25 * share;
  return raw / (raw + 4);
}

test('the incremental score equals the batch formula over the time window', () => {
  // A huge spike factor keeps the window at 60 s so the batch reference stays simple.
  const d = new AdaptiveWindowDetector({ ...defaults, spike_factor: 1e12 });
  const rng = Rng.fromSeed(2);
  const hist: { t: number; x: number; dx: number | null; above: boolean }[] = [];
  const steps = new StepScale();
  let t = 0;
  let now = -Infinity;
  for (let i = 0; i < 6000; i++) {
    const u = rng.next();
    t += u < 0.05 ? 0 : u < 0.06 ? -5000 : u < 0.065 ? 120_000 : rng.int(3000);
    // A stuck stretch every 700 readings collapses the window's σ: there the floor decides.
    const stuck = i % 700 >= 300 && i % 700 < 380;
    const x = stuck ? (hist[hist.length - 1] as { x: number }).x : 20 + 3 * gaussian(rng);
    const spiked = x + (i % 500 === 0 ? 40 : 0);
    const floorBefore = steps.floor;
    const expected = hist.length ? batchScore(hist, now, spiked, 60_000, floorBefore) : 0;
    const got = d.update(t, spiked);
    assert.ok(Math.abs(got - expected) < 1e-9, `point ${i}: ${got} vs ${expected}`);
    steps.update(spiked);
    // Learn it into the reference: flagged against the window it was scored with, then time
    // advances (clamped: never backwards).
    const inSpan = hist.filter((p) => p.t > now - 60_000);
    const w = inSpan.length >= 10 ? inSpan : hist.slice(-10);
    now = Math.max(now, t);
    const m = w.reduce((a, p) => a + p.x, 0) / (w.length || 1);
    const sd = Math.sqrt(w.reduce((a, p) => a + (p.x - m) ** 2, 0) / (w.length || 1));
    const s = Math.max(sd, floorBefore, 1e-6);
    const prev = hist[hist.length - 1];
    hist.push({
      t: now,
      x: spiked,
      dx: prev ? spiked - prev.x : null,
      above: w.length >= 2 && spiked > m + 2 * s,
    });
    if (hist.length > 400) hist.shift();
  }
});

test('params are validated together', () => {
  const r = adaptiveWindowFactory.paramsSchema.safeParse({ min_window_ms: 100_000 });
  assert.equal(r.success, false);
});
