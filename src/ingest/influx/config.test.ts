import { test } from 'node:test';
import assert from 'node:assert/strict';
import { influxOptions, influxSchema } from './config.js';

test('the influx config section maps onto the routes options, per-line limits included', () => {
  const config = influxSchema.parse({
    device_tag: 'sensor',
    max_line_bytes: 4096,
    max_fields_per_line: 50,
    max_name_length: 100,
  });
  assert.deepEqual(influxOptions(config, { body_bytes: 1024 }), {
    mapping: { deviceTag: 'sensor' },
    lineLimits: { maxLineBytes: 4096, maxFieldsPerLine: 50, maxNameLength: 100 },
    bodyBytes: 1024,
  });
  assert.deepEqual(influxOptions({}, {}), { mapping: {}, lineLimits: {} });
  assert.throws(() => influxSchema.parse({ max_line_bytes: 0 }));
});
