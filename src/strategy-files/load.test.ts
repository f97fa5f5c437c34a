import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { VigilError } from '../errors.js';
import { builtinStrategyPath, loadStrategyFile, resolveStrategy } from './load.js';

describe('strategy files', () => {
  it('resolves built-in names and file paths; unknown names list the built-ins', async () => {
    assert.equal((await resolveStrategy('fast')).name, 'fast');
    const dir = mkdtempSync(join(tmpdir(), 'vigil-strategy-'));
    const file = join(dir, 'tmp.yaml');
    copyFileSync(builtinStrategyPath('fast'), file); // a path, so not the built-in by name
    assert.equal((await resolveStrategy(file)).name, 'fast');
    assert.equal((await loadStrategyFile(file)).name, 'fast');
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
