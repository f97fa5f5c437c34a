import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkPoint, DEFAULT_LIMITS } from './validate.js';

const ok = { timestamp: Date.UTC(2024, 0, 1), device_id: 'd', metrics: { m: 1 } };
const check = (point: unknown): string | undefined => {
  const error = checkPoint(point, 0, DEFAULT_LIMITS);
  if (error !== undefined) assert.equal(error.code, 'VIGIL_ERR_INPUT');
  return error?.message;
};

describe('validation guarantees storability', () => {
  it('refuses a lone surrogate in a device id, metric name, tag key or tag value', () => {
    assert.match(check({ ...ok, device_id: 'a\ud800b' }) ?? '', /^device_id: .*lone UTF-16/);
    assert.match(check({ ...ok, metrics: { 'm\udc00': 1 } }) ?? '', /^metrics: name .*lone/);
    assert.match(check({ ...ok, tags: { ['k\ud800']: 'v' } }) ?? '', /^tags: name .*lone/);
    assert.match(
      check({ ...ok, tags: { k: 'x\ud800y' } }) ?? '',
      /^tags\.k: value "x\\ud800y" contains a lone UTF-16 surrogate/,
    );
    // A surrogate pair is a character like any other.
    assert.equal(check({ ...ok, device_id: '😀', tags: { '𝄞': '😀x' } }), undefined);
  });

  it('refuses NUL and over-long names and tag values', () => {
    assert.match(check({ ...ok, tags: { k: 'a\0' } }) ?? '', /^tags\.k: .*NUL/);
    assert.match(check({ ...ok, device_id: '\0' }) ?? '', /^device_id: contains a NUL/);
    assert.match(check({ ...ok, tags: { k: 'x'.repeat(201) } }) ?? '', /longer than 200/);
    assert.equal(check({ ...ok, tags: { k: 'x'.repeat(200) } }), undefined);
  });

  it('accepts timestamps in [1970, 2100): 2100-01-01 itself is refused', () => {
    assert.equal(check({ ...ok, timestamp: 0 }), undefined);
    assert.equal(check({ ...ok, timestamp: Date.UTC(2100, 0, 1) - 1 }), undefined);
    assert.equal(
      check({ ...ok, timestamp: Date.UTC(2100, 0, 1) }),
      'timestamp: 4102444800000 is outside [0, 4102444800000) (ms since the epoch)',
    );
    assert.match(check({ ...ok, timestamp: -1 }) ?? '', /outside/);
  });

  it('quotes at most about 200 characters of any input', () => {
    const huge = 'n'.repeat(7_000_000);
    const message = check({ ...ok, metrics: { [huge]: 1 } }) ?? '';
    assert.ok(message.length < 300, `message of ${message.length} characters`);
    assert.match(message, /…\(7000000 chars\) is longer than 200 characters$/);
    assert.ok((check({ ...ok, timestamp: huge }) ?? '').length < 300);
    assert.ok(
      (check({ ...ok, timestamp: new Array(1e6).fill(1) }) ?? '').endsWith('found an array'),
    );
    assert.match(check({ ...ok, timestamp: 1.5 }) ?? '', /found 1\.5$/);
  });
});
