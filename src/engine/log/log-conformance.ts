/**
 * The DurableLog contract (durable-log.ts) as node:test cases, for every implementation: call
 * `logConformance` from the implementation's test file. Batches are told apart by a number the
 * harness puts in them; only the contract is tested, never how a log stores things.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LOG_START, type DurableLog, type LogPosition, type OpenLog } from './durable-log.js';

export interface LogHarness<T> {
  /** Opens the harness's one log (fresh storage per harness); again after `close`: reopens it. */
  readonly open: OpenLog<T>;
  /** A batch carrying the number `n`, and the number a batch carries. */
  batch(n: number): T;
  id(batch: T): number;
  /**
   * Optional: leave a torn, never acknowledged write at the end of the closed log, as a crash in
   * the middle of an append would.
   */
  tear?(): Promise<void>;
  /** Remove the storage. */
  dispose(): Promise<void>;
}

async function ids<T>(
  h: LogHarness<T>,
  log: DurableLog<T>,
  after?: LogPosition,
): Promise<number[]> {
  const out: number[] = [];
  for await (const entry of log.read(after)) out.push(h.id(entry.batch));
  return out;
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from }, (_, i) => from + i);

export function logConformance<T>(name: string, harness: () => Promise<LogHarness<T>>): void {
  const withLog = (
    title: string,
    body: (h: LogHarness<T>, seen: number[][]) => Promise<void>,
  ): void => {
    it(title, async () => {
      const h = await harness();
      try {
        await body(h, []);
      } finally {
        await h.dispose();
      }
    });
  };
  const open = async (h: LogHarness<T>, seen?: number[][]): Promise<DurableLog<T>> =>
    h.open((entries) => seen?.push(entries.map((e) => h.id(e.batch))));

  describe(`durable log conformance: ${name}`, () => {
    withLog(
      'keeps append order across concurrent appends, in onDurable and read',
      async (h, seen) => {
        const log = await open(h, seen);
        const positions = await Promise.all(range(0, 50).map((n) => log.append(h.batch(n))));
        assert.deepEqual(seen.flat(), range(0, 50));
        for (let i = 1; i < positions.length; i++) {
          assert.ok((positions[i - 1] as string) < (positions[i] as string), `position ${i}`);
        }
        assert.ok(LOG_START < (positions[0] as string));
        assert.deepEqual(await ids(h, log), range(0, 50));
        const read: LogPosition[] = [];
        for await (const entry of log.read()) read.push(entry.position);
        assert.deepEqual(read, positions);
        await log.close();
      },
    );

    withLog(
      'resolves an append only once durable: onDurable saw it, reopening finds it',
      async (h, seen) => {
        const log = await open(h, seen);
        const early: number[] = [];
        await Promise.all(
          range(0, 5).map((n) =>
            log.append(h.batch(n)).then(() => {
              if (!seen.flat().includes(n)) early.push(n);
            }),
          ),
        );
        assert.deepEqual(early, [], 'resolved before onDurable saw them');
        await log.close();
        const again = await open(h);
        assert.deepEqual(await ids(h, again), range(0, 5));
        await again.close();
      },
    );

    withLog(
      'reads back exactly the entries after a position, in order, also after reopening',
      async (h) => {
        const log = await open(h);
        const positions: LogPosition[] = [];
        for (const n of range(0, 12)) {
          positions.push(await log.append(h.batch(n)));
          if (n % 5 === 4) await log.sync();
        }
        for (const k of [0, 4, 5, 11]) {
          assert.deepEqual(await ids(h, log, positions[k]), range(k + 1, 12), `after entry ${k}`);
        }
        assert.deepEqual(await ids(h, log, LOG_START), range(0, 12));
        await log.close();
        const again = await open(h);
        assert.deepEqual(await ids(h, again, positions[6]), range(7, 12));
        const later = await again.append(h.batch(12));
        assert.ok((positions[11] as string) < later);
        assert.deepEqual(await ids(h, again, positions[11]), [12]);
        await again.close();
      },
    );

    withLog('sync covers every append before it; later appends come after it', async (h) => {
      const log = await open(h);
      const before = range(0, 10).map((n) => log.append(h.batch(n)));
      const mark = await log.sync();
      for (const position of await Promise.all(before)) assert.ok(position <= mark);
      assert.deepEqual(await ids(h, log, mark), []);
      const after = await log.append(h.batch(10));
      assert.ok(mark < after);
      assert.deepEqual(await ids(h, log, mark), [10]);
      await log.close();
    });

    withLog('trims only up to the position, never the tail still being appended', async (h) => {
      const log = await open(h);
      await Promise.all(range(0, 10).map((n) => log.append(h.batch(n))));
      const mark = await log.sync();
      const middle = await Promise.all(range(10, 20).map((n) => log.append(h.batch(n))));
      const tail = range(20, 30).map((n) => log.append(h.batch(n)));
      await log.trim(mark);
      await log.trim(middle[4] as LogPosition);
      await Promise.all(tail);
      const left = await ids(h, log);
      // Entries 10–14 may stay (trimming is by whole units); 15 onwards must.
      assert.deepEqual(left.slice(-15), range(15, 30));
      assert.ok(
        left.every((n) => n >= 10),
        `trimmed through the sync mark: ${left.join(',')}`,
      );
      await log.close();
      const again = await open(h);
      assert.deepEqual(await ids(h, again), left);
      await again.close();
    });

    withLog('reports its size: it grows with appends and shrinks with trims', async (h) => {
      const log = await open(h);
      assert.equal(log.size().entries, 0);
      await Promise.all(range(0, 8).map((n) => log.append(h.batch(n))));
      const eight = log.size();
      assert.equal(eight.entries, 8);
      assert.ok(eight.bytes > 0);
      const mark = await log.sync();
      await log.append(h.batch(8));
      assert.equal(log.size().entries, 9);
      assert.ok(log.size().bytes > eight.bytes);
      await log.trim(mark);
      assert.equal(log.size().entries, 1);
      assert.ok(log.size().bytes < eight.bytes);
      await log.close();
      const again = await open(h);
      assert.equal(again.size().entries, 1);
      await again.close();
    });

    withLog('drops a torn, unacknowledged tail on reopening and appends after it', async (h) => {
      if (h.tear === undefined) return;
      const log = await open(h);
      await Promise.all(range(0, 5).map((n) => log.append(h.batch(n))));
      await log.close();
      await h.tear();
      const again = await open(h);
      assert.deepEqual(await ids(h, again), range(0, 5));
      await again.append(h.batch(5));
      assert.deepEqual(await ids(h, again), range(0, 6));
      await again.close();
    });
  });
}
