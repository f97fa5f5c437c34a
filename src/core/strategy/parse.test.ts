import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseStrategy, StrategyError, validateStrategy } from './parse.js';

const VALID = `name: tmp
version: 1
description: A temporary strategy.
detector: { kind: ewzscore }
threshold: { kind: static }
`;

describe('loading strategies', () => {
  it('names the source in every problem', () => {
    assert.throws(
      () => parseStrategy('name: x\n', 'my.yaml'),
      (err: unknown) => {
        assert.ok(err instanceof StrategyError);
        for (const line of err.problems) assert.match(line, /^my\.yaml: /);
        return true;
      },
    );
  });

  it('reports an empty document and a non-mapping plainly', () => {
    assert.throws(() => parseStrategy('', 's'), {
      message: 's: (root): expected a strategy document, found an empty file',
    });
    assert.throws(() => parseStrategy('- a\n', 's'), {
      message: 's: (root): expected a mapping (a strategy document), found a list of 1 item',
    });
  });

  it('rejects duplicate keys and self-referencing aliases', () => {
    assert.throws(() => parseStrategy(`${VALID}version: 2\n`, 's'), {
      message: 's:6:1: Map keys must be unique',
    });
    assert.throws(() => parseStrategy('a: &x [*x]\n', 's'), {
      message: 's: (root): expected a tree, found an alias that refers to itself',
    });
  });

  it('validates plain objects (JSON bodies) with the same messages', () => {
    assert.throws(() => validateStrategy({ ...parseStrategy(VALID), version: 0 }, 'body'), {
      message: 'body: version: expected a positive integer, found 0',
    });
  });
});
