import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileDeviceStrategy, compileStrategy, restorePipeline } from './compile.js';
import { parseStrategy } from './parse.js';
import type { EventChange } from '../events/types.js';

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
