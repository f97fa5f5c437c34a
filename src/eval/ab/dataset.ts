/**
 * Labelled data sets for `vigil ab`, read into the NAB corpus shape so the project's NAB scorer
 * applies unchanged. Two layouts:
 * - NAB: `data/<category>/<name>.csv` (`timestamp,value`) with `labels/combined_windows.json`
 *   (and optionally `config/profiles.json`; NAB's shipped profiles otherwise);
 * - a folder of CSV files (searched recursively) with columns `timestamp,value[,label]`: `label`
 *   is 0 or 1 per row, and each run of consecutive 1 rows is one anomaly window from its first to
 *   its last timestamp.
 * A labels file (`--labels`, NAB's combined_windows.json format, keys relative to the data folder)
 * replaces the windows of either layout; files it does not name have no windows.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PROFILE_NAMES, parseDataFile } from '../nab/index.js';
import type { CostMatrix, NabCorpus, NabFile, ProfileName } from '../nab/index.js';
import {
  datasetError,
  listDataFiles,
  parseDatasetJson,
  readDatasetJson,
  readDatasetText,
} from '../nab/corpus.js';
import { cellAt, parseTimestamp, splitLines } from '../nab/csv.js';
import { NAB_PROFILES } from '../nab/fixtures.js';

export type Window = readonly [number, number];

export interface DatasetOptions {
  /** Keep files whose path (relative, `/`-separated) matches this glob (`*`, `**`, `?`). */
  readonly files?: string;
  /** Keep at most this many files (after the glob), in path order. */
  readonly limit?: number;
  /** A combined_windows.json-style file whose windows replace the data set's own. */
  readonly labels?: string;
}

export interface Dataset {
  readonly layout: 'nab' | 'csv';
  readonly corpus: NabCorpus;
}

