import path from 'node:path';
import { datasetError, PROFILE_NAMES, readDatasetJson } from './corpus.js';
import type { ProfileName } from './corpus.js';

/** A number per profile for each published detector, keyed by detector name (e.g. `numenta`). */
export type PerDetector = Readonly<Record<string, Readonly<Record<ProfileName, number>>>>;

/** NAB's scoreboard as shipped with the corpus. */
export interface PublishedResults {
  /**
   * `config/thresholds.json`: the threshold each detector was scored at. They come from different
   * optimisers and corpus versions: numenta's from NAB's original step search on this corpus
   * (`optimizer: 'nab'` finds them bit for bit), windowedGaussian's from the exhaustive sweep
   * (`'exhaustive'` finds them), random's from the step search on an older, smaller corpus (its
   * stored raw scores are not this corpus's), which no optimiser reproduces on these results. So
   * all published scores can only be reproduced at these thresholds.
   */
  readonly thresholds: PerDetector;
  /** `results/final_results.json`: normalised scores (null detector 0, perfect 100). */
  readonly scores: PerDetector;
}

/** Read the published thresholds and scores from a NAB corpus folder. */
export async function loadPublished(dataDir: string): Promise<PublishedResults> {
  const root = path.resolve(dataDir);
  const thresholdsFile = path.join(root, 'config', 'thresholds.json');
  const scoresFile = path.join(root, 'results', 'final_results.json');
  const [thresholds, scores] = await Promise.all([
    readPerDetector(thresholdsFile, (cell) => (cell as { threshold?: unknown } | null)?.threshold),
    readPerDetector(scoresFile, (cell) => cell),
  ]);
  return { thresholds, scores };
}

async function readPerDetector(
  file: string,
  pick: (cell: unknown) => unknown,
): Promise<Record<string, Record<ProfileName, number>>> {
  const raw = (await readDatasetJson(file)) as Record<string, Record<string, unknown>>;
  const out: Record<string, Record<ProfileName, number>> = {};
  for (const [detector, byProfile] of Object.entries(raw)) {
    const entry = {} as Record<ProfileName, number>;
    for (const profile of PROFILE_NAMES) {
      const v = pick(byProfile?.[profile]);
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw datasetError(`${file}: ${detector}.${profile} is not a number`);
      }
      entry[profile] = v;
    }
    out[detector] = entry;
  }
  return out;
}
