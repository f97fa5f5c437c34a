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

  it('refuses deep nesting before parsing it (the yaml parser slows down and overflows)', () => {
    // Found by the fuzzer (src/fuzz, strategy-yaml): 1000 brackets took 0.2 s and hit the stack.
    const brackets = `${VALID}nested: ${'['.repeat(1000)}${']'.repeat(1000)}\n`;
    assert.throws(() => parseStrategy(brackets, 's'), {
      message: 's:6:73: nested deeper than 64 levels of brackets',
    });
    assert.throws(() => parseStrategy(`${VALID}nested:\n${'- '.repeat(3000)}x\n`, 's'), {
      message: 's:7:257: indented or nested deeper than a strategy can be (over 256 columns)',
    });
    // Sixty-four levels still parse (and are refused for what they are: an unknown key).
    assert.throws(
      () => parseStrategy(`${VALID}nested: ${'['.repeat(64)}${']'.repeat(64)}\n`, 's'),
      {
        message: /^s: nested: unknown key/,
      },
    );
  });

  it('prints no process warning for a collection used as a key', async () => {
    // Found by the fuzzer (src/fuzz, strategy-yaml): each such body printed a Node warning.
    const warnings: Error[] = [];
    const listen = (w: Error): number => warnings.push(w);
    process.on('warning', listen);
    try {
      assert.throws(() => parseStrategy(`${VALID}? [a, b]\n: 1\n`, 's'), {
        message: /^s: \["\[ a, b \]"\]: unknown key/,
      });
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listen);
    }
    assert.deepEqual(warnings, []);
  });

  it('validates plain objects (JSON bodies) with the same messages', () => {
    assert.throws(() => validateStrategy({ ...parseStrategy(VALID), version: 0 }, 'body'), {
      message: 'body: version: expected a positive integer, found 0',
    });
  });
});