/** `*` within a path segment, `**` across segments, `?` one character (no library offers this on Node 20). */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
      if (glob[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Parse a combined_windows.json document: `{ "<relPath>": [["start", "end"], …] }`. */
export function parseWindowsJson(text: string, source: string): Map<string, Window[]> {
  const raw = parseDatasetJson(text, source);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw datasetError(`${source}: expected an object mapping file paths to window lists`);
  }
  const out = new Map<string, Window[]>();
  for (const [relPath, list] of Object.entries(raw)) {
    if (!Array.isArray(list)) throw datasetError(`${source}: windows of ${relPath} are not a list`);
    out.set(
      relPath,
      list.map((w: unknown, k) => {
        const [start, end] = Array.isArray(w) ? w : [];
        const a = typeof start === 'string' ? parseTimestamp(start) : Number.NaN;
        const b = typeof end === 'string' ? parseTimestamp(end) : Number.NaN;
        if (Number.isNaN(a) || Number.isNaN(b) || b < a) {
          throw datasetError(
            `${source}: window ${k} of ${relPath} is not ["YYYY-MM-DD HH:MM:SS", "…"] with start ≤ end`,
          );
        }
        return [a, b] as const;
      }),
    );
  }
  return out;
}

async function readProfiles(root: string): Promise<Record<ProfileName, CostMatrix>> {
  const file = path.join(root, 'config', 'profiles.json');
  if (!existsSync(file)) return NAB_PROFILES;
  const raw = (await readDatasetJson(file)) as Record<string, { CostMatrix?: CostMatrix }>;
  const out = { ...NAB_PROFILES };
  for (const p of PROFILE_NAMES) {
    const m = raw[p]?.CostMatrix;
    if (m && [m.tpWeight, m.fpWeight, m.fnWeight].every((w) => typeof w === 'number')) out[p] = m;
  }
  return out;
}

/**
 * One CSV of the label-column layout: `timestamp,value[,label]` (header required; timestamps
 * `YYYY-MM-DD HH:MM:SS[.fff]` or ms since the epoch, in time order).
 */
export function parseLabelledCsv(
  relPath: string,
  text: string,
): { file: NabFile; windows: Window[] } {
  const lines = splitLines(text);
  const header = (lines[0] ?? '').split(',').map((h) => h.trim().toLowerCase());
  const tCol = header.indexOf('timestamp');
  const vCol = header.indexOf('value');
  const lCol = header.indexOf('label');
  if (tCol < 0 || vCol < 0) {
    throw datasetError(
      `${relPath}:1: header needs "timestamp" and "value" columns (and optionally "label"), got "${lines[0] ?? ''}"`,
    );
  }
  const n = lines.length - 1;
  const timestamps: string[] = new Array<string>(n);
  const times = new Float64Array(n);
  const values = new Float64Array(n);
  const windows: Window[] = [];
  let runStart = -1;
  for (let i = 0; i < n; i++) {
    const line = lines[i + 1] as string;
    const at = `${relPath}:${i + 2}`;
    const ts = (cellAt(line, tCol) ?? '').trim();
    const t = /^\d+$/.test(ts) ? Number(ts) : parseTimestamp(ts);
    if (!Number.isFinite(t)) throw datasetError(`${at}: unparsable timestamp "${ts}"`);
    if (i > 0 && t < (times[i - 1] as number)) {
      throw datasetError(`${at}: timestamp "${ts}" is before the previous row's`);
    }
    const cell = (cellAt(line, vCol) ?? '').trim();
    const v = cell === '' ? Number.NaN : Number(cell);
    if (!Number.isFinite(v)) throw datasetError(`${at}: value "${cell}" is not a finite number`);
    timestamps[i] = ts;
    times[i] = t;
    values[i] = v;
    if (lCol >= 0) {
      const label = (cellAt(line, lCol) ?? '').trim();
      if (label !== '0' && label !== '1') {
        throw datasetError(`${at}: label "${label}" must be 0 or 1`);
      }
      if (label === '1' && runStart < 0) runStart = i;
      if (label === '0' && runStart >= 0) {
        windows.push([times[runStart] as number, times[i - 1] as number]);
        runStart = -1;
      }
    }
  }
  if (runStart >= 0) windows.push([times[runStart] as number, times[n - 1] as number]);
  const slash = relPath.lastIndexOf('/');
  return {
    file: {
      relPath,
      category: slash < 0 ? '' : relPath.slice(0, relPath.indexOf('/')),
      name: relPath.slice(slash + 1),
      timestamps,
      times,
      values,
      windows,
    },
    windows,
  };
}

/** Read a data set in either layout (see the module comment). */
export async function loadDataset(dir: string, options: DatasetOptions = {}): Promise<Dataset> {
  const root = path.resolve(dir);
  const nab =
    existsSync(path.join(root, 'data')) &&
    existsSync(path.join(root, 'labels', 'combined_windows.json'));
  const dataRoot = nab ? path.join(root, 'data') : root;
  let relPaths = await listDataFiles(dataRoot);
  if (options.files !== undefined) {
    const re = globToRegExp(options.files);
    relPaths = relPaths.filter((p) => re.test(p));
  }
  if (options.limit !== undefined) relPaths = relPaths.slice(0, options.limit);
  if (relPaths.length === 0) {
    throw datasetError(
      `no CSV files under ${dataRoot}${options.files === undefined ? '' : ` match "${options.files}"`}`,
    );
  }
  const override =
    options.labels === undefined
      ? undefined
      : parseWindowsJson(await readDatasetText(options.labels), options.labels);
  const own = nab
    ? parseWindowsJson(
        await readDatasetText(path.join(root, 'labels', 'combined_windows.json')),
        'labels/combined_windows.json',
      )
    : undefined;
  const files = await Promise.all(
    relPaths.map(async (relPath) => {
      const text = await readDatasetText(path.join(dataRoot, relPath));
      const file = nab
        ? parseDataFile(relPath, text, own?.get(relPath) ?? [])
        : parseLabelledCsv(relPath, text).file;
      if (override === undefined) return file;
      const windows = [...(override.get(relPath) ?? [])].sort((a, b) => a[0] - b[0]);
      return { ...file, windows };
    }),
  );
  return {
    layout: nab ? 'nab' : 'csv',
    corpus: { dataDir: root, files, profiles: nab ? await readProfiles(root) : NAB_PROFILES },
  };
}
