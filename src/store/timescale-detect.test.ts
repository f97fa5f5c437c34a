import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MIN_TIMESCALE_VERSION, preloaded, versionAtLeast } from './timescale-detect.js';

describe('TimescaleDB detection rules', () => {
  it('versions compare by number, with pre-release suffixes', () => {
    assert.equal(MIN_TIMESCALE_VERSION, '2.13');
    for (const v of ['2.13.0', '2.13', '2.23.0-dev', '2.28.3', '3.0.0']) {
      assert.equal(versionAtLeast(v, MIN_TIMESCALE_VERSION), true, v);
    }
    for (const v of ['2.12.2', '2.9.3', '1.7.5', '2.1']) {
      assert.equal(versionAtLeast(v, MIN_TIMESCALE_VERSION), false, v);
    }
  });

  it('a server must preload the library; PGlite loads it at start', () => {
    assert.equal(preloaded('postgres', ''), false);
    assert.equal(preloaded('postgres', 'pg_stat_statements'), false);
    assert.equal(preloaded('postgres', 'pg_stat_statements, timescaledb'), true);
    assert.equal(preloaded('postgres', '"timescaledb"'), true);
    assert.equal(preloaded('postgres', 'timescaledb-2.28.3'), true);
    assert.equal(preloaded('postgres', 'timescaledb_toolkit'), false);
    assert.equal(preloaded('pglite', ''), true);
  });
});
