import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { datasetError, type NabCorpus, type NabFile } from './corpus.js';
import { cellAt, parseTimestamp, splitLines } from './csv.js';
import { corpusLayout } from './layout.js';
import { scoreCorpus } from './scorer.js';
import type { NabScore, ScoreOptions } from './scorer.js';
import { VigilError } from '../../errors.js';

/** A detector's scores read from a NAB-style results folder. */
export interface ResultsDir {
  /** The file-name prefix shared by every results file, e.g. `numenta`. */
  readonly detector: string;
  /** One array per `corpus.files` entry, aligned with its rows. */
  readonly scores: Float64Array[];
}

/**
 * Read `<dir>/<category>/<detector>_<name>.csv` for every corpus file. The detector prefix is
 * whatever precedes the data file name; it must be the same for all files (the folder's own name
 * wins if several fit). Each file needs a `timestamp` and an `anomaly_score` column and exactly
 * the corpus rows, timestamps compared as instants so formatting may differ.
 */
export async function readResultsDir(dir: string, corpus: NabCorpus): Promise<ResultsDir> {
  const root = path.resolve(dir);
  const listings = new Map<string, string[]>();
  for (const category of new Set(corpus.files.map((f) => f.category))) {
    listings.set(category, await listCsv(path.join(root, category)));
  }
  const detector = pickDetector(root, corpus, listings);
  const scores = await Promise.all(
    corpus.files.map(async (file) => {
      const resultPath = path.join(root, file.category, `${detector}_${file.name}`);
      return parseResultsFile(resultPath, await readFile(resultPath, 'utf8'), file);
    }),
  );
  return { detector, scores };
}

/** Read a results folder and score it (see `scoreCorpus`). */
export async function scoreResultsDir(
  dir: string,
  corpus: NabCorpus,
  options: ScoreOptions = {},
): Promise<NabScore & { readonly detector: string }> {
  const { detector, scores } = await readResultsDir(dir, corpus);
  return { detector, ...scoreCorpus(corpus, scores, options) };
}

/**
 * Write `scoresPerFile` (aligned with `corpus.files`) as a NAB results folder:
 * `<outDir>/<category>/<detectorName>_<name>.csv` with `timestamp,value,anomaly_score,label`,
 * timestamps as in the data files and `label` 1 inside a window. Scores are written with
 * round-trip precision, so reading the folder back gives the identical numbers.
 */
export async function writeResultsDir(
  outDir: string,
  detectorName: string,
  corpus: NabCorpus,
  scoresPerFile: readonly Float64Array[],
): Promise<void> {
  if (!/^[^/\\]+$/.test(detectorName)) {
    throw new Error(`detector name "${detectorName}" must be a non-empty file-name prefix`);
  }
  if (scoresPerFile.length !== corpus.files.length) {
    throw new Error(
      `expected ${corpus.files.length} score arrays (one per file), got ${scoresPerFile.length}`,
    );
  }
  const layout = corpusLayout(corpus);
  await Promise.all(
    corpus.files.map(async (file, f) => {
      const scores = scoresPerFile[f] as Float64Array;
      if (scores.length !== file.timestamps.length) {
        throw new Error(
          `${file.relPath}: ${scores.length} scores for ${file.timestamps.length} rows`,
        );
      }
      const windowOf = layout.files[f]?.windowOf as Int32Array;
      const lines = new Array<string>(scores.length + 1);
      lines[0] = 'timestamp,value,anomaly_score,label';
      for (let i = 0; i < scores.length; i++) {
        const label = windowOf[i] === -1 ? 0 : 1;
        lines[i + 1] = `${file.timestamps[i]},${file.values[i]},${scores[i]},${label}`;
      }
      const dir = path.join(outDir, file.category);
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, `${detectorName}_${file.name}`), lines.join('\n') + '\n');
    }),
  );
}

/** Parse one results file against its data file; errors name the file and line. */
export function parseResultsFile(resultPath: string, text: string, file: NabFile): Float64Array {
  const lines = splitLines(text);
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  const tsCol = header.indexOf('timestamp');
  const scoreCol = header.indexOf('anomaly_score');
  if (tsCol < 0 || scoreCol < 0) {
    throw new VigilError(
      'VIGIL_ERR_INPUT',
      `${resultPath}:1: header needs "timestamp" and "anomaly_score" columns`,
    );
  }
  const n = file.times.length;
  if (lines.length - 1 !== n) {
    throw new VigilError(
      'VIGIL_ERR_INPUT',
      `${resultPath}: ${lines.length - 1} rows but ${file.relPath} has ${n}; results must cover every data row`,
    );
  }
  const scores = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const line = lines[i + 1] as string;
    const ts = cellAt(line, tsCol) ?? '';
    // Same text is the common case; parsing is only needed to accept other spellings.
    if (ts !== file.timestamps[i] && parseTimestamp(ts) !== file.times[i]) {
      throw new VigilError(
        'VIGIL_ERR_INPUT',
        `${resultPath}:${i + 2}: timestamp "${ts}" does not match row ${i + 1} of ${file.relPath} ("${file.timestamps[i]}")`,
      );
    }
    const cell = (cellAt(line, scoreCol) ?? '').trim();
    const v = cell === '' ? Number.NaN : Number(cell);
    if (!Number.isFinite(v)) {
      throw new VigilError(
        'VIGIL_ERR_INPUT',
        `${resultPath}:${i + 2}: anomaly_score "${cell}" is not a finite number`,
      );
    }
    scores[i] = v;
  }
  return scores;
}

async function listCsv(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => name.endsWith('.csv'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** The prefix `d` such that `<category>/<d>_<name>` exists for every corpus file. */
function pickDetector(
  root: string,
  corpus: NabCorpus,
  listings: ReadonlyMap<string, readonly string[]>,
): string {
  let common: Set<string> | undefined;
  for (const file of corpus.files) {
    const suffix = `_${file.name}`;
    const prefixes = new Set(
      (listings.get(file.category) ?? [])
        .filter((entry) => entry.length > suffix.length && entry.endsWith(suffix))
        .map((entry) => entry.slice(0, -suffix.length)),
    );
    const next =
      common === undefined ? prefixes : new Set([...common].filter((p) => prefixes.has(p)));
    if (next.size === 0) {
      const expected = common && common.size > 0 ? `${[...common].join(' or ')}_` : '<detector>_';
      throw new VigilError(
        'VIGIL_ERR_INPUT',
        `no results file for ${file.relPath}: expected ${path.join(root, file.category, expected + file.name)}`,
      );
    }
    common = next;
  }
  const candidates = [...(common ?? [])];
  if (candidates.length === 1) return candidates[0] as string;
  const own = path.basename(root);
  if (candidates.includes(own)) return own;
  if (candidates.length === 0)
    throw datasetError(`${root}: the corpus has no files to read results for`);
  throw new VigilError(
    'VIGIL_ERR_INPUT',
    `${root}: ambiguous detector prefix, files exist for ${candidates.join(', ')}`,
  );
}
