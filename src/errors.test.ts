import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { errorCodes } from './errors.js';

test('docs/errors.md lists exactly the codes in src/errors.ts, with their exit and HTTP status', async () => {
  const doc = await readFile(new URL('../docs/errors.md', import.meta.url), 'utf8');
  const documented = [...doc.matchAll(/^\| `(VIGIL_ERR_\w+)` \| (\d+) \| (\d+) \|/gm)].map(
    (m) => `${m[1]} ${m[2]} ${m[3]}`,
  );
  const coded = Object.entries(errorCodes).map(([c, e]) => `${c} ${e.exitCode} ${e.httpStatus}`);
  assert.deepEqual(documented.sort(), coded.sort());
});
