import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileStrategy } from '../../core/strategy/compile.js';
import { resolveStrategy } from '../../strategy-files/load.js';
import type { Level } from '../../core/thresholds/threshold.js';
import { makeCorpus } from '../nab/fixtures.js';
import { replayPair, type Scorer, type Side } from './replay.js';

/** A side that records every point it is given, in order, across all files. */
function recordingSide(name: string, seen: [number, number][]): Side {
  return {
    name,
    scorerFor(): Scorer {
      let level: Level = 'ok';
      return {
        process(t, v) {
          seen.push([t, v]);
          level = v > 5 ? 'alert' : 'ok';
          return v > 5 ? 1 : 0;
        },
        get lastLevel() {
          return level;
        },
        lastEventChange: null,
        flushEvents: () => null,
      };
    },
  };
}

describe('A/B replay', () => {
  const corpus = makeCorpus([{ rows: 50 }, { rows: 80, windows: [[60, 65]] }, { rows: 30 }]);
  corpus.files.forEach((file, f) => {
    for (let i = 0; i < file.values.length; i++) file.values[i] = Math.sin(i + f) * 10;
  });

  it('gives both strategies exactly the same points in the same order', () => {
    const seenA: [number, number][] = [];
    const seenB: [number, number][] = [];
    const run = replayPair(corpus, recordingSide('a', seenA), recordingSide('b', seenB));
    const expected = corpus.files.flatMap((file) =>
      Array.from(file.times, (t, i): [number, number] => [t, file.values[i]!]),
    );
    assert.equal(seenA.length, 160);
    assert.deepEqual(seenA, expected);
    assert.deepEqual(seenB, expected);
    assert.equal(run.a.length, 3);
    assert.deepEqual(run.a[1]!.levels, run.b[1]!.levels);
    assert.ok(run.a.every((r) => r.nanos > 0));
  });

  it('a real strategy against itself gives identical scores, levels and events', async () => {
    const pipelineFor = compileStrategy(await resolveStrategy('fast'));
    const side = (name: string): Side => ({ name, scorerFor: (key) => pipelineFor(key) });
    const run = replayPair(corpus, side('a'), side('b'));
    for (let f = 0; f < corpus.files.length; f++) {
      assert.deepEqual(run.a[f]!.scores, run.b[f]!.scores);
      assert.deepEqual(run.a[f]!.levels, run.b[f]!.levels);
      assert.deepEqual(run.a[f]!.events, run.b[f]!.events);
    }
  });
});
