import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePattern, compileTriggerRules, patternProblem } from './rules.js';

describe('trigger rules', () => {
  it('globs match whole names; regexes are written between slashes', () => {
    assert.ok(compilePattern('pump-*').test('pump-12'));
    assert.ok(!compilePattern('pump-*').test('big-pump-12'));
    assert.ok(compilePattern('a?c').test('abc'));
    assert.ok(compilePattern('a.c').test('a.c'));
    assert.ok(!compilePattern('a.c').test('abc'));
    assert.ok(compilePattern('/^temp-\\d+$/').test('temp-3'));
    assert.ok(compilePattern('/^TEMP/i').test('temp-3'));
    assert.equal(patternProblem('/(/'), 'Unterminated group');
    assert.equal(patternProblem('x*'), undefined);
  });

  it('a rule needs all its fields to match; a strategy needs any rule', () => {
    const matches = compileTriggerRules([
      { device: 'pump-*', metric: 'pressure' },
      { tags: { site: 'plant-?' } },
    ]);
    assert.ok(matches({ device: 'pump-1', metric: 'pressure' }));
    assert.ok(!matches({ device: 'pump-1', metric: 'flow' }));
    assert.ok(matches({ device: 'x', metric: 'y', tags: { site: 'plant-2' } }));
    assert.ok(!matches({ device: 'x', metric: 'y', tags: { site: 'plant-22' } }));
    assert.ok(!matches({ device: 'x', metric: 'y' }));
  });

  it('no rules means every series', () => {
    assert.ok(compileTriggerRules(undefined)({ device: 'a', metric: 'b' }));
  });
});
