/** The committed generated types match what `npm run gen:proto` produces from proto/ now. */
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const committed = path.join(repoRoot, 'src/ingest/grpc/generated');

async function tree(dir: string, prefix = ''): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = path.posix.join(prefix, entry.name);
    if (entry.isDirectory()) {
      for (const [k, v] of await tree(path.join(dir, entry.name), rel)) files.set(k, v);
    } else {
      files.set(rel, await readFile(path.join(dir, entry.name), 'utf8'));
    }
  }
  return files;
}

it('src/ingest/grpc/generated is up to date with proto/ (run `npm run gen:proto`)', async () => {
  const out = await mkdtemp(path.join(tmpdir(), 'vigil-gen-proto-'));
  try {
    execFileSync(process.execPath, [path.join(repoRoot, 'scripts/gen-proto.mjs'), out], {
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const fresh = await tree(out);
    const current = await tree(committed);
    assert.deepEqual([...current.keys()].sort(), [...fresh.keys()].sort(), 'generated file list');
    for (const [file, text] of fresh) {
      assert.equal(current.get(file), text, `${file} is stale: run npm run gen:proto`);
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
