import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MAX_TIME, MIN_TIME } from '../../store/copy-text.js';
import { Spool } from './spool.js';
import { spooledBatch, type SpooledBatch } from '../spool-record.js';
import type { ValidPoint } from '../validate.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-spool-'));
  dirs.push(dir);
  return dir;
}

// Names and tags with every character COPY text escapes, several metrics per point, times at
// both ends of the range, and a metric that names the prototype.
const POINTS: ValidPoint[] = [
  {
    timestamp: 1_700_000_000_000,
    device_id: 'pump\t7\\a',
    metrics: { temp: 21.5, 'rpm\nx': -3e-7 },
    tags: { site: 'line\r\n"2"', zone: 'ä' },
  },
  { timestamp: MIN_TIME, device_id: 'old', metrics: { v: 1 } },
  { timestamp: MAX_TIME, device_id: 'old', metrics: { v: Number.MAX_VALUE } },
  { timestamp: 1_700_000_000_000, device_id: 'pump\t7\\a', metrics: { temp: 22 } },
];
POINTS.push({ timestamp: 5, device_id: 'p', metrics: JSON.parse('{"__proto__": 4, "b": 5}') });

const pointsOf = (batches: readonly SpooledBatch[]): ValidPoint[][] => batches.map((b) => b.points);

describe('spool', () => {
  it('reads back exactly the batches it made durable, in order', async () => {
    const dir = await tempDir();
    const durable: SpooledBatch[] = [];
    const { spool, leftover } = await Spool.open(dir, (_, b) => durable.push(...b));
    assert.deepEqual(leftover, []);
    await Promise.all([
      spool.append(spooledBatch(POINTS)),
      spool.append(spooledBatch([POINTS[1]!])),
    ]);
    await spool.close();
    const { spool: again, leftover: back } = await Spool.open(dir, () => {});
    await again.close();
    assert.equal(back.length, 1);
    assert.equal(back[0]?.tornBytes, 0);
    assert.deepEqual(pointsOf(back[0]!.batches), [POINTS, [POINTS[1]]]);
    assert.deepEqual(pointsOf(back[0]!.batches), pointsOf(durable));
    // The rows read back are what the store will load: same text, rows and series extents.
    assert.deepEqual(
      back[0]!.batches.map((b) => [b.rows.text, b.rows.rows, b.rows.extents.sorted()]),
      durable.map((b) => [b.rows.text, b.rows.rows, b.rows.extents.sorted()]),
    );
    assert.equal(
      Object.getOwnPropertyDescriptor(back[0]!.batches[0]!.points[4]!.metrics, '__proto__')?.value,
      4,
    );
  });

  it('drops a torn last batch that was never acknowledged, and keeps the ones before it', async () => {
    const dir = await tempDir();
    const { spool } = await Spool.open(dir, () => {});
    await spool.append(spooledBatch([POINTS[0]!]));
    await spool.close();
    const [file] = await readdir(dir);
    const whole = spooledBatch([POINTS[1]!, POINTS[2]!]).rows.text;
    // A crash during the next write: part of a batch, without its closing empty line.
    await appendFile(join(dir, file!), whole.slice(0, whole.length - 7));
    const { spool: again, leftover } = await Spool.open(dir, () => {});
    await again.close();
    assert.deepEqual(pointsOf(leftover[0]!.batches), [[POINTS[0]]]);
    assert.equal(leftover[0]?.tornBytes, Buffer.byteLength(whole) - 7);
    // Every row complete but the closing empty line missing: still not acknowledged, dropped.
    await writeFile(join(dir, file!), spooledBatch([POINTS[0]!]).rows.text + '\n' + whole);
    const { spool: third, leftover: l3 } = await Spool.open(dir, () => {});
    await third.close();
    assert.deepEqual(pointsOf(l3[0]!.batches), [[POINTS[0]]]);
  });

  it('still reads segments of the earlier JSON format, and removes them', async () => {
    const dir = await tempDir();
    const legacy = join(dir, 'spool-000000000003.ndjson');
    await writeFile(legacy, `${JSON.stringify(POINTS.slice(0, 2))}\n[{"timestamp":`);
    const { spool, leftover } = await Spool.open(dir, () => {});
    assert.deepEqual(
      leftover.map((s) => [s.id, pointsOf(s.batches), s.tornBytes]),
      [[3, [POINTS.slice(0, 2)], 14]],
    );
    assert.equal(spool.active, 4);
    await spool.remove(3);
    await spool.close();
    assert.deepEqual(await readdir(dir), []);
    await assert.rejects(readFile(legacy), /ENOENT/);
  });
});
