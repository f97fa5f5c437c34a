/**
 * The fuzz sample of the test suite: 10,000 cases of every parser target at a fixed seed, with
 * the assertions of `npm run fuzz` (no crash, no hang, every accepted point storable, the
 * parser's invariants), and a sample of the accepted points stored on PGlite and read back
 * exactly. The hang bound is 2 s here, not 100 ms: it catches a runaway parser without timing
 * a shared test machine.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import type { ValidPoint } from '../engine/validate.js';
import {
  assertStoredExactly,
  expectedRows,
  READ_BACK,
  storeAll,
  type SqlRow,
} from '../engine/testing/stored-exactly.js';
import { openPGliteStore } from '../store/pglite-store.js';
import { runTarget, type Failure } from './run.js';
import { TARGETS } from './targets/index.js';

const SEED = 20_261_207;
const CASES = 10_000;
/** Accepted points kept per target for the PGlite round trip: every 40th case that has any. */
const SAMPLE_EVERY = 40;
const SAMPLE_PER_TARGET = 60;

describe('fuzz sample: 10,000 cases per parser at a fixed seed', () => {
  const sample: ValidPoint[] = [];

  for (const target of TARGETS) {
    it(`${target.name}: no crash, hang, unstorable point or broken invariant`, async () => {
      const failures: Failure[] = [];
      let kept = 0;
      const summary = await runTarget(target, {
        seed: SEED,
        cases: CASES,
        hangMs: 2000,
        onFailure: (f) => failures.push(f),
        onAccepted: (points, index) => {
          if (index % SAMPLE_EVERY !== 0 || kept >= SAMPLE_PER_TARGET) return;
          // Distinct devices per case, so the sample's rows do not collide across targets.
          for (const p of points.slice(0, 3)) {
            sample.push({
              ...p,
              device_id: `${target.name}/${index}/${p.device_id}`.slice(0, 200),
            });
            kept++;
          }
        },
      });
      const shown = failures
        .slice(0, 5)
        .map(
          (f) =>
            `${f.kind} case ${f.index}: ${f.message.split('\n')[0]} (input ${f.input.slice(0, 200)})`,
        );
      assert.deepEqual(shown, []);
      assert.equal(summary.cases, CASES);
      // The generators reach past the first checks: something is accepted, something refused.
      assert.ok(summary.accepted > 0, `${target.name}: nothing accepted`);
      assert.ok(summary.refused > 0, `${target.name}: nothing refused`);
    });
  }

  it('stores a sample of the accepted points on PGlite and reads them back exactly', async () => {
    assert.ok(sample.length >= 300, `${sample.length} points in the sample`);
    const db = await PGlite.create();
    const store = await openPGliteStore({ db });
    try {
      await storeAll(store, sample);
      assertStoredExactly((await db.query<SqlRow>(READ_BACK)).rows, expectedRows(sample));
    } finally {
      await store.close();
      await db.close();
    }
  });
});
