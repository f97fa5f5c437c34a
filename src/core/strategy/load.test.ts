import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { VigilError } from '../../errors.js';
import {
  loadStrategyFile,
  parseStrategy,
  resolveStrategy,
  StrategyError,
  validateStrategy,
} from './load.js';

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

  it('resolves built-in names and file paths; unknown names list the built-ins', async () => {
    assert.equal((await resolveStrategy('fast')).name, 'fast');
    const dir = mkdtempSync(join(tmpdir(), 'vigil-strategy-'));
    const file = join(dir, 'tmp.yaml');
    writeFileSync(file, VALID);
    assert.equal((await resolveStrategy(file)).name, 'tmp');
    assert.equal((await loadStrategyFile(file)).name, 'tmp');
    await assert.rejects(resolveStrategy('no-such-strategy'), (err: unknown) => {
      assert.ok(err instanceof VigilError);
      assert.equal(err.code, 'VIGIL_ERR_STRATEGY_NOT_FOUND');
      assert.match(err.message, /not a built-in \(adaptive-window, default, /);
      return true;
    });
    await assert.rejects(loadStrategyFile(join(dir, 'missing.yaml')), {
      code: 'VIGIL_ERR_STRATEGY_NOT_FOUND',
    });
  });
});
