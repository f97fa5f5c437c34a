import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeasonalEnvelope } from './seasonal-envelope.js';
import { randomSeries } from './test-data.js';
import { float32Down, float32Up } from './float32.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

test('high and low are the batch max/min of previous days within ±width hour buckets, rounded outwards to float32', () => {
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
    assert.equal(env.high, float32Up(high), `high at ${i}`);
    assert.equal(env.low, float32Down(low), `low at ${i}`);
    assert.ok(env.high >= high && env.low <= low, `the float32 bounds still bound, at ${i}`);
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
