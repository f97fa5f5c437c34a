import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IngestPoint } from '../../engine/engine.js';
import { sampleValue } from '../../metrics/testing.js';
import { startTestService } from '../../server/testing/running-service.js';
import { anomalyAt, demoPoint, startDemo } from './pumps.js';

test('demo points are a pure function of seed, device and time', () => {
  const t = Date.UTC(2026, 0, 1, 12);
  assert.deepEqual(demoPoint(7, 0, t, 4, 60_000), demoPoint(7, 0, t, 4, 60_000));
  assert.notDeepEqual(demoPoint(7, 0, t, 4, 60_000), demoPoint(8, 0, t, 4, 60_000));
  const p = demoPoint(7, 2, t, 4, 60_000);
  assert.equal(p.device_id, 'pump-3');
  assert.deepEqual(Object.keys(p.metrics).sort(), ['current', 'flow', 'pressure', 'temperature']);
});

test('an anomaly every period, on each device in turn', () => {
  const every = 60_000;
  const base = Date.UTC(2026, 0, 1);
  for (let period = 0; period < 8; period++) {
    const flagged = new Set<number>();
    for (let s = 0; s < 60; s++) {
      for (let d = 0; d < 4; d++) {
        if (anomalyAt(base + period * every + s * 1000, d, 4, every)) flagged.add(d);
      }
    }
    assert.equal(flagged.size, 1, `period ${period}`);
  }
});

test('startDemo back-fills the warm-up history, then streams in real time', async () => {
  let now = Date.UTC(2026, 0, 1);
  const got: IngestPoint[] = [];
  const demo = startDemo({
    engine: {
      ingest: async (points, source) => {
        assert.equal(source, 'demo');
        got.push(...points);
        return { accepted: points.length, errors: [] };
      },
    },
    devices: 2,
    intervalMs: 10,
    backfillMs: 1000,
    clock: () => now,
  });
  await new Promise((r) => setTimeout(r, 30));
  now += 50;
  await new Promise((r) => setTimeout(r, 40));
  await demo.stop();
  const times = [...new Set(got.map((p) => p.timestamp))];
  assert.equal(times[0], Date.UTC(2026, 0, 1) - 1000);
  assert.ok(times.includes(now), 'caught up to now');
  assert.equal(got.length, times.length * 2);
  assert.equal(demo.sent(), got.length);
});

test('into a real engine: vigil_ingest_points_total{protocol="demo"} counts every point sent', async () => {
  const service = await startTestService();
  try {
    const demo = startDemo({
      engine: service.engine,
      devices: 2,
      intervalMs: 1000,
      backfillMs: 20_000,
    });
    const deadline = Date.now() + 10_000;
    while (demo.sent() < 40 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await demo.stop();
    assert.ok(demo.sent() >= 40, `${demo.sent()} points sent`);
    const labels = 'protocol="demo",result="accepted"';
    assert.equal(
      await sampleValue(service.registry, 'vigil_ingest_points_total', labels),
      demo.sent(),
    );
  } finally {
    await service.stop();
  }
});
