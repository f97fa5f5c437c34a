import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { quoteInput } from './quote.js';

describe('quoteInput', () => {
  test('short text is JSON-quoted whole', () => {
    assert.equal(quoteInput('cpu "load"'), '"cpu \\"load\\""');
    assert.equal(quoteInput(''), '""');
  });

  test('long text is cut to max characters and says how long it was', () => {
    const quoted = quoteInput('x'.repeat(100_000));
    assert.equal(quoted, `"${'x'.repeat(200)}"…(100000 chars)`);
    assert.equal(quoteInput('abcdef', 3), '"abc"…(6 chars)');
  });

  test('a surrogate pair at the cut is kept whole or left out', () => {
    const quoted = quoteInput(`ab${'😀'.repeat(5)}`, 3);
    assert.equal(quoted, '"ab"…(12 chars)');
  });
});
