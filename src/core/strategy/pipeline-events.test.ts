import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileDeviceStrategy, compileStrategy, restorePipeline } from './compile.js';
import { parseStrategy } from './parse.js';
import type { AnomalyEvent, EventChange } from '../events/types.js';

const STEP = 300_000;

function strategy(extra = ''): ReturnType<typeof parseStrategy> {
  return parseStrategy(
    `name: events\nversion: 1\ndescription: events test\ndetector:\n  kind: extreme-value\nthreshold:\n  kind: static\n${extra}`,
  );
}

/** A noisy daily cycle with a spike of +40 at `spikeAt`. */
function series(n: number, spikeAt: number): number[] {
  let seed = 7;
  return Array.from({ length: n }, (_, i) => {
    seed = (seed * 16807) % 2147483647;
    const noise = seed / 2147483647 - 0.5;
    return 20 + 5 * Math.sin((2 * Math.PI * i) / 288) + noise + (i === spikeAt ? 40 : 0);
  });
}

describe('pipeline events', () => {
  it('a spike raises one event, explained at its peak before the detector learned it', () => {
    const pipeline = compileStrategy(strategy())('pump-1/temperature');
    const changes: EventChange[] = [];
    const xs = series(3000, 2500);
    xs.forEach((x, i) => {
      pipeline.process(i * STEP, x);
      if (pipeline.lastEventChange) changes.push(pipeline.lastEventChange);
    });
    const flushed = pipeline.flushEvents(3000 * STEP);
    if (flushed) changes.push(flushed);
    const opened = changes.filter((c) => c.type === 'open');
    assert.equal(opened.length, 1, `one incident, got ${changes.map((c) => c.type).join(',')}`);
    const event = changes[changes.length - 1]!.event;
    assert.equal(event.start, 2500 * STEP);
    assert.equal(event.series, 'pump-1/temperature');
    assert.equal(event.strategy, 'events@1');
    const metric = event.explanation!.metrics[0]!;
    assert.equal(metric.name, 'temperature');
    assert.equal(metric.observed, xs[2500]);
    assert.ok(Math.abs(metric.expected! - (xs[2500]! - 40)) < 2, `expected ${metric.expected}`);
    assert.ok(metric.band![1] < xs[2500]!, 'the spike lies above the normal band');
    assert.match(event.explanation!.detectors[0]!.name, /^extreme-value\//);
  });

  it('an event in progress survives a snapshot → JSON → restore', () => {
    const s = strategy('events:\n  close_after_points: 20\n');
    const a = compileStrategy(s)('d/m');
    const xs = series(3000, 2500);
    for (let i = 0; i <= 2502; i++) a.process(i * STEP, xs[i]!);
    const b = restorePipeline(s, JSON.parse(JSON.stringify(a.snapshot())));
    for (let i = 2503; i < 3000; i++) {
      a.process(i * STEP, xs[i]!);
      b.process(i * STEP, xs[i]!);
      assert.deepEqual(b.lastEventChange, a.lastEventChange, `point ${i}`);
    }
    assert.deepEqual(b.flushEvents(3000 * STEP), a.flushEvents(3000 * STEP));
  });

  it('a device event names each metric with its share', () => {
    const device = parseStrategy(
      'name: dev\nversion: 1\ndescription: d\ndetector:\n  kind: hotelling\n  params: {training_points: 500}\nthreshold:\n  kind: static\n',
    );
    const pipeline = compileDeviceStrategy(device, ['flow', 'pressure'])('pump-1');
    let seed = 3;
    const rand = (): number => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647 - 0.5;
    };
    const changes: EventChange[] = [];
    for (let i = 0; i < 1200; i++) {
      const load = Math.sin(i / 30);
      // Flow and pressure move together, until flow drops while pressure does not.
      const flow = 10 * load + 0.1 * rand() - (i === 1100 ? 3 : 0);
      const pressure = 5 * load + 0.05 * rand();
      pipeline.process(i * STEP, Float64Array.of(flow, pressure));
      if (pipeline.lastEventChange) changes.push(pipeline.lastEventChange);
    }
    const event = changes.find((c) => c.type === 'open')?.event;
    assert.ok(event, 'the broken correlation raises an event');
    const shares = event.explanation!.metrics;
    assert.equal(shares.length, 2);
    assert.ok(Math.abs(shares[0]!.share + shares[1]!.share - 1) < 1e-9);
  });
});

describe('pipeline events span the fault', () => {
  const SECOND = 1000;

  /** A 1 Hz temperature with noise, hotter by 15 on the rows of `faults` ([from, to)). */
  function temperature(n: number, faults: readonly (readonly [number, number])[]): number[] {
    let seed = 11;
    return Array.from({ length: n }, (_, i) => {
      seed = (seed * 16807) % 2147483647;
      const hot = faults.some(([from, to]) => i >= from && i < to);
      return 60 + 2 * Math.sin(i / 300) + seed / 2147483647 - 0.5 + (hot ? 15 : 0);
    });
  }

  function events(yaml: string, xs: readonly number[]): AnomalyEvent[] {
    const pipeline = compileStrategy(parseStrategy(yaml))('press-2/temperature');
    const byId = new Map<string, AnomalyEvent>();
    xs.forEach((x, i) => {
      pipeline.process(i * SECOND, x);
      if (pipeline.lastEventChange)
        byId.set(pipeline.lastEventChange.event.id, pipeline.lastEventChange.event);
    });
    const flushed = pipeline.flushEvents((xs.length - 1) * SECOND);
    if (flushed) byId.set(flushed.event.id, flushed.event);
    return [...byId.values()];
  }

  const strategyFile = (detector: string, extra = ''): string =>
    `name: s\nversion: 1\ndescription: d\ndetector:\n  kind: ${detector}\nthreshold:\n  kind: dynamic\n${extra}`;
  const duration = (e: AnomalyEvent | undefined): number =>
    (e?.end ?? Number.NaN) - (e?.start ?? 0);

  it('two 10 s spikes 12 minutes apart are two events of about 10 s, even with an old 1 h cool-down', () => {
    const gap = 12 * 60;
    const xs = temperature(6000, [
      [4000, 4010],
      [4000 + gap, 4010 + gap],
    ]);
    const found = events(
      strategyFile('ewzscore\n  params:\n    alpha: 0.01', 'events:\n  cooldown_ms: 3600000\n'),
      xs,
    );
    const faults = found.filter((e) => e.start >= 4000 * SECOND);
    assert.deepEqual(
      faults.map((e) => [e.start / SECOND, duration(e) / SECOND]),
      [
        [4000, 10],
        [4000 + gap, 10],
      ],
    );
  });

  it('a 10 s overheat under `default` (one alert per incident) spans its fault, not 0 ms', () => {
    const xs = temperature(6000, [[4000, 4010]]);
    const found = events(strategyFile('extreme-value', 'events:\n  cooldown_ms: 60000\n'), xs);
    const overheat = found.find((e) => e.start === 4000 * SECOND);
    assert.ok(
      overheat,
      `an event at the overheat (${found.map((e) => e.start / SECOND).join(' ')})`,
    );
    assert.equal(overheat.points, 1, 'the detector alerts once; the span is its evidence');
    // The detector learns the hot values it does not alert on, so the return to normal still
    // looks unusual for a few seconds: the span ends 10–25 s after the start.
    const seconds = duration(overheat) / SECOND;
    assert.ok(seconds >= 10 && seconds <= 25, `${seconds} s`);
    assert.equal(overheat.device, 'press-2');
    assert.deepEqual(overheat.metrics, ['temperature']);
  });
});
