import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLineProtocol } from './line-protocol.js';
import { defaultInfluxMapping, recordsToPoints } from './to-points.js';

function points(body: string, metricName: 'measurement.field' | 'field' = 'measurement.field') {
  const { records } = parseLineProtocol(body);
  return recordsToPoints(records, {
    mapping: { ...defaultInfluxMapping, metricName },
    precision: 'ms',
    receivedMs: 0,
  }).points;
}

test('a tag or field named __proto__ is kept as data, not lost to the prototype', () => {
  // Found by the fuzzer (src/fuzz, influx target): the tag vanished from the point.
  const [point] = points('cpu,__proto__=server01 usage=42u,value=42i 1700000000000');
  assert.ok(point !== undefined);
  assert.deepEqual(Object.keys(point.tags ?? {}), ['__proto__']);
  assert.equal(point.tags?.['__proto__'], 'server01');
  const [byField] = points('cpu __proto__=1,usage=2 1700000000000', 'field');
  assert.deepEqual(Object.keys(byField?.metrics ?? {}), ['__proto__', 'usage']);
  assert.equal(byField?.metrics['__proto__'], 1);
});
