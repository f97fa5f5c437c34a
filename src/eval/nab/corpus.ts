import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseTimestamp, splitLines } from './csv.js';
import { VigilError } from '../../errors.js';

/** The three NAB scoring profiles, in NAB's order. */
export const PROFILE_NAMES = ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

/**
 * One NAB cost matrix. `tpWeight` is what a detection at the very start of a window earns,
 * `fnWeight` what a missed window costs, `fpWeight` what a false positive far from any window
 * costs. `tnWeight` is carried for completeness; NAB never uses it.
 */
export interface CostMatrix {
  readonly tpWeight: number;
  readonly fpWeight: number;
  readonly fnWeight: number;
  readonly tnWeight: number;
}

/** One series of the corpus with its labelled anomaly windows. */
export interface NabFile {
  /** Path under `data/` with forward slashes, e.g. `realKnownCause/nyc_taxi.csv` (NAB's key). */
  readonly relPath: string;
  /** First path segment, e.g. `realKnownCause`. */
  readonly category: string;
  /** File name, e.g. `nyc_taxi.csv`. */
  readonly name: string;
  /** The timestamp column exactly as written in the CSV. */
  readonly timestamps: readonly string[];
  /**
   * The same timestamps in ms since the epoch, read as UTC. In file order, which is mostly but not
   * strictly increasing: a few NAB files repeat timestamps, and one steps back an hour.
   */
  readonly times: Float64Array;
  readonly values: Float64Array;
  /** Anomaly windows `[startMs, endMs]`, both ends inclusive, sorted by start. */
  readonly windows: readonly (readonly [number, number])[];
}

export interface NabCorpus {
  readonly dataDir: string;
  /** Every series, sorted by `relPath`; score arrays handed to the scorer follow this order. */
  readonly files: readonly NabFile[];
  readonly profiles: Readonly<Record<ProfileName, CostMatrix>>;
}

/**
 * Load a corpus laid out like NAB: `data/<category>/<name>.csv` (`timestamp,value`),
 * `labels/combined_windows.json` and `config/profiles.json` under `dataDir`.
 * Every data file must have an entry in the windows file and vice versa.
 */
export async function loadCorpus(dataDir: string): Promise<NabCorpus> {
  const root = path.resolve(dataDir);
  const [relPaths, windowsByPath, profiles] = await Promise.all([
    listDataFiles(path.join(root, 'data')),
    readWindows(path.join(root, 'labels', 'combined_windows.json')),
    readProfiles(path.join(root, 'config', 'profiles.json')),
  ]);
  const unlabelled = relPaths.filter((p) => !windowsByPath.has(p));
  if (unlabelled.length > 0) {
    throw datasetError(
      `no entry in combined_windows.json for data file(s): ${unlabelled.join(', ')}`,
    );
  }
  const known = new Set(relPaths);
  const missing = [...windowsByPath.keys()].filter((p) => !known.has(p));
  if (missing.length > 0) {
    throw datasetError(
      `combined_windows.json names file(s) missing under data/: ${missing.join(', ')}`,
    );
  }
  const files = await Promise.all(
    relPaths.map(async (relPath) => {
      const text = await readDatasetText(path.join(root, 'data', relPath));
      return parseDataFile(relPath, text, windowsByPath.get(relPath) ?? []);
    }),
  );
  return { dataDir: root, files, profiles };
}

/** Parse one `timestamp,value` file; `windows` are the file's windows in ms. */
export function parseDataFile(
  relPath: string,
  text: string,
  windows: readonly (readonly [number, number])[],
): NabFile {
  const lines = splitLines(text);
  const header = lines[0]?.trim();
  if (header !== 'timestamp,value') {
    throw datasetError(`${relPath}:1: expected header "timestamp,value", got "${header ?? ''}"`);
  }
  const n = lines.length - 1;
  const timestamps: string[] = new Array<string>(n);
  const times = new Float64Array(n);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const line = lines[i + 1] as string;
    const comma = line.indexOf(',');
    const ts = comma < 0 ? line : line.slice(0, comma);
    const t = parseTimestamp(ts);
    const v = comma < 0 ? Number.NaN : Number(line.slice(comma + 1));
    if (Number.isNaN(t)) throw datasetError(`${relPath}:${i + 2}: unparsable timestamp "${ts}"`);
    if (!Number.isFinite(v))
      throw datasetError(`${relPath}:${i + 2}: unparsable value in "${line}"`);
    timestamps[i] = ts;
    times[i] = t;
    values[i] = v;
  }
  const slash = relPath.indexOf('/');
  return {
    relPath,
    category: slash < 0 ? '' : relPath.slice(0, slash),
    name: relPath.slice(relPath.lastIndexOf('/') + 1),
    timestamps,
    times,
    values,
    windows: [...windows].sort((a, b) => a[0] - b[0]),
  };
}

