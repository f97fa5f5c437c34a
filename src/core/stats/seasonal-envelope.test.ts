import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeasonalEnvelope } from './seasonal-envelope.js';
import { randomSeries } from './test-data.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

test('high and low are the batch max/min of previous days within ±width hour buckets, rounded outwards to a 16-bit grid', () => {
  const step = 20 * 60_000;
  const noise = randomSeries(7, 72 * 12, 3);
  const days = 3;
  const width = 1;
  const env = new SeasonalEnvelope(DAY, days, 24, width);
  const start = Date.UTC(2024, 0, 1, 5);
  const seen: { t: number; x: number }[] = [];
  for (let i = 0; i < noise.length; i++) {
    const t = start + i * step;
    const x = 10 * Math.sin((2 * Math.PI * t) / DAY) + noise[i]!;
    env.read(t);
    const day = Math.floor(t / DAY);
    const hour = Math.floor((t - day * DAY) / HOUR);
    let high = Number.NEGATIVE_INFINITY;
    let low = Number.POSITIVE_INFINITY;
    for (const p of seen) {
      const d = Math.floor(p.t / DAY);
      const h = Math.floor((p.t - d * DAY) / HOUR);
      const dh = Math.min((h - hour + 24) % 24, (hour - h + 24) % 24);
      if (d < day && d >= day - days && dh <= width) {
        high = Math.max(high, p.x);
        low = Math.min(low, p.x);
      }
    }
    // Values lie within ±13 of the first: the grid's step is at most 2^-10.
    if (high > Number.NEGATIVE_INFINITY) {
      assert.ok(env.high >= high && env.high - high <= 2 ** -10, `high at ${i}`);
      assert.ok(env.low <= low && low - env.low <= 2 ** -10, `low at ${i}`);
    } else {
      assert.deepEqual([env.high, env.low], [high, low], `nothing seen at ${i}`);
    }
    env.add(t, x);
    seen.push({ t, x });
  }
});

test('state round-trips through JSON and a gap longer than the horizon forgets everything', () => {
  const env = new SeasonalEnvelope(DAY, 2, 24, 0);
  for (let i = 0; i < 24 * 3; i++) env.add(i * HOUR, i);
  const copy = new SeasonalEnvelope(DAY, 2, 24, 0, JSON.parse(JSON.stringify(env.state())));
  env.read(3 * DAY + 5 * HOUR);
  copy.read(3 * DAY + 5 * HOUR);
  assert.deepEqual([copy.low, copy.high], [env.low, env.high]);
  assert.deepEqual([env.low, env.high], [29, 53]);
  env.read(10 * DAY);
  assert.deepEqual([env.low, env.high], [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
});

test('bounds stay bounds when the grid coarsens, and an older float32 state restores onto a grid', () => {
  const env = new SeasonalEnvelope(DAY, 1, 24, 0);
  env.add(0, 100);
  env.add(HOUR, 100.001); // a fine grid: step 2^-23
  env.add(2 * HOUR, -5e6); // far outside: the step grows, bounds rounded outwards again
  env.read(DAY + HOUR);
  assert.ok(env.high >= 100.001 && env.low <= 100.001, `[${env.low}, ${env.high}]`);
  assert.ok(env.high - env.low <= (2 * 5e6) / 16384, 'within a step or two of the grid');
  env.read(DAY + 2 * HOUR);
  assert.ok(env.low <= -5e6 && env.high >= -5e6);
  const old = new SeasonalEnvelope(DAY, 1, 2, 0, {
    days: [0, null],
    highs: [10.5, 3.25, null, null],
    lows: [-2.125, 3.25, null, null],
  });
  old.read(DAY + 1);
  assert.ok(old.high >= 10.5 && old.high - 10.5 <= 2 ** -9, `${old.high}`);
  assert.ok(old.low <= -2.125 && -2.125 - old.low <= 2 ** -9, `${old.low}`);
  const state = old.state();
  assert.deepEqual(
    new SeasonalEnvelope(DAY, 1, 2, 0, JSON.parse(JSON.stringify(state))).state(),
    state,
  );
});
