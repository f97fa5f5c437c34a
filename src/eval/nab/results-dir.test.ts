import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  loadCorpus,
  readResultsDir,
  scoreCorpus,
  scoreResultsDir,
  writeResultsDir,
} from './index.js';
import type { NabCorpus } from './index.js';

/** A two-file corpus in NAB's folder layout, written to a temporary directory. */
async function writeMiniCorpus(root: string): Promise<void> {
  const series = (start: number, rows: number): string => {
    const lines = ['timestamp,value'];
    for (let i = 0; i < rows; i++) {
      const t = new Date(Date.UTC(2021, 0, 1) + (start + i) * 300_000);
      lines.push(`${t.toISOString().slice(0, 19).replace('T', ' ')},${i % 7}.5`);
    }
    return lines.join('\n'); // No final newline, like some NAB files.
  };
  await mkdir(path.join(root, 'data', 'realA'), { recursive: true });
  await mkdir(path.join(root, 'data', 'artB'), { recursive: true });
  await mkdir(path.join(root, 'labels'), { recursive: true });
  await mkdir(path.join(root, 'config'), { recursive: true });
  await writeFile(path.join(root, 'data', 'realA', 'one.csv'), series(0, 100));
  await writeFile(path.join(root, 'data', 'artB', 'two.csv'), series(0, 80) + '\n');
  await writeFile(
    path.join(root, 'labels', 'combined_windows.json'),
    JSON.stringify({
      'realA/one.csv': [['2021-01-01 04:10:00.000000', '2021-01-01 05:00:00.000000']],
      'artB/two.csv': [],
    }),
  );
  const m = (fp: number, fn: number) => ({
    CostMatrix: { tpWeight: 1, fnWeight: fn, fpWeight: fp, tnWeight: 1 },
  });
  await writeFile(
    path.join(root, 'config', 'profiles.json'),
    JSON.stringify({
      standard: m(0.11, 1),
      reward_low_FP_rate: m(0.22, 1),
      reward_low_FN_rate: m(0.11, 2),
    }),
  );
}

describe('NAB corpus and results folders', () => {
  let root: string;
  let corpus: NabCorpus;
  let scores: Float64Array[];

  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'vigil-nab-'));
    await writeMiniCorpus(root);
    corpus = await loadCorpus(root);
    scores = corpus.files.map((f) => f.times.map((_, i) => ((i * 37) % 101) / 101 + 1e-13 * i));
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('loads files sorted by path with windows in ms', () => {
    assert.deepEqual(
      corpus.files.map((f) => [f.relPath, f.category, f.name, f.times.length]),
      [
        ['artB/two.csv', 'artB', 'two.csv', 80],
        ['realA/one.csv', 'realA', 'one.csv', 100],
      ],
    );
    const one = corpus.files[1];
    assert.equal(one?.timestamps[0], '2021-01-01 00:00:00');
    assert.equal(one?.times[1], Date.UTC(2021, 0, 1, 0, 5));
    assert.deepEqual(one?.windows, [[Date.UTC(2021, 0, 1, 4, 10), Date.UTC(2021, 0, 1, 5, 0)]]);
    assert.equal(corpus.profiles.reward_low_FN_rate.fnWeight, 2);
  });

  it('writes a results folder that reads back identically', async () => {
    const out = path.join(root, 'results', 'mine');
    await writeResultsDir(out, 'mine', corpus, scores);
    const text = await readFile(path.join(out, 'realA', 'mine_one.csv'), 'utf8');
    const lines = text.split('\n');
    assert.equal(lines[0], 'timestamp,value,anomaly_score,label');
    assert.match(lines[1] ?? '', /^2021-01-01 00:00:00,0\.5,/);
    assert.match(lines[51] ?? '', /,1$/); // Row 50 (04:10) opens the window.
    assert.match(lines[50] ?? '', /,0$/);
    const back = await readResultsDir(out, corpus);
    assert.equal(back.detector, 'mine');
    assert.deepEqual(back.scores, scores);
    const scored = await scoreResultsDir(out, corpus);
    assert.deepEqual(
      { ...scored, detector: undefined },
      {
        ...scoreCorpus(corpus, scores),
        detector: undefined,
      },
    );
  });

  it('finds the detector prefix whatever the folder is called', async () => {
    const out = path.join(root, 'results', 'folder');
    await writeResultsDir(out, 'other_name', corpus, scores);
    assert.equal((await readResultsDir(out, corpus)).detector, 'other_name');
  });

  it('names the expected file when one is missing', async () => {
    const out = path.join(root, 'results', 'missing');
    await writeResultsDir(out, 'det', corpus, scores);
    await rm(path.join(out, 'realA', 'det_one.csv'));
    await assert.rejects(readResultsDir(out, corpus), {
      code: 'VIGIL_ERR_INPUT',
      message: /realA\/one\.csv.*det_one\.csv/,
    });
  });

  it('names the file and line of a misaligned or unparsable row', async () => {
    const out = path.join(root, 'results', 'broken');
    await writeResultsDir(out, 'det', corpus, scores);
    const file = path.join(out, 'realA', 'det_one.csv');
    const lines = (await readFile(file, 'utf8')).split('\n');

    await writeFile(file, lines.slice(0, -2).join('\n'));
    await assert.rejects(
      readResultsDir(out, corpus),
      /det_one\.csv: 99 rows but realA\/one\.csv has 100/,
    );

    const badScore = [...lines];
    badScore[8] = '2021-01-01 00:35:00,1,oops,0';
    await writeFile(file, badScore.join('\n'));
    await assert.rejects(readResultsDir(out, corpus), {
      code: 'VIGIL_ERR_INPUT',
      message: /det_one\.csv:9: anomaly_score "oops"/,
    });

    const badTime = [...lines];
    badTime[4] = '2021-01-01 09:00:00,1,0.5,0';
    await writeFile(file, badTime.join('\n'));
    await assert.rejects(
      readResultsDir(out, corpus),
      /det_one\.csv:5: timestamp "2021-01-01 09:00:00"/,
    );
  });

  it('accepts NAB result columns in any order and other timestamp spellings', async () => {
    const out = path.join(root, 'results', 'reordered');
    await writeResultsDir(out, 'det', corpus, scores);
    for (const file of corpus.files) {
      const f = corpus.files.indexOf(file);
      const lines = ['anomaly_score,timestamp,label'];
      file.timestamps.forEach((ts, i) => {
        lines.push(`${scores[f]?.[i]},${ts.replace(' ', 'T')}.000000,0`);
      });
      await writeFile(path.join(out, file.category, `det_${file.name}`), lines.join('\r\n'));
    }
    assert.deepEqual((await readResultsDir(out, corpus)).scores, scores);
  });
});
