import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ThinnedSample } from './thinned-sample.js';

test('keeps every record up to capacity, then an evenly thinned half to all of it', () => {
  const s = new ThinnedSample(2, 8);
  for (let i = 0; i < 8; i++) s.offer([i, -i]);
  assert.equal(s.size, 8);
  for (let i = 8; i < 100; i++) s.offer([i, -i]);
  assert.ok(s.size >= 4 && s.size <= 8, `size ${s.size}`);
  const firsts = Array.from({ length: s.size }, (_, r) => s.at(r, 0));
  const step = firsts[1]! - firsts[0]!;
  assert.ok(
    firsts.every((x, r) => x === r * step && s.at(r, 1) === -x),
    firsts.join(' '),
  );
  assert.ok(firsts.at(-1)! + step >= 100 - step, 'the sample spans the whole stream');
});

test('a restored sample continues exactly; clear starts over', () => {
  const a = new ThinnedSample(1, 16);
  for (let i = 0; i < 50; i++) a.offer([i]);
  const b = new ThinnedSample(1, 16, JSON.parse(JSON.stringify(a.state())));
  for (let i = 50; i < 300; i++) {
    a.offer([i]);
    b.offer([i]);
  }
  assert.deepEqual(b.state(), a.state());
  a.clear();
  assert.equal(a.size, 0);
  a.offer([7]);
  assert.equal(a.at(0), 7);
});
