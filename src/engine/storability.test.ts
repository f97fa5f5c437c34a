/**
 * Property: every point validation accepts is stored exactly — through the spool encoding
 * (spool-record.ts → copy-text.ts) and the real store, on PGlite and on PostgreSQL — and every
 * point it refuses gets a coded error. Seeded, so a failure reproduces.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { Rng } from '../core/stats/rng.js';
import { setOwn } from '../data/set-own.js';
import { openPGliteStore } from '../store/pglite-store.js';
import { openPostgresStore } from '../store/postgres-store.js';
import type { IngestPoint } from './engine.js';
import { readSpooledBatch, spooledBatch } from './spool-record.js';
import {
  assertStoredExactly,
  expectedRows,
  READ_BACK,
  storeAll,
  type SqlRow,
} from './testing/stored-exactly.js';
import { DEFAULT_LIMITS, validateBatch, type ValidPoint } from './validate.js';

const SEED = 20_261_207;
const CASES = 3000;

const SPECIAL_STRINGS = [
  '',
  '__proto__',
  'constructor',
  'toString',
  '\0',
  'a\0b',
  '\ud800',
  'x\udfffy',
  '\udc00\ud800',
  '😀',
  'e\u0301\u0308\u20dd',
  '\\N',
  '\\.',
  '\t\n\r\\',
  '"\'{}[]',
  '\ufeff\ufffe\uffff',
  '\u{10ffff}',
  ' ',
  'x'.repeat(199),
  'x'.repeat(200),
  'x'.repeat(201),
  '😀'.repeat(100),
  'y'.repeat(100_000),
];

/** A random string: code points from all planes, lone surrogates and NUL included. */
function randomString(rng: Rng): string {
  if (rng.next() < 0.15) return SPECIAL_STRINGS[rng.int(SPECIAL_STRINGS.length)] as string;
  const length = rng.next() < 0.9 ? 1 + rng.int(8) : rng.int(260);
  let s = '';
  for (let i = 0; i < length; i++) {
    const r = rng.next();
    let cp: number;
    if (r < 0.45)
      cp = 0x20 + rng.int(0x5f); // printable ASCII
    else if (r < 0.5)
      cp = rng.int(0x20); // controls, NUL included
    else if (r < 0.73)
      cp = 0x80 + rng.int(0xd800 - 0x80); // BMP below the surrogates
    else if (r < 0.75)
      cp = 0xd800 + rng.int(0x800); // a lone surrogate (code unit)
    else if (r < 0.85)
      cp = 0xe000 + rng.int(0x2000); // private use, specials, noncharacters
    else if (r < 0.9)
      cp = 0x300 + rng.int(0x70); // combining marks
    else cp = 0x10000 + rng.int(0x100000); // supplementary planes
    s += String.fromCodePoint(cp);
  }
  return s;
}

const ODD_NUMBERS = [
  0,
  -0,
  5e-324,
  -5e-324,
  2.2250738585072014e-308,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MIN_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER,
  0.1,
  1 / 3,
  NaN,
  Infinity,
  -Infinity,
];

function randomValue(rng: Rng): unknown {
  const r = rng.next();
  if (r < 0.4) return ODD_NUMBERS[rng.int(ODD_NUMBERS.length)];
  if (r < 0.45) return String(rng.next());
  if (r < 0.5) return null;
  // Any double: random bits, now and then NaN or ±Infinity.
  const view = new DataView(new ArrayBuffer(8));
  view.setUint32(0, rng.nextUint32());
  view.setUint32(4, rng.nextUint32());
  return view.getFloat64(0);
}

const END = Date.UTC(2100, 0, 1);
const ODD_TIMES = [0, -1, END - 1, END, END + 1, 8.64e15, -8.64e15, 1.5, NaN, 1e300];

function randomTime(rng: Rng): unknown {
  if (rng.next() < 0.2) return ODD_TIMES[rng.int(ODD_TIMES.length)];
  return rng.int(END / 1000) * 1000 + rng.int(1000);
}

