import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assignPartitions } from './assignment.js';

test('every partition has one owner, counts differ by at most one, in any member order', () => {
  const a = assignPartitions(['c', 'a', 'b'], 16);
  const b = assignPartitions(['b', 'c', 'a', 'a'], 16);
  assert.deepEqual([...a.entries()], [...b.entries()]);
  const all = [...a.values()].flat().sort((x, y) => x - y);
  assert.deepEqual(
    all,
    Array.from({ length: 16 }, (_, i) => i),
  );
  const sizes = [...a.values()].map((ps) => ps.length);
  assert.deepEqual(sizes, [6, 5, 5]);
});

test('no members: nobody owns anything', () => {
  assert.equal(assignPartitions([], 8).size, 0);
});
