import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { storeOptions, storeSchema } from './config.js';

describe('store config', () => {
  const where = { dataDir: '/var/lib/vigil', databaseUrl: 'postgres://db/vigil' };

  it('maps every store key to its openStore option', () => {
    const config = storeSchema.parse({
      retention_days: 7,
      timescale: 'require',
      compress_after_hours: 48,
      chunk_hours: 6,
      embedded_buffers_mb: 16,
    });
    assert.deepEqual(storeOptions(config, where), {
      databaseUrl: 'postgres://db/vigil',
      dataDir: '/var/lib/vigil/pglite',
      retentionDays: 7,
      timescale: 'require',
      compressAfterHours: 48,
      chunkHours: 6,
      sharedBuffersMb: 16,
    });
    assert.deepEqual(storeOptions({}, { ...where, databaseUrl: undefined }), {
      dataDir: '/var/lib/vigil/pglite',
    });
  });

  it('refuses values the store cannot apply, naming the key', () => {
    for (const [key, value, message] of [
      ['compress_after_hours', 1.5, /whole hours/],
      ['compress_after_hours', -1, /greater than or equal to 0|>=0/],
      ['chunk_hours', 0, /greater than or equal to 1|>=1/],
      ['retention_days', 0.5, /whole days/],
      ['embedded_buffers_mb', 0, /greater than or equal to 1|>=1/],
      ['embedded_buffers_mb', 1.5, /whole MB/],
      ['timescale', 'required', /auto|require|off/],
      ['compress_after', 24, /unrecognized|Unrecognized/],
    ] as const) {
      const parsed = storeSchema.safeParse({ [key]: value });
      assert.equal(parsed.success, false, `${key}: ${value}`);
      const issue = parsed.error!.issues[0]!;
      const where = issue.path.length > 0 ? issue.path.join('.') : JSON.stringify(issue);
      assert.ok(where.includes(key), `${key}: ${where}`);
      assert.match(issue.message, message);
    }
  });
});