function randomPoint(rng: Rng, i: number): IngestPoint {
  // A suffix keeps most device ids distinct, so (device, metric, time) rarely repeats.
  const device = rng.next() < 0.5 ? randomString(rng) : `${randomString(rng)}#${i}`;
  const metrics: Record<string, unknown> = {};
  const metricCount = rng.next() < 0.05 ? 0 : 1 + rng.int(3);
  for (let m = 0; m < metricCount; m++) setOwn(metrics, randomString(rng), randomValue(rng));
  const point: Record<string, unknown> = {
    timestamp: randomTime(rng),
    device_id: device,
    metrics,
  };
  if (rng.next() < 0.6) {
    const tags: Record<string, unknown> = {};
    const tagCount = rng.int(4);
    for (let t = 0; t < tagCount; t++) setOwn(tags, randomString(rng), randomString(rng));
    point['tags'] = tags;
  }
  return point as unknown as IngestPoint;
}

function generate(): { accepted: ValidPoint[]; refused: number } {
  const rng = Rng.fromSeed(SEED);
  const points: IngestPoint[] = [];
  for (let i = 0; i < CASES; i++) points.push(randomPoint(rng, i));
  const { valid, errors } = validateBatch(points, DEFAULT_LIMITS);
  for (const e of errors) {
    assert.equal(e.code, 'VIGIL_ERR_INPUT');
    assert.match(e.message, /^(point|timestamp|device_id|metrics|tags)\b/);
    assert.ok(e.message.length < 700, `message of ${e.message.length} characters`);
  }
  assert.equal(valid.length + errors.length, CASES);
  return { accepted: valid, refused: errors.length };
}

describe('storability: what validation accepts is stored exactly', () => {
  const { accepted, refused } = generate();
  const expected = expectedRows(accepted);

  it('generates both accepted and refused points', () => {
    assert.ok(accepted.length > CASES / 5, `${accepted.length} accepted, ${refused} refused`);
    assert.ok(refused > CASES / 5, `${refused} refused`);
  });

  it('round-trips through the spool encoding', () => {
    const back = readSpooledBatch(spooledBatch(accepted).rows.text);
    const rows = back.points.flatMap((p) =>
      Object.entries(p.metrics).map(([metric, value]) => ({ p, metric, value })),
    );
    const original = accepted.flatMap((p) =>
      Object.keys(p.metrics).map((metric) => ({ p, metric, value: p.metrics[metric] })),
    );
    assert.equal(rows.length, original.length);
    for (let i = 0; i < rows.length; i++) {
      const a = rows[i]!;
      const b = original[i]!;
      assert.equal(a.p.device_id, b.p.device_id);
      assert.equal(a.metric, b.metric);
      assert.equal(a.p.timestamp, b.p.timestamp);
      assert.ok(Object.is(a.value, b.value), `${a.value} ≠ ${String(b.value)}`);
      assert.deepEqual(a.p.tags, b.p.tags);
    }
  });

  it('stores and reads back exactly on PGlite', async () => {
    const db = await PGlite.create();
    const store = await openPGliteStore({ db });
    try {
      await storeAll(store, accepted);
      assertStoredExactly((await db.query<SqlRow>(READ_BACK)).rows, expected);
    } finally {
      await store.close();
      await db.close();
    }
  });

  describe('PostgreSQL server', () => {
    const url = process.env.VIGIL_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
    const schema = `vigil_test_${process.pid}_${Date.now().toString(36)}_storability`;
    after(async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    });

    it('stores and reads back exactly', async () => {
      const store = await openPostgresStore({ databaseUrl: url, schema });
      const c = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
      await c.connect();
      try {
        await storeAll(store, accepted);
        assertStoredExactly((await c.query<SqlRow>(READ_BACK)).rows, expected);
      } finally {
        await c.end();
        await store.close();
      }
    });
  });
});