/** Every `*.csv` below `dataRoot`, as sorted `/`-separated paths relative to it. */
export async function listDataFiles(dataRoot: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dataRoot, { recursive: true, withFileTypes: true });
  } catch (err) {
    throw datasetError(`cannot read data folder ${dataRoot}: ${(err as Error).message}`, err);
  }
  const out: string[] = [];
  for (const e of entries) {
    if (!e.isFile() || !e.name.endsWith('.csv')) continue;
    const dir = (e as { parentPath?: string }).parentPath ?? e.path;
    out.push(path.relative(dataRoot, path.join(dir, e.name)).split(path.sep).join('/'));
  }
  return out.sort();
}

async function readWindows(file: string): Promise<Map<string, [number, number][]>> {
  const raw = await readDatasetJson(file);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw datasetError(`${file}: expected an object mapping file paths to window lists`);
  }
  const out = new Map<string, [number, number][]>();
  for (const [relPath, list] of Object.entries(raw)) {
    if (!Array.isArray(list)) throw datasetError(`${file}: windows of ${relPath} are not a list`);
    out.set(
      relPath,
      list.map((w: unknown, k) => {
        const [start, end] = Array.isArray(w) ? w : [];
        const a = typeof start === 'string' ? parseTimestamp(start) : Number.NaN;
        const b = typeof end === 'string' ? parseTimestamp(end) : Number.NaN;
        if (Number.isNaN(a) || Number.isNaN(b) || b < a) {
          throw datasetError(`${file}: window ${k} of ${relPath} is not [start, end] timestamps`);
        }
        return [a, b];
      }),
    );
  }
  return out;
}

async function readProfiles(file: string): Promise<Record<ProfileName, CostMatrix>> {
  const raw = (await readDatasetJson(file)) as Record<string, unknown>;
  const pick = (name: ProfileName): CostMatrix => {
    const m = (raw[name] as { CostMatrix?: Record<string, unknown> } | undefined)?.CostMatrix;
    const weight = (key: keyof CostMatrix): number => {
      const w = m?.[key];
      if (typeof w !== 'number' || !Number.isFinite(w)) {
        throw datasetError(`${file}: profile ${name} has no numeric CostMatrix.${key}`);
      }
      return w;
    };
    return {
      tpWeight: weight('tpWeight'),
      fpWeight: weight('fpWeight'),
      fnWeight: weight('fnWeight'),
      tnWeight: weight('tnWeight'),
    };
  };
  return {
    standard: pick('standard'),
    reward_low_FP_rate: pick('reward_low_FP_rate'),
    reward_low_FN_rate: pick('reward_low_FN_rate'),
  };
}

/** A missing or malformed corpus (docs/errors.md); `message` names the file and what is wrong. */
export function datasetError(message: string, cause?: unknown): VigilError {
  return new VigilError('VIGIL_ERR_DATASET', message, cause === undefined ? undefined : { cause });
}

/** A corpus file's text; a missing or unreadable file is a dataset error. */
export async function readDatasetText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw datasetError(`cannot read ${file}: ${(err as Error).message}`, err);
  }
}

/** JSON text of the corpus file `source`; text that is not JSON is a dataset error. */
export function parseDatasetJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw datasetError(`${source}: not JSON (${(err as Error).message})`, err);
  }
}

/** A corpus JSON file (windows, profiles, published results), parsed. */
export async function readDatasetJson(file: string): Promise<unknown> {
  return parseDatasetJson(await readDatasetText(file), file);
}
