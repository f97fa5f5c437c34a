import { writeFile } from 'node:fs/promises';
import { TEST_MODEL_FILE, TEST_VECTORS_FILE, buildTestVectors } from './reference-vectors.js';

/** Rewrites src/models/fixtures/ (run from dist/ after `npm run build`). */
const dir = new URL('../../src/models/fixtures/', import.meta.url);
const { model, vectors } = buildTestVectors();
await writeFile(new URL(TEST_MODEL_FILE, dir), model);
await writeFile(new URL(TEST_VECTORS_FILE, dir), JSON.stringify(vectors, null, 2) + '\n');
process.stdout.write(`wrote ${TEST_MODEL_FILE} (${model.length} bytes) and ${TEST_VECTORS_FILE}\n`);
