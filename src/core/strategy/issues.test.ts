import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closest, describeValue, formatPath } from './issues.js';

describe('issue formatting', () => {
  it('writes paths as they read in YAML', () => {
    assert.equal(formatPath([]), '(root)');
    assert.equal(
      formatPath(['detector', 'params', 'members', 1, 'params', 'alpha']),
      'detector.params.members[1].params.alpha',
    );
    assert.equal(formatPath(['tags', 'site.name']), 'tags["site.name"]');
  });

  it('quotes values the way they were written', () => {
    assert.equal(describeValue(undefined), 'nothing');
    assert.equal(describeValue('/a\\d/'), '"/a\\d/"');
    assert.equal(describeValue([1]), 'a list of 1 item');
    assert.equal(describeValue({}), 'a mapping');
  });

  it('suggests only plausible corrections', () => {
    assert.equal(closest('alrt', ['alert', 'severe']), 'alert');
    assert.equal(closest('zzz', ['alert', 'severe']), undefined);
  });
});
