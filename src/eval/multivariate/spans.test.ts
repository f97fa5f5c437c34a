import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countRows, eventRows, f1 } from './spans.js';

const flags = (text: string): boolean[] => [...text].map((c) => c === 'x');

test('an event covers the rows between flags closer than the quiet span, and ends at the last flag', () => {
  assert.deepEqual(
    Array.from(eventRows(flags('..x..x......x.'), 3)),
    [0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0],
  );
  assert.deepEqual(Array.from(eventRows(flags('....'), 3)), [0, 0, 0, 0]);
});

test('rows are counted against the fault span from the first scored row', () => {
  const inEvent = Uint8Array.from([1, 0, 1, 1, 0, 1, 0, 0]);
  const c = countRows(inEvent, 2, 5, 1);
  assert.deepEqual(c, { truePositives: 2, falsePositives: 1, falseNegatives: 1, normalRows: 4 });
  assert.equal(f1(c), 4 / 6);
});
